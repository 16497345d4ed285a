import { describe, expect, it } from 'vitest';
import { escapeXml, xmlDocument } from './xml.js';

describe('xmlDocument', () => {
  it('writes elements in key order, repeats arrays, and leaves out undefined values', () => {
    const xml = xmlDocument('ListUsersResponse', 'https://iam.amazonaws.com/doc/2010-05-08/', {
      ListUsersResult: { Users: { member: [{ UserName: 'a' }, { UserName: 'b' }] }, IsTruncated: false, Marker: undefined },
      ResponseMetadata: { RequestId: 'r1' },
    });
    expect(xml).toBe(
      '<ListUsersResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><ListUsersResult><Users>' +
        '<member><UserName>a</UserName></member><member><UserName>b</UserName></member></Users>' +
        '<IsTruncated>false</IsTruncated></ListUsersResult><ResponseMetadata><RequestId>r1</RequestId></ResponseMetadata></ListUsersResponse>',
    );
  });

  it('writes an empty list as an empty element', () => {
    expect(xmlDocument('R', 'ns', { Users: { member: [] } })).toBe('<R xmlns="ns"><Users></Users></R>');
  });
});

describe('escapeXml', () => {
  it.each([
    ['a&b', 'a&amp;b'],
    ['<x>', '&lt;x&gt;'],
    [`"'`, `&quot;'`],
    ['tab\tnl\ncr\r', 'tab\tnl\ncr\r'],
    ['bell\u0007', 'bell\uFFFD'],
    ['nul\u0000', 'nul\uFFFD'],
    ['lone \uD800 surrogate', 'lone \uFFFD surrogate'],
    ['pair \u{1F600}', 'pair \u{1F600}'],
    ['\uFFFE', '\uFFFD'],
    ['é ü', 'é ü'],
  ])('%j → %j', (input, expected) => {
    expect(escapeXml(input)).toBe(expected);
  });
});
