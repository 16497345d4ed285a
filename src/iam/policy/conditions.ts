/**
 * The Condition element: operators, set qualifiers, `...IfExists`, and how each compares.
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-single-vs-multi-valued-context-keys.html
 */
import { cidrContains, parseCidr, parseIp, type CidrBlock } from './ip-address.js';
import { PatternSet, type ContextValue, type PatternMode, type VariableLookup } from './patterns.js';

type Family = 'string' | 'arn' | 'numeric' | 'date' | 'bool' | 'binary' | 'ip' | 'null';
type Comparison = 'eq' | 'lt' | 'lte' | 'gt' | 'gte';

interface OperatorSpec {
  /** The operator as AWS spells it. */
  readonly name: string;
  readonly family: Family;
  /** StringNotEquals and friends: true when the value matches none of the policy's values (NOR). */
  readonly negated: boolean;
  readonly mode?: PatternMode;
  readonly comparison?: Comparison;
}

const SPECS: readonly OperatorSpec[] = [
  { name: 'StringEquals', family: 'string', negated: false, mode: 'equals' },
  { name: 'StringNotEquals', family: 'string', negated: true, mode: 'equals' },
  { name: 'StringEqualsIgnoreCase', family: 'string', negated: false, mode: 'equals-ignore-case' },
  { name: 'StringNotEqualsIgnoreCase', family: 'string', negated: true, mode: 'equals-ignore-case' },
  { name: 'StringLike', family: 'string', negated: false, mode: 'glob' },
  { name: 'StringNotLike', family: 'string', negated: true, mode: 'glob' },
  // AWS documents ArnEquals and ArnLike identically: both take per-segment wildcards.
  { name: 'ArnEquals', family: 'arn', negated: false, mode: 'arn' },
  { name: 'ArnLike', family: 'arn', negated: false, mode: 'arn' },
  { name: 'ArnNotEquals', family: 'arn', negated: true, mode: 'arn' },
  { name: 'ArnNotLike', family: 'arn', negated: true, mode: 'arn' },
  { name: 'NumericEquals', family: 'numeric', negated: false, comparison: 'eq' },
  { name: 'NumericNotEquals', family: 'numeric', negated: true, comparison: 'eq' },
  { name: 'NumericLessThan', family: 'numeric', negated: false, comparison: 'lt' },
  { name: 'NumericLessThanEquals', family: 'numeric', negated: false, comparison: 'lte' },
  { name: 'NumericGreaterThan', family: 'numeric', negated: false, comparison: 'gt' },
  { name: 'NumericGreaterThanEquals', family: 'numeric', negated: false, comparison: 'gte' },
  { name: 'DateEquals', family: 'date', negated: false, comparison: 'eq' },
  { name: 'DateNotEquals', family: 'date', negated: true, comparison: 'eq' },
  { name: 'DateLessThan', family: 'date', negated: false, comparison: 'lt' },
  { name: 'DateLessThanEquals', family: 'date', negated: false, comparison: 'lte' },
  { name: 'DateGreaterThan', family: 'date', negated: false, comparison: 'gt' },
  { name: 'DateGreaterThanEquals', family: 'date', negated: false, comparison: 'gte' },
  { name: 'Bool', family: 'bool', negated: false },
  { name: 'BinaryEquals', family: 'binary', negated: false },
  { name: 'IpAddress', family: 'ip', negated: false },
  { name: 'NotIpAddress', family: 'ip', negated: true },
  { name: 'Null', family: 'null', negated: false },
];

const SPEC_BY_NAME = new Map(SPECS.map((s) => [s.name.toLowerCase(), s]));

/** Every operator name the parser accepts (without qualifier or IfExists). */
export const CONDITION_OPERATORS: readonly string[] = SPECS.map((s) => s.name);

/** One key under one operator, compiled. A statement's conditions are AND-ed. */
export interface Condition {
  /** The operator as written in the policy, e.g. `ForAnyValue:StringLikeIfExists`. */
  readonly operator: string;
  /** The condition key as written; matched case-insensitively. */
  readonly key: string;
  readonly lowerKey: string;
  readonly qualifier: 'ForAnyValue' | 'ForAllValues' | undefined;
  readonly ifExists: boolean;
  readonly negated: boolean;
  /** For Null: the accepted answers to "is the key absent?" (`true` means it must be absent). */
  readonly nullAccepts?: readonly boolean[];
  /** Does one context value match any of the policy's values? (Negation is applied outside.) */
  readonly matchesAny: (value: string | boolean | number, lookup: VariableLookup) => boolean;
}

/** A problem in a condition, reported by the parser with the path it knows. */
export class ConditionError extends Error {}

/** Split `ForAnyValue:StringLikeIfExists` into its qualifier, operator and IfExists. */
export function parseOperatorName(raw: string): { spec: OperatorSpec; qualifier: Condition['qualifier']; ifExists: boolean } {
  let rest = raw;
  let qualifier: Condition['qualifier'];
  const colon = rest.indexOf(':');
  if (colon >= 0) {
    const q = rest.slice(0, colon).toLowerCase();
    if (q === 'foranyvalue') qualifier = 'ForAnyValue';
    else if (q === 'forallvalues') qualifier = 'ForAllValues';
    else throw new ConditionError(`unknown set qualifier '${rest.slice(0, colon)}' (expected ForAnyValue or ForAllValues)`);
    rest = rest.slice(colon + 1);
  }
  let spec = SPEC_BY_NAME.get(rest.toLowerCase());
  let ifExists = false;
  if (!spec && /IfExists$/i.test(rest)) {
    spec = SPEC_BY_NAME.get(rest.slice(0, -'IfExists'.length).toLowerCase());
    ifExists = spec !== undefined;
    // AWS: "You can add IfExists to the end of any condition operator name except the Null condition."
    if (spec?.family === 'null') throw new ConditionError(`operator '${raw}': Null cannot take IfExists`);
  }
  if (!spec) throw new ConditionError(`unknown operator '${raw}'`);
  if (spec.family === 'null' && qualifier) throw new ConditionError(`operator '${raw}': Null cannot take a set qualifier`);
  return { spec, qualifier, ifExists };
}

const NUMBER = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const EPOCH = /^[+-]?\d+(?:\.\d+)?$/;
const ISO_DATE = /^(\d{4}-\d{2}-\d{2})(?:T(\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)(Z|[+-]\d{2}:?\d{2})?)?$/i;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

function toNumber(v: string | boolean | number): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && NUMBER.test(v.trim())) return Number(v);
  return NaN;
}

/** Milliseconds since the epoch, from an ISO 8601 date/time (UTC unless it says otherwise) or epoch seconds. */
export function toEpochMs(v: string | boolean | number): number {
  if (typeof v === 'number') return v * 1000;
  if (typeof v !== 'string') return NaN;
  const s = v.trim();
  if (EPOCH.test(s)) return Number(s) * 1000;
  const m = ISO_DATE.exec(s);
  if (!m) return NaN;
  // Date.parse reads a zone-less date-time as local time; IAM means UTC.
  const zone = m[3] === undefined ? 'Z' : m[3].toUpperCase() === 'Z' ? 'Z' : m[3].length === 5 ? `${m[3].slice(0, 3)}:${m[3].slice(3)}` : m[3];
  return Date.parse(m[2] === undefined ? `${m[1]}T00:00:00Z` : `${m[1]}T${m[2]}${zone}`);
}

function toBool(v: string | boolean | number): boolean | undefined {
  if (typeof v === 'boolean') return v;
  if (typeof v === 'string') {
    const s = v.toLowerCase();
    if (s === 'true') return true;
    if (s === 'false') return false;
  }
  return undefined;
}

function compare(a: number, b: number, c: Comparison): boolean {
  switch (c) {
    case 'eq':
      return a === b;
    case 'lt':
      return a < b;
    case 'lte':
      return a <= b;
    case 'gt':
      return a > b;
    case 'gte':
      return a >= b;
  }
}

type PolicyValue = string | number | boolean;

/**
 * Compile one key's values under one operator. Throws ConditionError naming the bad value.
 * `variables`: whether policy variables apply (Version 2012-10-17; string and ARN operators only).
 */
export function compileCondition(operator: string, key: string, values: readonly PolicyValue[], variables: boolean): Condition {
  const { spec, qualifier, ifExists } = parseOperatorName(operator);
  const base = { operator, key, lowerKey: key.toLowerCase(), qualifier, ifExists, negated: spec.negated };
  const bad = (v: PolicyValue, what: string): ConditionError => new ConditionError(`${JSON.stringify(v)} is not ${what}`);
  switch (spec.family) {
    case 'string':
    case 'arn': {
      const set = new PatternSet(values.map(String), spec.mode!, { variables });
      return { ...base, matchesAny: (v, lookup) => set.test(String(v), lookup) };
    }
    case 'numeric': {
      const nums = values.map((v) => {
        const n = toNumber(v);
        if (typeof v === 'boolean' || !Number.isFinite(n)) throw bad(v, 'a number');
        return n;
      });
      const c = spec.comparison!;
      return {
        ...base,
        matchesAny: (v) => {
          const n = toNumber(v);
          return !Number.isNaN(n) && nums.some((p) => compare(n, p, c));
        },
      };
    }
    case 'date': {
      const times = values.map((v) => {
        const t = typeof v === 'boolean' ? NaN : toEpochMs(v);
        if (!Number.isFinite(t)) throw bad(v, 'an ISO 8601 date or epoch time');
        return t;
      });
      const c = spec.comparison!;
      return {
        ...base,
        matchesAny: (v) => {
          const t = toEpochMs(v);
          return !Number.isNaN(t) && times.some((p) => compare(t, p, c));
        },
      };
    }
    case 'bool': {
      const bools = values.map((v) => {
        const b = toBool(v);
        if (b === undefined) throw bad(v, 'true or false');
        return b;
      });
      return {
        ...base,
        matchesAny: (v) => {
          const b = toBool(v);
          return b !== undefined && bools.includes(b);
        },
      };
    }
    case 'binary': {
      const blobs = values.map((v) => {
        if (typeof v !== 'string' || !BASE64.test(v)) throw bad(v, 'base64');
        return Buffer.from(v, 'base64').toString('base64');
      });
      return {
        ...base,
        matchesAny: (v) => typeof v === 'string' && BASE64.test(v) && blobs.includes(Buffer.from(v, 'base64').toString('base64')),
      };
    }
    case 'ip': {
      const blocks: CidrBlock[] = values.map((v) => {
        const b = typeof v === 'string' ? parseCidr(v) : undefined;
        if (!b) throw bad(v, 'an IPv4 or IPv6 address or CIDR block');
        return b;
      });
      return {
        ...base,
        matchesAny: (v) => {
          const ip = typeof v === 'string' ? parseIp(v) : undefined;
          return ip !== undefined && blocks.some((b) => cidrContains(b, ip));
        },
      };
    }
    case 'null': {
      const bools = values.map((v) => {
        const b = toBool(v);
        if (b === undefined) throw bad(v, 'true or false');
        return b;
      });
      return { ...base, nullAccepts: bools, matchesAny: () => false };
    }
  }
}

/**
 * Evaluate one compiled condition against the request context.
 *
 * AWS: a key absent from the request makes a condition false, except that a negated operator
 * (StringNotLike, ArnNotLike, ...) is then true, `...IfExists` is true, `ForAllValues` is true
 * (an empty set), `ForAnyValue` is false, and `Null` tests exactly that absence. An empty list
 * counts as absent. A multivalued key under an unqualified operator matches like ForAnyValue;
 * negated, it is true only if no value matches (the negation of that).
 */
export function evaluateCondition(c: Condition, value: ContextValue | undefined, lookup: VariableLookup): boolean {
  const absent = value === undefined || (Array.isArray(value) && value.length === 0);
  if (c.nullAccepts !== undefined) return c.nullAccepts.includes(absent);
  if (absent) {
    if (c.ifExists || c.qualifier === 'ForAllValues') return true;
    if (c.qualifier === 'ForAnyValue') return false;
    return c.negated;
  }
  if (!Array.isArray(value)) {
    const hit = c.matchesAny(value as string | boolean | number, lookup);
    return c.negated ? !hit : hit;
  }
  const list = value as readonly string[];
  if (c.qualifier === 'ForAllValues') {
    for (const v of list) if (c.matchesAny(v, lookup) === c.negated) return false;
    return true;
  }
  if (c.qualifier === 'ForAnyValue') {
    for (const v of list) if (c.matchesAny(v, lookup) !== c.negated) return true;
    return false;
  }
  const anyHit = list.some((v) => c.matchesAny(v, lookup));
  return c.negated ? !anyHit : anyHit;
}
