import { describe, expect, it } from 'vitest';
import { cidrContains, parseCidr, parseIp } from './ip-address.js';

describe('parseIp', () => {
  it.each<[string, number[] | undefined]>([
    ['192.0.2.1', [192, 0, 2, 1]],
    ['0.0.0.0', [0, 0, 0, 0]],
    ['256.0.0.1', undefined],
    ['1.2.3', undefined],
    ['01.2.3.4', undefined],
    ['::ffff:192.0.2.1', [192, 0, 2, 1]],
    ['::1', [...new Array<number>(15).fill(0), 1]],
    ['2001:db8::1', [0x20, 0x01, 0x0d, 0xb8, ...new Array<number>(11).fill(0), 1]],
    ['2001:db8:0:0:0:0:0:1', [0x20, 0x01, 0x0d, 0xb8, ...new Array<number>(11).fill(0), 1]],
    ['fe80::1%eth0', [0xfe, 0x80, ...new Array<number>(13).fill(0), 1]],
    ['64:ff9b::192.0.2.1', [0, 0x64, 0xff, 0x9b, ...new Array<number>(8).fill(0), 192, 0, 2, 1]],
    ['1:2:3:4:5:6:7:8:9', undefined],
    ['1::2::3', undefined],
    ['12345::', undefined],
    ['not-an-ip', undefined],
  ])('%s', (text, bytes) => {
    const ip = parseIp(text);
    expect(ip === undefined ? undefined : [...ip]).toEqual(bytes);
  });
});

describe('cidrContains', () => {
  it.each<[string, string, boolean]>([
    ['203.0.113.0/24', '203.0.113.7', true],
    ['203.0.113.0/24', '203.0.114.7', false],
    ['10.0.0.0/8', '10.255.1.2', true],
    ['10.0.0.0/9', '10.128.0.1', false],
    ['10.0.0.0/9', '10.127.255.255', true],
    ['172.16.0.0/12', '172.31.1.1', true],
    ['172.16.0.0/12', '172.32.0.1', false],
    ['2001:db8::/31', '2001:db9::1', true],
    ['2001:db8::/31', '2001:dba::1', false],
    ['192.0.2.1', '192.0.2.1', true],
    ['192.0.2.1', '192.0.2.2', false],
    ['0.0.0.0/0', '198.51.100.1', true],
    ['2001:DB8:1234:5678::/64', '2001:db8:1234:5678::1', true],
    ['2001:DB8:1234:5678::/64', '2001:db8:1234:5679::1', false],
    ['::/0', '2001:db8::1', true],
    ['::/0', '192.0.2.1', false],
    ['10.0.0.0/8', '::ffff:10.1.2.3', true],
  ])('%s contains %s: %s', (cidr, ip, expected) => {
    const block = parseCidr(cidr);
    const addr = parseIp(ip);
    expect(block && addr && cidrContains(block, addr)).toBe(expected);
  });

  it.each(['10.0.0.0/33', '2001:db8::/129', '10.0.0.0/', '10.0.0.0/8/8', '10.0.0/8', 'x/8'])('rejects %s', (cidr) => {
    expect(parseCidr(cidr)).toBeUndefined();
  });
});
