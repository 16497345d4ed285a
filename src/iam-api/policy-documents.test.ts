import { describe, expect, it } from 'vitest';
import { parsePolicy } from '../iam/policy/index.js';
import { QueryError } from './errors.js';
import { pageOf } from './operations/policy-holders.js';
import { checkManagedPolicySize, checkTrustPolicySize, encodePolicyDocument, policySize, validatePolicyDocument } from './policy-documents.js';

describe('policy documents', () => {
  it('counts size as IAM does: characters other than white space', () => {
    expect(policySize('{ "a" :\n\t"b c" }')).toBe(10);
    expect(policySize('€€')).toBe(2);
    expect(policySize('😀')).toBe(1);
  });

  it('URL-encodes documents as IAM answers them (RFC 3986), reversibly', () => {
    const text = `{"Statement": [{"Sid": "A!*'()", "Resource": "arn:aws:ecr:*:*:repository/a b"}]}\n`;
    const encoded = encodePolicyDocument(text);
    expect(encoded).toMatch(/^%7B%22Statement%22%3A%20%5B/);
    expect(encoded).not.toMatch(/[!*'() \n]/);
    expect(decodeURIComponent(encoded)).toBe(text);
  });

  it('maps the engine refusal to MalformedPolicyDocument with its message', () => {
    const text = '{"Statement": {"Effect": "Allow", "Action": "ecr:*"}}';
    let engineMessage = '';
    try {
      parsePolicy(text, 'identity');
    } catch (err) {
      engineMessage = (err as Error).message;
    }
    expect(engineMessage).toMatch(/Resource/);
    const call = () => validatePolicyDocument(text, 'identity');
    expect(call).toThrow(QueryError);
    expect(call).toThrow(expect.objectContaining({ code: 'MalformedPolicyDocument', status: 400, message: engineMessage }));
    expect(validatePolicyDocument(text.replace('}}', ', "Resource": "*"}}'), 'identity').statements).toHaveLength(1);
  });

  it('applies the managed and trust quotas without counting white space', () => {
    const padded = (n: number) => `{${' '.repeat(10_000)}${'x'.repeat(n - 2)}}`;
    expect(() => checkManagedPolicySize(padded(6144))).not.toThrow();
    expect(() => checkManagedPolicySize(padded(6145))).toThrow('Cannot exceed quota for PolicySize: 6144');
    expect(() => checkTrustPolicySize(padded(2048))).not.toThrow();
    expect(() => checkTrustPolicySize(padded(2049))).toThrow(expect.objectContaining({ code: 'LimitExceeded', status: 409 }));
  });
});

describe('pageOf', () => {
  const names = ['a', 'b', 'c', 'd', 'e'];
  const page = (marker: string | undefined, maxItems: number) => pageOf(names, (n) => n, { marker, maxItems, isKey: (k) => /^[a-z]$/.test(k) });

  it('pages through a sorted list with opaque markers', () => {
    const first = page(undefined, 2);
    expect(first).toMatchObject({ items: ['a', 'b'], isTruncated: true });
    const second = page(first.marker, 2);
    expect(second).toMatchObject({ items: ['c', 'd'], isTruncated: true });
    expect(page(second.marker, 2)).toEqual({ items: ['e'], isTruncated: false, marker: undefined });
    expect(page(undefined, 5)).toEqual({ items: names, isTruncated: false, marker: undefined });
  });

  it('continues after a marker whose item has gone, and refuses a forged one', () => {
    const marker = Buffer.from('bb').toString('base64url');
    expect(() => page(marker, 2)).toThrow('Invalid Marker.');
    const afterB = pageOf(['a', 'c'], (n) => n, { marker: Buffer.from('b').toString('base64url'), maxItems: 5, isKey: () => true });
    expect(afterB.items).toEqual(['c']);
  });
});
