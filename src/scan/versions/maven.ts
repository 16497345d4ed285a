/**
 * Maven version ordering: a port of Maven's ComparableVersion
 * (maven-artifact org.apache.maven.artifact.versioning.ComparableVersion, and the POM reference's
 * "Version Order Specification"). A version is split on `.`, `-` and digit/letter transitions
 * into a tree of number, qualifier and list items; trailing "null" items (0, "", final, ga,
 * release) are dropped; qualifiers order alpha < beta < milestone < rc = cr < snapshot < "" <
 * sp < any other (lexically); numbers sort after qualifiers.
 */
import { VersionError, type VersionOrdering } from './types.js';

type Item = { k: 'int'; v: string } | { k: 'str'; v: string } | { k: 'list'; items: Item[] };

export type MavenVersion = Item & { k: 'list' };

const QUALIFIERS = ['alpha', 'beta', 'milestone', 'rc', 'snapshot', '', 'sp'];
const ALIASES: Record<string, string> = { ga: '', final: '', release: '', cr: 'rc' };
const RELEASE_INDEX = String(QUALIFIERS.indexOf(''));

function comparableQualifier(q: string): string {
  const i = QUALIFIERS.indexOf(q);
  return i === -1 ? `${QUALIFIERS.length}-${q}` : String(i);
}

function stringItem(value: string, followedByDigit: boolean): Item {
  let v = value;
  if (followedByDigit && v.length === 1) {
    // a1 = alpha-1, b1 = beta-1, m1 = milestone-1
    if (v === 'a') v = 'alpha';
    else if (v === 'b') v = 'beta';
    else if (v === 'm') v = 'milestone';
  }
  return { k: 'str', v: ALIASES[v] ?? v };
}

function numberItem(digits: string): Item {
  const v = digits.replace(/^0+/, '');
  return { k: 'int', v: v === '' ? '0' : v };
}

function parseItem(isDigit: boolean, buf: string): Item {
  return isDigit ? numberItem(buf) : stringItem(buf, false);
}

function isNull(item: Item): boolean {
  if (item.k === 'int') return item.v === '0';
  if (item.k === 'str') return comparableQualifier(item.v) === RELEASE_INDEX;
  return item.items.length === 0;
}

function normalize(list: Item & { k: 'list' }): void {
  // A sub-list left holding only another sub-list came from a null between two hyphens
  // (`1-ga-1`): the spec trims it "at each remaining hyphen", so `1-ga-1` = `1-1`.
  for (let i = 0; i < list.items.length; i++) {
    let item = list.items[i] as Item;
    while (item.k === 'list' && item.items.length === 1 && (item.items[0] as Item).k === 'list') item = item.items[0] as Item;
    list.items[i] = item;
  }
  for (let i = list.items.length - 1; i >= 0; i--) {
    const last = list.items[i] as Item;
    if (isNull(last)) list.items.splice(i, 1);
    else if (last.k !== 'list') break;
  }
}

function isDigitChar(c: string): boolean {
  return c >= '0' && c <= '9';
}

export function parseMavenVersion(raw: string): MavenVersion {
  const version = raw.trim().toLowerCase();
  if (version === '') throw new VersionError('empty Maven version');
  const root: MavenVersion = { k: 'list', items: [] };
  let list: MavenVersion = root;
  const stack: MavenVersion[] = [root];
  let isDigit = false;
  let start = 0;
  const push = (): void => {
    const next: MavenVersion = { k: 'list', items: [] };
    list.items.push(next);
    list = next;
    stack.push(next);
  };
  for (let i = 0; i < version.length; i++) {
    const c = version[i] as string;
    if (c === '.') {
      list.items.push(i === start ? { k: 'int', v: '0' } : parseItem(isDigit, version.slice(start, i)));
      start = i + 1;
    } else if (c === '-') {
      list.items.push(i === start ? { k: 'int', v: '0' } : parseItem(isDigit, version.slice(start, i)));
      start = i + 1;
      push();
    } else if (isDigitChar(c)) {
      if (!isDigit && i > start) {
        list.items.push(stringItem(version.slice(start, i), true));
        start = i;
        push();
      }
      isDigit = true;
    } else {
      if (isDigit && i > start) {
        list.items.push(parseItem(true, version.slice(start, i)));
        start = i;
        push();
      }
      isDigit = false;
    }
  }
  if (version.length > start) list.items.push(parseItem(isDigit, version.slice(start)));
  while (stack.length > 0) normalize(stack.pop() as MavenVersion);
  return root;
}

function compareDigits(a: string, b: string): number {
  if (a.length !== b.length) return a.length < b.length ? -1 : 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

function compareStr(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** item.compareTo(other), with `undefined` as Java's null (a missing item). */
function compareItem(item: Item, other: Item | undefined): number {
  switch (item.k) {
    case 'int':
      if (other === undefined) return item.v === '0' ? 0 : 1;
      if (other.k === 'int') return compareDigits(item.v, other.v);
      return 1; // a number is newer than a qualifier or a sub-list
    case 'str':
      if (other === undefined) return compareStr(comparableQualifier(item.v), RELEASE_INDEX);
      if (other.k === 'str') return compareStr(comparableQualifier(item.v), comparableQualifier(other.v));
      return -1;
    case 'list': {
      if (other === undefined) {
        for (const i of item.items) {
          const r = compareItem(i, undefined);
          if (r !== 0) return r;
        }
        return 0;
      }
      if (other.k === 'int') return -1;
      if (other.k === 'str') return 1;
      const n = Math.max(item.items.length, other.items.length);
      for (let i = 0; i < n; i++) {
        const l = item.items[i];
        const r = other.items[i];
        const result = l === undefined ? (r === undefined ? 0 : -compareItem(r, undefined)) : compareItem(l, r);
        if (result !== 0) return result;
      }
      return 0;
    }
  }
}

export function compareMaven(a: MavenVersion, b: MavenVersion): number {
  return Math.sign(compareItem(a, b));
}

export const mavenOrdering: VersionOrdering<MavenVersion> = {
  family: 'maven',
  parse: parseMavenVersion,
  compare: compareMaven,
};
