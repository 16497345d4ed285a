/**
 * IPv4 and IPv6 addresses and CIDR blocks for the IpAddress/NotIpAddress operators
 * (RFC 4632 prefixes; IPv6 text forms per RFC 4291 section 2.2).
 */

/** An address as bytes: 4 for IPv4, 16 for IPv6. */
export type IpBytes = Uint8Array;

export interface CidrBlock {
  readonly bytes: IpBytes;
  readonly prefix: number;
}

/** Dotted-quad IPv4, parsed by hand: this runs for every request that meets an IpAddress condition. */
function parseIpv4(text: string): IpBytes | undefined {
  const out = new Uint8Array(4);
  let octet = 0;
  let value = 0;
  let digits = 0;
  for (let i = 0; i <= text.length; i++) {
    const c = i < text.length ? text.charCodeAt(i) : 46; /* a final '.' closes the last octet */
    if (c === 46) {
      if (digits === 0 || octet > 3) return undefined;
      out[octet++] = value;
      value = 0;
      digits = 0;
    } else if (c >= 48 && c <= 57) {
      // No leading zeros: "010" is octal to some parsers and decimal to others.
      if (digits > 0 && value === 0) return undefined;
      value = value * 10 + (c - 48);
      if (value > 255) return undefined;
      digits++;
    } else {
      return undefined;
    }
  }
  return octet === 4 ? out : undefined;
}

function parseIpv6(text: string): IpBytes | undefined {
  let s = text;
  const zone = s.indexOf('%');
  if (zone >= 0) s = s.slice(0, zone);
  const words: number[] = [];
  let tail: IpBytes | undefined;
  const lastColon = s.lastIndexOf(':');
  if (lastColon >= 0 && s.includes('.', lastColon)) {
    // An embedded IPv4 address takes the last 32 bits (::ffff:192.0.2.1).
    tail = parseIpv4(s.slice(lastColon + 1));
    if (!tail) return undefined;
    s = s.slice(0, lastColon + 1);
    if (!s.endsWith('::')) s = s.slice(0, -1);
  }
  const halves = s.split('::');
  if (halves.length > 2) return undefined;
  const parseGroups = (h: string): number[] | undefined => {
    if (h === '') return [];
    const out: number[] = [];
    for (const g of h.split(':')) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
      out.push(parseInt(g, 16));
    }
    return out;
  };
  const head = parseGroups(halves[0]!);
  const rest = halves.length === 2 ? parseGroups(halves[1]!) : [];
  if (!head || !rest) return undefined;
  const wanted = tail ? 6 : 8;
  if (halves.length === 1) {
    if (head.length !== wanted) return undefined;
    words.push(...head);
  } else {
    const zeros = wanted - head.length - rest.length;
    if (zeros < 1) return undefined;
    words.push(...head, ...new Array<number>(zeros).fill(0), ...rest);
  }
  const out = new Uint8Array(16);
  words.forEach((w, i) => {
    out[i * 2] = w >> 8;
    out[i * 2 + 1] = w & 0xff;
  });
  if (tail) out.set(tail, 12);
  return out;
}

const V4_MAPPED_PREFIX = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff];

/**
 * Parse an address. An IPv4-mapped IPv6 address (`::ffff:192.0.2.1`, what a dual-stack Node
 * socket reports for an IPv4 client) becomes the IPv4 address, so `192.0.2.0/24` matches it.
 */
export function parseIp(text: string): IpBytes | undefined {
  if (text.includes(':')) {
    const v6 = parseIpv6(text);
    if (v6 && V4_MAPPED_PREFIX.every((b, i) => v6[i] === b)) return v6.slice(12);
    return v6;
  }
  return parseIpv4(text);
}

/** Parse `a.b.c.d/n`, `x::y/n` or a bare address (a /32 or /128). */
export function parseCidr(text: string): CidrBlock | undefined {
  const slash = text.indexOf('/');
  const addr = slash < 0 ? text : text.slice(0, slash);
  // Policy-side IPv6 stays IPv6 (no v4-mapped folding): it names what the author wrote.
  const bytes = addr.includes(':') ? parseIpv6(addr) : parseIpv4(addr);
  if (!bytes) return undefined;
  const max = bytes.length * 8;
  if (slash < 0) return { bytes, prefix: max };
  const p = text.slice(slash + 1);
  if (!/^\d{1,3}$/.test(p) || Number(p) > max) return undefined;
  return { bytes, prefix: Number(p) };
}

export function cidrContains(block: CidrBlock, ip: IpBytes): boolean {
  if (block.bytes.length !== ip.length) return false;
  let bits = block.prefix;
  for (let i = 0; bits > 0; i++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if ((block.bytes[i]! & mask) !== (ip[i]! & mask)) return false;
  }
  return true;
}
