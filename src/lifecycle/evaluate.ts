import { selectionClass, type LifecycleRule, type LifecycleSelection } from './policy.js';

/**
 * The lifecycle evaluator: a pure function from (policy rules, a repository's images, now) to a
 * plan, with ECR's semantics (../shared/spec/ecr-semantics.md, a.3-a.5). Previews and the real
 * run both call it, so a preview shows exactly what the run that follows it does.
 */

export type ImageStatus = 'ACTIVE' | 'ARCHIVED' | 'ACTIVATING';

/** One manifest of the repository, as the evaluator sees it. Times are epoch milliseconds. */
export interface LifecycleImage {
  readonly digest: string;
  readonly tags: readonly string[];
  /** The original push (ECR imagePushedAt); re-tagging does not change it. */
  readonly pushedAt: number;
  readonly lastPulledAt: number | null;
  readonly status: ImageStatus;
  readonly lastArchivedAt: number | null;
  readonly lastActivatedAt: number | null;
  /** Indexes of the repository that list this manifest as a child. */
  readonly parents: readonly string[];
  /** The manifest this one refers to (OCI `subject`), if any. */
  readonly subject: string | null;
}

export type PlannedActionType = 'expire' | 'transition';

export interface PlannedAction {
  readonly digest: string;
  readonly action: PlannedActionType;
  /** The rule that decided it (for an image that goes with its index or subject: that image's rule). */
  readonly rulePriority: number;
  /** Why, in words: the count and the image's place in it. */
  readonly reason: string;
  /** Set when the image goes along with another one rather than being selected itself. */
  readonly with?: { readonly kind: 'index' | 'subject'; readonly digest: string };
}

export interface Plan {
  /** Images acted on, rule-selected ones first in rule order, then those that go along with them. */
  readonly actions: readonly PlannedAction[];
  readonly evaluatedAt: number;
}

const DAY_MS = 86_400_000;

/**
 * Evaluate `rules` (any order; they are applied by ascending `rulePriority`) over `images` at
 * `now`. Rules identify their candidate sets independently; then, in priority order, each marks
 * its victims that no earlier rule marked or selected: an image inside a higher-priority rule's
 * candidate set is shielded from every lower rule even when that rule kept it. Counts of
 * `imageCountMoreThan` rank the whole candidate set, marked and shielded images included. Children
 * of an index and referrers of a present subject are never candidates: they go with their index
 * or subject.
 */
export function evaluate(rules: readonly LifecycleRule[], images: readonly LifecycleImage[], now: number): Plan {
  // Images are addressed by their position: a map of every digest would cost more than the
  // evaluation, so only the digests that some image names as its index or subject are indexed.
  const referenced = new Set<string>();
  for (const image of images) {
    for (const parent of image.parents) referenced.add(parent);
    if (image.subject !== null) referenced.add(image.subject);
  }
  const index = new Map<string, number>();
  if (referenced.size > 0) images.forEach((image, i) => referenced.has(image.digest) && index.set(image.digest, i));
  const present = (digest: string, self: string) => digest !== self && index.has(digest);
  const isDependent = (image: LifecycleImage) =>
    image.parents.some((p) => present(p, image.digest)) || (image.subject !== null && present(image.subject, image.digest));

  // Which storage class's rules may select each image: 1 standard, 2 archive, 0 none.
  const poolOf = new Uint8Array(images.length);
  images.forEach((image, i) => {
    if (isDependent(image)) return;
    if (image.status === 'ACTIVE') poolOf[i] = 1;
    else if (image.status === 'ARCHIVED') poolOf[i] = 2;
    // ACTIVATING: being restored; no rule touches it until it is ACTIVE.
  });
  // Every image ranked once by push clock, newest first (ties by digest): each rule's candidate
  // set, taken in this order, is already ranked for imageCountMoreThan and sinceImagePushed, so
  // no rule sorts its candidates again (sorting 100,000 images per rule cost more than the rest).
  const byPush = rankByClock(images, pushClock);

  const marked: (PlannedAction | undefined)[] = new Array(images.length);
  const shielded = new Uint8Array(images.length);
  const order: { index: number; action: PlannedAction }[] = [];
  const sorted = [...rules].sort((a, b) => a.rulePriority - b.rulePriority);
  for (const rule of sorted) {
    const selects = selector(rule.selection);
    const cls = selectionClass(rule.selection) === 'standard' ? 1 : 2;
    const candidates: number[] = [];
    for (let k = 0; k < byPush.length; k++) {
      const i = byPush[k]!;
      if (poolOf[i] === cls && selects(images[i]!)) candidates.push(i);
    }
    const found = victims(rule, images, candidates, now);
    for (let position = 0; position < found.order.length; position++) {
      const i = found.order[position]!;
      if (marked[i] !== undefined || shielded[i] === 1) continue;
      const planned: PlannedAction = { digest: images[i]!.digest, action: rule.action.type, rulePriority: rule.rulePriority, reason: found.reason(position) };
      marked[i] = planned;
      order.push({ index: i, action: planned });
    }
    for (const i of candidates) shielded[i] = 1;
  }
  const actions = order.map((o) => o.action);
  for (const a of dependents(images, index, marked, order)) actions.push(a);
  return { actions, evaluatedAt: now };
}

/** Whether an image is in a selection's candidate set (tag status and tag lists; the class is the pool's). */
export function selector(selection: LifecycleSelection): (image: Pick<LifecycleImage, 'tags'>) => boolean {
  switch (selection.tagStatus) {
    case 'any':
      return () => true;
    case 'untagged':
      return (image) => image.tags.length === 0;
    case 'tagged': {
      // AND over the list: every entry must match at least one of the image's tags.
      const tests: ((tag: string) => boolean)[] = selection.tagPrefixList
        ? selection.tagPrefixList.map((prefix) => (tag: string) => tag.startsWith(prefix))
        : (selection.tagPatternList ?? []).map(wildcardTest);
      // Plain loops: this runs for every image under every rule, and closures per call showed in profiles.
      return (image) => {
        const tags = image.tags;
        if (tags.length === 0) return false;
        for (const test of tests) {
          let any = false;
          for (let t = 0; t < tags.length && !any; t++) any = test(tags[t]!);
          if (!any) return false;
        }
        return true;
      };
    }
  }
}

/**
 * A tag pattern as a test: `*` matches any run, possibly empty. Hand-written rather than a regular
 * expression: `^.*-rc.*$` backtracks, and this test runs for every tag of every image under every
 * rule (it was half of the evaluation of 100,000 images). The literal parts are found left to
 * right, the first anchored at the start and the last at the end, which is exact for `*` alone.
 */
export function wildcardTest(pattern: string): (tag: string) => boolean {
  const parts = pattern.split('*');
  if (parts.length === 1) return (tag) => tag === pattern;
  const head = parts[0]!;
  const tail = parts[parts.length - 1]!;
  const middle = parts.slice(1, -1).filter((part) => part.length > 0);
  const minLength = head.length + tail.length + middle.reduce((n, part) => n + part.length, 0);
  return (tag) => {
    if (tag.length < minLength || !tag.startsWith(head) || !tag.endsWith(tail)) return false;
    let at = head.length;
    const end = tag.length - tail.length;
    for (const part of middle) {
      const found = tag.indexOf(part, at);
      if (found < 0 || found + part.length > end) return false;
      at = found + part.length;
    }
    return true;
  };
}

/**
 * The time an image counts from for push-based counts: its push, or its restore from the archive
 * when later (ecr-semantics a.4: "for images restored from archive, lastActivatedAt replaces push
 * time"), so a restored image is not expired the moment it comes back.
 */
export function pushClock(image: LifecycleImage): number {
  return image.lastActivatedAt !== null && image.lastActivatedAt > image.pushedAt ? image.lastActivatedAt : image.pushedAt;
}

/** sinceImagePulled's clock: the last recorded pull, else the push; a later restore counts as a use. */
export function pullClock(image: LifecycleImage): number {
  const base = image.lastPulledAt ?? image.pushedAt;
  return image.lastActivatedAt !== null && image.lastActivatedAt > base ? image.lastActivatedAt : base;
}

/** A rule's victims by position in `images`, in order; the reason is only worded for those acted on (by position in `order`). */
interface Victims {
  order: number[];
  reason(position: number): string;
}

/**
 * `candidates` come ranked by push clock, newest first (ties by digest). Counts by push time use
 * that order as it is; the other clocks rank their own (usually few) old candidates.
 */
function victims(rule: LifecycleRule, images: readonly LifecycleImage[], candidates: readonly number[], now: number): Victims {
  const s = rule.selection;
  const n = s.countNumber;
  const p = `rule ${rule.rulePriority}`;
  switch (s.countType) {
    case 'imageCountMoreThan': {
      const total = candidates.length;
      return { order: candidates.slice(n), reason: (k) => `${p}: number ${n + k + 1} of ${total} by push time, more than the ${n} newest kept` };
    }
    case 'sinceImagePushed': {
      // The old ones are the tail of the newest-first order; oldest first, ties by digest.
      const limit = n * DAY_MS;
      let first = candidates.length;
      while (first > 0 && now - pushClock(images[candidates[first - 1]!]!) > limit) first--;
      const old = candidates.slice(first).reverse();
      for (let a = 0; a < old.length; ) {
        // reverse() put equal clocks in descending digest order: restore ascending within each run.
        const clock = pushClock(images[old[a]!]!);
        let b = a + 1;
        while (b < old.length && pushClock(images[old[b]!]!) === clock) b++;
        if (b - a > 1) old.splice(a, b - a, ...old.slice(a, b).reverse());
        a = b;
      }
      return { order: old, reason: (k) => `${p}: pushed ${((now - pushClock(images[old[k]!]!)) / DAY_MS).toFixed(1)} days ago, more than ${n}` };
    }
    case 'sinceImagePulled':
      return olderThan(images, candidates, pullClock, n, now, `${p}: last pulled (or pushed)`);
    case 'sinceImageTransitioned':
      return olderThan(images, candidates, (image) => image.lastArchivedAt ?? image.pushedAt, n, now, `${p}: archived`);
  }
}

/** Positions of `images` ordered by `clockOf`, newest first; equal times by digest, so that the plan never depends on input order. */
function rankByClock(images: readonly LifecycleImage[], clockOf: (image: LifecycleImage) => number): Int32Array {
  const clock = new Float64Array(images.length);
  const ranked = new Int32Array(images.length);
  for (let i = 0; i < images.length; i++) {
    clock[i] = clockOf(images[i]!);
    ranked[i] = i;
  }
  return ranked.sort((a, b) => clock[b]! - clock[a]! || byDigest(images, a, b));
}

function byDigest(images: readonly LifecycleImage[], a: number, b: number): number {
  const x = images[a]!.digest;
  const y = images[b]!.digest;
  return x < y ? -1 : x > y ? 1 : 0;
}

/** Candidates whose clock is more than `days` days before `now` (exactly `days` days is not more), oldest first. */
function olderThan(
  images: readonly LifecycleImage[],
  candidates: readonly number[],
  clockOf: (image: LifecycleImage) => number,
  days: number,
  now: number,
  what: string,
): Victims {
  const limit = days * DAY_MS;
  const clock = new Map<number, number>();
  const old: number[] = [];
  for (const i of candidates) {
    const c = clockOf(images[i]!);
    if (now - c > limit) {
      old.push(i);
      clock.set(i, c);
    }
  }
  old.sort((a, b) => clock.get(a)! - clock.get(b)! || byDigest(images, a, b));
  return { order: old, reason: (k) => `${what} ${((now - clock.get(old[k]!)!) / DAY_MS).toFixed(1)} days ago, more than ${days}` };
}

/** `actions` followed by what goes along with them (children of an index, referrers of a subject). */
export function withDependents(images: readonly LifecycleImage[], actions: readonly PlannedAction[]): PlannedAction[] {
  const index = new Map<string, number>();
  images.forEach((image, i) => index.set(image.digest, i));
  const marked: (PlannedAction | undefined)[] = new Array(images.length);
  const order: { index: number; action: PlannedAction }[] = [];
  for (const a of actions) {
    const i = index.get(a.digest);
    if (i === undefined) continue;
    marked[i] = a;
    order.push({ index: i, action: a });
  }
  return [...actions, ...dependents(images, index, marked, order)];
}

/**
 * What goes along with the marked images: children of an index whose every parent index is
 * acted on the same way (a child that another, surviving index lists stays), and referrers
 * (signatures, SBOMs) of a subject that is acted on, transitively. Images are addressed by their
 * position in `images` (`index` maps the digests that images name as index or subject to theirs); `marked` is updated.
 */
function dependents(
  images: readonly LifecycleImage[],
  index: ReadonlyMap<string, number>,
  marked: (PlannedAction | undefined)[],
  order: readonly { index: number; action: PlannedAction }[],
): PlannedAction[] {
  // Dependents by the position of their index or subject; only the few images that have one are listed.
  const children = new Map<number, number[]>();
  const referrers = new Map<number, number[]>();
  const add = (map: Map<number, number[]>, key: number | undefined, i: number) => {
    if (key === undefined || key === i) return;
    const list = map.get(key);
    if (list) list.push(i);
    else map.set(key, [i]);
  };
  images.forEach((image, i) => {
    for (const parent of image.parents) add(children, index.get(parent), i);
    if (image.subject !== null) add(referrers, index.get(image.subject), i);
  });
  if (children.size === 0 && referrers.size === 0) return [];
  const out: PlannedAction[] = [];
  const queue = [...order];
  const consider = (i: number, cause: PlannedAction, kind: 'index' | 'subject') => {
    const image = images[i]!;
    if (marked[i] !== undefined) return;
    // A transition leaves what is archived already; an expiry takes archived dependents too.
    if (cause.action === 'transition' && image.status !== 'ACTIVE') return;
    if (kind === 'index') {
      const staying = image.parents.some((p) => {
        const at = index.get(p);
        return at !== undefined && at !== i && marked[at]?.action !== cause.action;
      });
      if (staying) return;
    }
    const planned: PlannedAction = {
      digest: image.digest,
      action: cause.action,
      rulePriority: cause.rulePriority,
      reason: kind === 'index' ? `goes with its index ${cause.digest}` : `goes with its subject ${cause.digest}`,
      with: { kind, digest: cause.digest },
    };
    marked[i] = planned;
    out.push(planned);
    queue.push({ index: i, action: planned });
  };
  for (let q = 0; q < queue.length; q++) {
    const cause = queue[q]!;
    for (const child of children.get(cause.index) ?? []) consider(child, cause.action, 'index');
    for (const referrer of referrers.get(cause.index) ?? []) consider(referrer, cause.action, 'subject');
  }
  return out;
}

/** How two plans differ, image by image (berth's policy comparison). */
export interface PlanDifference {
  readonly digest: string;
  readonly current: { readonly action: PlannedActionType; readonly rulePriority: number } | null;
  readonly proposed: { readonly action: PlannedActionType; readonly rulePriority: number } | null;
}

/** The images that `proposed` treats differently from `current` (another action, or acted on by one only), in digest order. */
export function comparePlans(current: Plan, proposed: Plan): PlanDifference[] {
  const a = new Map(current.actions.map((x) => [x.digest, x]));
  const b = new Map(proposed.actions.map((x) => [x.digest, x]));
  const digests = [...new Set([...a.keys(), ...b.keys()])].sort();
  const out: PlanDifference[] = [];
  for (const digest of digests) {
    const x = a.get(digest);
    const y = b.get(digest);
    if (x && y && x.action === y.action) continue;
    out.push({
      digest,
      current: x ? { action: x.action, rulePriority: x.rulePriority } : null,
      proposed: y ? { action: y.action, rulePriority: y.rulePriority } : null,
    });
  }
  return out;
}
