import { describe, expect, it } from 'vitest';
import { QueryError } from './errors.js';
import { ACCESS_KEY_ID, MAX_ITEMS, PATH_PREFIX, USER_NAME, USER_PATH } from './identities.js';
import { QueryParams } from './params.js';

function params(query: string): QueryParams {
  return new QueryParams(new URLSearchParams(query));
}

function validationMessage(p: QueryParams): string {
  try {
    p.throwIfInvalid();
  } catch (err) {
    expect(err).toBeInstanceOf(QueryError);
    expect((err as QueryError).code).toBe('ValidationError');
    expect((err as QueryError).status).toBe(400);
    return (err as QueryError).message;
  }
  throw new Error('expected a ValidationError');
}

describe('QueryParams', () => {
  it('reads valid values, form-decoded', () => {
    const p = params('UserName=a%2Bb%40c.d&Path=%2Fteam%2F&MaxItems=7');
    expect(p.requiredString('UserName', USER_NAME)).toBe('a+b@c.d');
    expect(p.optionalString('Path', USER_PATH)).toBe('/team/');
    expect(p.optionalInteger('MaxItems', MAX_ITEMS)).toBe(7);
    expect(p.optionalString('PathPrefix', PATH_PREFIX)).toBeUndefined();
    p.throwIfInvalid();
  });

  it('reports a missing required member the way AWS does', () => {
    const p = params('');
    expect(p.requiredString('UserName', USER_NAME)).toBeUndefined();
    expect(validationMessage(p)).toBe("1 validation error detected: Value null at 'userName' failed to satisfy constraint: Member must not be null");
  });

  it.each([
    ['UserName=a%20b', USER_NAME, 'Member must satisfy regular expression pattern: [\\w+=,.@-]+'],
    [`UserName=${'a'.repeat(65)}`, USER_NAME, 'Member must have length less than or equal to 64'],
    ['UserName=', USER_NAME, 'Member must have length greater than or equal to 1'],
    ['UserName=team', USER_PATH, 'Member must satisfy regular expression pattern'],
    ['UserName=%2Fteam', USER_PATH, 'Member must satisfy regular expression pattern'],
    ['UserName=AKIA', ACCESS_KEY_ID, 'Member must have length greater than or equal to 16'],
    ['UserName=AKIA%2B%2B%2B%2B%2B%2B%2B%2B%2B%2B%2B%2B%2B', ACCESS_KEY_ID, 'Member must satisfy regular expression pattern: [\\w]+'],
  ])('%s fails with "%s"', (query, rule, constraint) => {
    const p = params(query);
    expect(p.requiredString('UserName', rule)).toBeUndefined();
    const message = validationMessage(p);
    expect(message).toMatch(/^1 validation error detected: Value '.*' at '\w+' failed to satisfy constraint: /);
    expect(message).toContain(constraint);
  });

  it('collects every failing member into one error', () => {
    const p = params('UserName=bad%20name&MaxItems=0&Status=On');
    p.requiredString('UserName', USER_NAME);
    p.optionalInteger('MaxItems', MAX_ITEMS);
    p.requiredString('Status', { member: 'status', values: ['Active', 'Inactive'] });
    const message = validationMessage(p);
    expect(message).toMatch(/^3 validation errors detected: /);
    expect(message).toContain("Value '0' at 'maxItems' failed to satisfy constraint: Member must have value greater than or equal to 1");
    expect(message).toContain("Value 'On' at 'status' failed to satisfy constraint: Member must satisfy enum value set: [Active, Inactive]");
  });

  it.each(['1001', 'ten', '1.5', '-1'])('refuses MaxItems=%s', (value) => {
    const p = params(`MaxItems=${value}`);
    expect(p.optionalInteger('MaxItems', MAX_ITEMS)).toBeUndefined();
    expect(validationMessage(p)).toContain("at 'maxItems'");
  });

  it('refuses parameters berth does not implement rather than dropping them', () => {
    expect(() => params('UserName=a&Tags.member.1.Key=k').unsupported(['Tags'], 'no tags yet')).toThrow(/Tags\.member\.1\.Key is not supported: no tags yet/);
    expect(() => params('UserName=a&TagsX=1').unsupported(['Tags'], 'no tags yet')).not.toThrow();
  });
});
