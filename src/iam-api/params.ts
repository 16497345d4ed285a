import { QueryError } from './errors.js';

interface StringRule {
  /** The member name AWS quotes in messages (camelCase, e.g. 'userName'). */
  member: string;
  min?: number;
  max?: number;
  /** Matched against the whole value; `patternText` is how AWS's message spells it. */
  pattern?: RegExp;
  patternText?: string;
  values?: readonly string[];
}

/**
 * The parameters of one Query request, checked the way AWS's services check them: every failing
 * member is collected, and `throwIfInvalid` reports them at once as a ValidationError,
 * "2 validation errors detected: Value 'x' at 'userName' failed to satisfy constraint: …; …".
 * A getter whose value fails returns undefined; the caller must not act before `throwIfInvalid`.
 */
export class QueryParams {
  private readonly problems: string[] = [];

  constructor(private readonly form: URLSearchParams) {}

  /** A string parameter; absent or empty is undefined (the SDKs send no empty strings). */
  optionalString(name: string, rule: StringRule): string | undefined {
    const value = this.form.get(name);
    if (value === null) return undefined;
    return this.check(value, rule) ? value : undefined;
  }

  requiredString(name: string, rule: StringRule): string | undefined {
    const value = this.form.get(name);
    if (value === null) {
      this.problems.push(`Value null at '${rule.member}' failed to satisfy constraint: Member must not be null`);
      return undefined;
    }
    return this.check(value, rule) ? value : undefined;
  }

  optionalInteger(name: string, rule: { member: string; min: number; max: number }): number | undefined {
    const raw = this.form.get(name);
    if (raw === null) return undefined;
    const value = /^-?\d{1,10}$/.test(raw) ? Number(raw) : NaN;
    if (Number.isNaN(value)) {
      this.fail(raw, rule.member, 'Member must be an integer');
    } else if (value < rule.min) {
      this.fail(raw, rule.member, `Member must have value greater than or equal to ${rule.min}`);
    } else if (value > rule.max) {
      this.fail(raw, rule.member, `Member must have value less than or equal to ${rule.max}`);
    } else {
      return value;
    }
    return undefined;
  }

  /**
   * Refuse parameters AWS defines for an operation that berth does not implement yet (e.g. a
   * user's `Tags`), rather than accept a request and silently drop part of it.
   */
  unsupported(prefixes: readonly string[], why: string): void {
    for (const key of new Set(this.form.keys())) {
      if (prefixes.some((prefix) => key === prefix || key.startsWith(`${prefix}.`))) {
        throw new QueryError('ValidationError', `The parameter ${key.slice(0, 100)} is not supported: ${why}`);
      }
    }
  }

  throwIfInvalid(): void {
    if (this.problems.length === 0) return;
    const n = this.problems.length;
    throw new QueryError('ValidationError', `${n} validation error${n > 1 ? 's' : ''} detected: ${this.problems.join('; ')}`);
  }

  private check(value: string, rule: StringRule): boolean {
    // AWS counts characters (code points), not UTF-16 units.
    const length = [...value].length;
    if (rule.min !== undefined && length < rule.min) {
      this.fail(value, rule.member, `Member must have length greater than or equal to ${rule.min}`);
    } else if (rule.max !== undefined && length > rule.max) {
      this.fail(value, rule.member, `Member must have length less than or equal to ${rule.max}`);
    } else if (rule.values && !rule.values.includes(value)) {
      this.fail(value, rule.member, `Member must satisfy enum value set: [${rule.values.join(', ')}]`);
    } else if (rule.pattern && !rule.pattern.test(value)) {
      this.fail(value, rule.member, `Member must satisfy regular expression pattern: ${rule.patternText ?? rule.pattern.source}`);
    } else {
      return true;
    }
    return false;
  }

  private fail(value: string, member: string, constraint: string): void {
    // Quote at most a little of what the caller sent.
    const shown = value.length > 200 ? `${value.slice(0, 200)}…` : value;
    this.problems.push(`Value '${shown}' at '${member}' failed to satisfy constraint: ${constraint}`);
  }
}
