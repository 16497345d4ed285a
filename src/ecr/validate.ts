import { BerthError, parseRepositoryName, type AccountId, type RepositoryName } from '../core/index.js';

/**
 * Reads an operation's JSON input member by member, with ECR's constraints. Failures are
 * InvalidParameterException with AWS's wording ("1 validation error detected: Value ... at
 * '<member>' failed to satisfy constraint: ..."), so messages point at the member at fault.
 * Unknown members are ignored, as AWS does for forward compatibility.
 */
export class Input {
  constructor(private readonly body: Record<string, unknown>) {}

  has(name: string): boolean {
    return this.body[name] !== undefined && this.body[name] !== null;
  }

  raw(name: string): unknown {
    return this.body[name];
  }

  optionalString(name: string, opts: { min?: number; max?: number; pattern?: RegExp } = {}): string | undefined {
    const value = this.body[name];
    if (value === undefined || value === null) return undefined;
    if (typeof value !== 'string') throw serialization(name, 'a string');
    return checkString(name, value, opts);
  }

  string(name: string, opts: { min?: number; max?: number; pattern?: RegExp } = {}): string {
    const value = this.optionalString(name, opts);
    if (value === undefined) throw missing(name);
    return value;
  }

  optionalInteger(name: string, opts: { min?: number; max?: number } = {}): number | undefined {
    const value = this.body[name];
    if (value === undefined || value === null) return undefined;
    if (typeof value !== 'number' || !Number.isInteger(value)) throw serialization(name, 'an integer');
    if (opts.min !== undefined && value < opts.min) throw constraint(name, value, `Member must have value greater than or equal to ${opts.min}`);
    if (opts.max !== undefined && value > opts.max) throw constraint(name, value, `Member must have value less than or equal to ${opts.max}`);
    return value;
  }

  optionalBoolean(name: string): boolean | undefined {
    const value = this.body[name];
    if (value === undefined || value === null) return undefined;
    if (typeof value !== 'boolean') throw serialization(name, 'a boolean');
    return value;
  }

  optionalEnum<T extends string>(name: string, values: readonly T[]): T | undefined {
    const value = this.optionalString(name);
    if (value === undefined) return undefined;
    if (!values.includes(value as T)) throw constraint(name, value, `Member must satisfy enum value set: [${values.join(', ')}]`);
    return value as T;
  }

  enumValue<T extends string>(name: string, values: readonly T[]): T {
    const value = this.optionalEnum(name, values);
    if (value === undefined) throw missing(name);
    return value;
  }

  optionalList(name: string, opts: { min?: number; max?: number } = {}): unknown[] | undefined {
    const value = this.body[name];
    if (value === undefined || value === null) return undefined;
    if (!Array.isArray(value)) throw serialization(name, 'a list');
    if (opts.min !== undefined && value.length < opts.min) throw constraint(name, `[${value.length} items]`, `Member must have length greater than or equal to ${opts.min}`);
    if (opts.max !== undefined && value.length > opts.max) throw constraint(name, `[${value.length} items]`, `Member must have length less than or equal to ${opts.max}`);
    return value;
  }

  list(name: string, opts: { min?: number; max?: number } = {}): unknown[] {
    const value = this.optionalList(name, opts);
    if (value === undefined) throw missing(name);
    return value;
  }

  optionalObject(name: string): Input | undefined {
    const value = this.body[name];
    if (value === undefined || value === null) return undefined;
    if (typeof value !== 'object' || Array.isArray(value)) throw serialization(name, 'a structure');
    return new Input(value as Record<string, unknown>);
  }

  object(name: string): Input {
    const value = this.optionalObject(name);
    if (value === undefined) throw missing(name);
    return value;
  }

  /** `registryId`: the account acted on; the caller's own when absent. */
  registryId(callerAccount: string): AccountId {
    return (this.optionalString('registryId', { pattern: /^[0-9]{12}$/ }) ?? callerAccount) as AccountId;
  }

  repositoryName(name = 'repositoryName'): RepositoryName {
    return repositoryNameValue(this.string(name), name);
  }
}

export function repositoryNameValue(value: string, member: string): RepositoryName {
  if (value.length < 2 || value.length > 256) throw constraint(member, value, 'Member must have length between 2 and 256');
  try {
    return parseRepositoryName(value);
  } catch {
    throw constraint(member, value, 'Member must satisfy regular expression pattern: [a-z0-9]+((\\.|_|__|-+)[a-z0-9]+)*(\\/[a-z0-9]+((\\.|_|__|-+)[a-z0-9]+)*)*');
  }
}

function checkString(name: string, value: string, opts: { min?: number; max?: number; pattern?: RegExp }): string {
  if (opts.min !== undefined && value.length < opts.min) throw constraint(name, value, `Member must have length greater than or equal to ${opts.min}`);
  if (opts.max !== undefined && value.length > opts.max) throw constraint(name, value, `Member must have length less than or equal to ${opts.max}`);
  if (opts.pattern && !opts.pattern.test(value)) throw constraint(name, value, `Member must satisfy regular expression pattern: ${opts.pattern.source.replace(/^\^|\$$/g, '')}`);
  return value;
}

export function constraint(member: string, value: unknown, rule: string): BerthError {
  const shown = typeof value === 'string' ? (value.length > 100 ? `${value.slice(0, 100)}...` : value) : String(value);
  return new BerthError('INVALID_PARAMETER', `1 validation error detected: Value '${shown}' at '${member}' failed to satisfy constraint: ${rule}`);
}

export function invalid(message: string): BerthError {
  return new BerthError('INVALID_PARAMETER', message);
}

function missing(member: string): BerthError {
  return new BerthError('INVALID_PARAMETER', `1 validation error detected: Value null at '${member}' failed to satisfy constraint: Member must not be null`);
}

function serialization(member: string, expected: string): BerthError {
  return new BerthError('INVALID_PARAMETER', `Value at '${member}' must be ${expected}`);
}

/** Opaque, stable page tokens: the sort key of the last item returned (keyset pagination). */
export function encodeNextToken(after: string): string {
  return Buffer.from(JSON.stringify({ v: 1, after })).toString('base64url');
}

export function decodeNextToken(token: string | undefined): string | undefined {
  if (token === undefined) return undefined;
  try {
    const parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as { v?: number; after?: unknown };
    if (parsed.v === 1 && typeof parsed.after === 'string') return parsed.after;
  } catch {
    // fall through
  }
  throw invalid('Invalid parameter at \'nextToken\' failed to satisfy constraint: the token was not issued by this API');
}
