/**
 * Wildcard patterns and policy variables, compiled once at parse time.
 *
 * IAM matches `*` (any run of characters) and `?` (one character) in Action, Resource and the
 * `...Like`/`Arn...` condition operators. Policy variables (`${aws:username}`, with an optional
 * default `${aws:username, 'anonymous'}`) and the escapes `${*}`, `${?}`, `${$}` exist only in
 * policies whose Version is 2012-10-17; in older policies they are literal text.
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html
 */

/** How a pattern compares: which characters are wildcards, and whether case matters. */
export type PatternMode =
  /** StringEquals: no wildcards, case-sensitive. */
  | 'equals'
  /** StringEqualsIgnoreCase: no wildcards, case-insensitive. */
  | 'equals-ignore-case'
  /** StringLike: `*` and `?` match anything, case-sensitive. */
  | 'glob'
  /** Action names: `*` and `?`, case-insensitive. */
  | 'action'
  /** Resource and Arn* operators: wildcards per ARN segment, case-sensitive. */
  | 'arn';

/** A context value looked up by a lowercased condition key. */
export type ContextValue = string | readonly string[] | boolean | number;

/** The request context by lowercased key (a Map satisfies it): where policy variables come from. */
export interface VariableLookup {
  get(lowerKey: string): ContextValue | undefined;
}

/**
 * Thrown (never as an Error: no stack is captured) when a policy variable has no single value
 * in the request and no default. AWS: "If AWS cannot resolve a variable, this might cause the
 * entire statement to be invalid", so the evaluator treats the statement as not applying.
 */
export const UNRESOLVED: unique symbol = Symbol('unresolved policy variable');

type Part =
  | { readonly kind: 'literal'; readonly text: string }
  | { readonly kind: 'star' }
  | { readonly kind: 'one' }
  | { readonly kind: 'variable'; readonly key: string; readonly fallback?: string };

const STAR: Part = { kind: 'star' };
const ONE: Part = { kind: 'one' };

const VARIABLE = /^\$\{\s*([^,}'\s]+)\s*(?:,\s*'((?:[^']|'')*)'\s*)?\}/;

/** Split a pattern into literals, wildcards and variables. */
function tokenize(raw: string, opts: { variables: boolean; wildcards: boolean }): Part[] {
  const parts: Part[] = [];
  let literal = '';
  const flush = (): void => {
    if (literal !== '') parts.push({ kind: 'literal', text: literal });
    literal = '';
  };
  for (let i = 0; i < raw.length; i++) {
    const ch = raw[i]!;
    if (opts.variables && ch === '$' && raw[i + 1] === '{') {
      const rest = raw.slice(i);
      // The escapes are "predefined policy variables": a literal *, ? or $.
      if (rest.startsWith('${*}') || rest.startsWith('${?}') || rest.startsWith('${$}')) {
        literal += rest[2];
        i += 3;
        continue;
      }
      const m = VARIABLE.exec(rest);
      if (m) {
        flush();
        const fallback = m[2]?.replace(/''/g, "'");
        parts.push({ kind: 'variable', key: m[1]!.toLowerCase(), ...(fallback !== undefined ? { fallback } : {}) });
        i += m[0].length - 1;
        continue;
      }
      // Not a well-formed variable: AWS leaves such text alone, and so do we.
    }
    if (opts.wildcards && ch === '*') {
      flush();
      parts.push(STAR);
    } else if (opts.wildcards && ch === '?') {
      flush();
      parts.push(ONE);
    } else {
      literal += ch;
    }
  }
  flush();
  return parts;
}

const REGEX_SPECIAL = /[.*+?^${}()|[\]\\/]/g;
const escapeRegex = (s: string): string => s.replace(REGEX_SPECIAL, '\\$&');

/**
 * Regex source for parts whose variables are already resolved. In ARN mode "each of the six
 * colon-delimited components of the ARN is checked separately" (ArnLike), so a wildcard in the
 * first five stays inside its segment; from the sixth (the resource part, which may itself hold
 * colons) on, and for a `*` that ends a pattern of fewer segments (`arn:aws:ecr:*`), it spans.
 * Keeping `*` to `[^:]*` also spares the regex engine the backtracking of `.*:.*:`.
 */
function regexSource(parts: readonly Part[], mode: PatternMode, resolve: (p: Part & { kind: 'variable' }) => string): string {
  let out = '';
  let segment = 0;
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i]!;
    switch (part.kind) {
      case 'literal':
        if (mode === 'arn') for (const ch of part.text) if (ch === ':') segment++;
        out += escapeRegex(mode === 'action' ? part.text.toLowerCase() : part.text);
        break;
      case 'variable':
        out += escapeRegex(resolve(part));
        break;
      case 'star': {
        if (mode !== 'arn' || segment >= 5) {
          out += '.*';
        } else {
          out += i === parts.length - 1 ? '.*' : '[^:]*';
        }
        break;
      }
      case 'one':
        out += mode === 'arn' && segment < 5 ? '[^:]' : '.';
        break;
    }
  }
  return out;
}

const WILDCARD_MODES = new Set<PatternMode>(['glob', 'action', 'arn']);

function resolveVariable(part: { key: string; fallback?: string }, lookup: VariableLookup): string {
  const value = lookup.get(part.key);
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  // Absent, or multivalued (AWS doesn't substitute those either).
  if (part.fallback !== undefined) return part.fallback;
  throw UNRESOLVED;
}

/** Patterns that carry policy variables: resolved per request, their regexes cached by source. */
class TemplatePattern {
  private readonly cache = new Map<string, RegExp>();
  constructor(
    private readonly parts: readonly Part[],
    private readonly mode: PatternMode,
  ) {}

  /** `value` must already be lowercased for the case-insensitive modes. */
  test(value: string, lookup: VariableLookup): boolean {
    const resolve = (p: { key: string; fallback?: string }): string => resolveVariable(p, lookup);
    if (!WILDCARD_MODES.has(this.mode)) {
      let text = '';
      for (const p of this.parts) text += p.kind === 'variable' ? resolve(p) : p.kind === 'literal' ? p.text : '';
      return this.mode === 'equals-ignore-case' ? text.toLowerCase() === value : text === value;
    }
    const source = regexSource(this.parts, this.mode, resolve);
    let re = this.cache.get(source);
    if (!re) {
      // Bounded: a variable's values come from requests, so the set of sources is open-ended.
      if (this.cache.size >= 256) this.cache.clear();
      re = new RegExp(`^${source}$`, 's');
      this.cache.set(source, re);
    }
    return re.test(value);
  }
}

/**
 * A list of patterns that match when any one does (Action, Resource, a condition's values).
 * Variable-free patterns are compiled at parse time into one exact-match set and one regex.
 */
export class PatternSet {
  readonly matchesAll: boolean;
  private readonly exact: ReadonlySet<string>;
  private readonly regex: RegExp | undefined;
  private readonly templates: readonly TemplatePattern[];
  private readonly lowercase: boolean;

  constructor(raw: readonly string[], mode: PatternMode, opts: { variables: boolean }) {
    this.lowercase = mode === 'action' || mode === 'equals-ignore-case';
    const wildcards = WILDCARD_MODES.has(mode);
    const exact = new Set<string>();
    const sources: string[] = [];
    const templates: TemplatePattern[] = [];
    let matchesAll = false;
    for (const text of raw) {
      // Most values (exact actions, repository ARNs, tag values) have nothing to tokenize.
      if (!(wildcards ? /[*?$]/ : /\$/).test(text)) {
        exact.add(this.lowercase ? text.toLowerCase() : text);
        continue;
      }
      const parts = tokenize(text, { variables: opts.variables, wildcards });
      if (parts.length === 1 && parts[0]!.kind === 'star') matchesAll = true;
      if (parts.some((p) => p.kind === 'variable')) {
        templates.push(new TemplatePattern(parts, mode));
      } else if (parts.every((p) => p.kind === 'literal')) {
        const literal = parts.map((p) => (p.kind === 'literal' ? p.text : '')).join('');
        exact.add(this.lowercase ? literal.toLowerCase() : literal);
      } else {
        sources.push(regexSource(parts, mode, () => ''));
      }
    }
    this.matchesAll = matchesAll;
    this.exact = exact;
    this.regex = sources.length > 0 ? new RegExp(`^(?:${sources.join('|')})$`, 's') : undefined;
    this.templates = templates;
  }

  /**
   * Does `value` match any pattern? Throws UNRESOLVED when nothing else matched and a pattern's
   * variable has no value, so the statement can be set aside as AWS does.
   */
  test(value: string, lookup: VariableLookup): boolean {
    return this.testNormalized(this.lowercase ? value.toLowerCase() : value, lookup);
  }

  /** As `test`, for a value already lowercased where the mode is case-insensitive (actions). */
  testNormalized(v: string, lookup: VariableLookup): boolean {
    if (this.matchesAll) return true;
    if (this.exact.has(v)) return true;
    if (this.regex?.test(v)) return true;
    let unresolved = false;
    for (const t of this.templates) {
      try {
        if (t.test(v, lookup)) return true;
      } catch (err) {
        if (err !== UNRESOLVED) throw err;
        unresolved = true;
      }
    }
    if (unresolved) throw UNRESOLVED;
    return false;
  }
}
