import type { Package } from '../types.js';
import { elfOffsetOf, isElf, parseElf, type ElfFile } from './elf.js';

/** The magic at the start of a Go binary's `.go.buildinfo` section. */
export const GO_BUILDINFO_MAGIC = Buffer.from('\xff Go buildinf:', 'latin1');

/** What a Go binary says about how it was built. */
export interface GoBuildInfo {
  /** e.g. `go1.19.8` */
  goVersion: string;
  /** The main module path and version, when stamped (`(devel)` for local builds). */
  main?: { path: string; version: string };
  deps: Array<{ path: string; version: string }>;
}

/**
 * Read the build info of a Go ELF executable from its complete file image. Handles the inline
 * format (Go >= 1.18) and the pointer format (Go 1.13-1.17, resolved through the ELF program
 * headers). Returns undefined for a non-Go or non-ELF file.
 */
export function readGoBinary(buf: Buffer): GoBuildInfo | undefined {
  if (!isElf(buf)) return undefined;
  let elf: ElfFile | undefined;
  try {
    elf = parseElf(buf);
  } catch {
    elf = undefined; // damaged headers: the inline format can still be found by its magic
  }
  const sec = elf?.sections.find((s) => s.name === '.go.buildinfo');
  let at = sec && sec.offset + 32 <= buf.length ? sec.offset : -1;
  if (at < 0 || !validHeader(buf, at)) at = findHeader(buf, 0);
  if (at < 0) return undefined;
  const flags = buf[at + 15] ?? 0;
  if (flags & 2) return parseInlineBuildInfo(buf.subarray(at));
  if (!elf) return undefined;
  const image = elf;
  // pointer format: two pointers to Go string headers (data pointer, length)
  const ptrSize = buf[at + 14] ?? 8;
  const be = (flags & 1) === 1;
  const readPtr = (o: number): number | undefined => {
    if (o < 0 || o + ptrSize > buf.length) return undefined;
    if (ptrSize === 4) return be ? buf.readUInt32BE(o) : buf.readUInt32LE(o);
    const v = be ? buf.readBigUInt64BE(o) : buf.readBigUInt64LE(o);
    return v > BigInt(Number.MAX_SAFE_INTEGER) ? undefined : Number(v);
  };
  const readGoString = (addr: number | undefined): string | undefined => {
    if (addr === undefined) return undefined;
    const hdr = elfOffsetOf(image, addr);
    if (hdr === undefined) return undefined;
    const data = readPtr(hdr);
    const len = readPtr(hdr + ptrSize);
    if (data === undefined || len === undefined || len > 1 << 24) return undefined;
    const off = elfOffsetOf(image, data);
    if (off === undefined || off + len > buf.length) return undefined;
    return buf.toString('utf8', off, off + len);
  };
  const goVersion = readGoString(readPtr(at + 16));
  if (!goVersion) return undefined;
  return { goVersion, ...parseModInfo(readGoString(readPtr(at + 16 + ptrSize)) ?? '') };
}

/** Offset of the first valid build-info header in `buf` at or after `from`, or -1. */
export function findHeader(buf: Buffer, from: number): number {
  let i = buf.indexOf(GO_BUILDINFO_MAGIC, from);
  while (i >= 0) {
    if (validHeader(buf, i)) return i;
    i = buf.indexOf(GO_BUILDINFO_MAGIC, i + 1);
  }
  return -1;
}

/**
 * Whether a real build-info header starts at `at` (not a copy of the magic string in rodata):
 * pointer size 4 or 8, known flags, and for the inline format the 16 zero bytes of padding.
 * Undefined when fewer than 32 bytes are available.
 */
export function validHeader(buf: Uint8Array, at: number): boolean {
  if (at + 32 > buf.length) return false;
  for (let k = 0; k < GO_BUILDINFO_MAGIC.length; k++) if (buf[at + k] !== GO_BUILDINFO_MAGIC[k]) return false;
  const ptrSize = buf[at + 14];
  const flags = buf[at + 15] ?? 0xff;
  if ((ptrSize !== 4 && ptrSize !== 8) || flags > 3) return false;
  if (flags & 2) {
    for (let k = 16; k < 32; k++) if (buf[at + k] !== 0) return false;
  }
  return true;
}

/** Whether the header at `at` uses the inline (Go >= 1.18) format. */
export function isInlineHeader(buf: Uint8Array, at: number): boolean {
  return ((buf[at + 15] ?? 0) & 2) === 2;
}

/**
 * Parse inline-format build info: `blob` starts at the magic; after the 32-byte header come two
 * uvarint-prefixed strings, the Go version and the module info. Undefined when truncated.
 */
export function parseInlineBuildInfo(blob: Uint8Array): GoBuildInfo | undefined {
  let pos = 32;
  const readString = (): string | undefined => {
    let len = 0;
    let shift = 0;
    for (;;) {
      if (pos >= blob.length || shift > 28) return undefined;
      const b = blob[pos++] ?? 0;
      len |= (b & 0x7f) << shift;
      if ((b & 0x80) === 0) break;
      shift += 7;
    }
    if (pos + len > blob.length) return undefined;
    const s = Buffer.from(blob.buffer, blob.byteOffset + pos, len).toString('utf8');
    pos += len;
    return s;
  };
  const goVersion = readString();
  if (!goVersion) return undefined;
  const modinfo = readString() ?? '';
  return { goVersion, ...parseModInfo(modinfo) };
}

/** Parse `runtime/debug` module info text (16-byte sentinels around it are stripped). */
export function parseModInfo(text: string): Pick<GoBuildInfo, 'main' | 'deps'> {
  let body = text;
  if (body.length >= 33 && body.charCodeAt(body.length - 17) === 0x0a) body = body.slice(16, -16);
  let main: GoBuildInfo['main'];
  const deps: GoBuildInfo['deps'] = [];
  let last: { path: string; version: string } | undefined;
  for (const line of body.split('\n')) {
    const f = line.split('\t');
    if (f[0] === 'mod' && f[1]) {
      main = { path: f[1], version: f[2] ?? '' };
      last = main;
    } else if (f[0] === 'dep' && f[1]) {
      last = { path: f[1], version: f[2] ?? '' };
      deps.push(last);
    } else if (f[0] === '=>' && f[1] && last) {
      // a replaced module: the replacement is what was built, when it is a versioned module
      if (f[2]) {
        last.path = f[1];
        last.version = f[2];
      }
    }
  }
  return main ? { main, deps } : { deps };
}

/** `go1.21.3` -> `1.21.3`, `go1.20` -> `1.20.0`, `go1.21rc2` -> `1.21.0-rc.2`; undefined for devel builds. */
export function goStdlibVersion(goVersion: string): string | undefined {
  const m = /^go(\d+)\.(\d+)(?:\.(\d+))?(?:(rc|beta)(\d+))?(?:[\s+-].*)?$/.exec(goVersion.trim());
  if (!m) return undefined;
  const base = `${m[1]}.${m[2]}.${m[3] ?? '0'}`;
  return m[4] ? `${base}-${m[4]}.${m[5]}` : base;
}

/** Packages for a Go binary: the standard library (`stdlib`), the main module when versioned, the deps. */
export function goBinaryPackages(info: GoBuildInfo): Package[] {
  const out: Package[] = [];
  const std = goStdlibVersion(info.goVersion);
  if (std) out.push({ ecosystem: 'Go', name: 'stdlib', version: std, purl: `pkg:golang/stdlib@${std}` });
  const mods = info.main && info.main.version && info.main.version !== '(devel)' ? [info.main, ...info.deps] : info.deps;
  for (const m of mods) {
    if (!m.version || m.version === '(devel)') continue;
    out.push(goModule(m.path, m.version));
  }
  return out;
}

/**
 * Read a `go.mod`: the `require` directives (single and block form, indirect included), with
 * `replace` directives that name a versioned module applied.
 */
export function readGoMod(text: string): Package[] {
  const reqs = new Map<string, string>();
  const replaces = new Map<string, { path: string; version: string }>();
  let block: string | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.replace(/\/\/.*$/, '').trim();
    if (line === '') continue;
    if (block) {
      if (line === ')') {
        block = undefined;
        continue;
      }
      directive(block, line);
      continue;
    }
    const m = /^(require|replace|exclude|retract)\s*(\(?)\s*(.*)$/.exec(line);
    if (!m?.[1]) continue;
    if (m[2] === '(') {
      block = m[1];
      if (m[3]) directive(block, m[3]);
    } else if (m[3]) directive(m[1], m[3]);
  }
  function directive(kind: string, rest: string): void {
    if (kind === 'require') {
      const [path, version] = rest.split(/\s+/);
      if (path && version) reqs.set(unquote(path), version);
    } else if (kind === 'replace') {
      const m = /^(\S+)(?:\s+\S+)?\s+=>\s+(\S+)(?:\s+(\S+))?$/.exec(rest);
      if (m?.[1] && m[2] && m[3]) replaces.set(unquote(m[1]), { path: unquote(m[2]), version: m[3] });
    }
  }
  const out: Package[] = [];
  for (const [path, version] of reqs) {
    const r = replaces.get(path);
    out.push(r ? goModule(r.path, r.version) : goModule(path, version));
  }
  return out;
}

function unquote(s: string): string {
  return s.startsWith('"') && s.endsWith('"') ? s.slice(1, -1) : s;
}

function goModule(path: string, version: string): Package {
  return { ecosystem: 'Go', name: path, version, purl: `pkg:golang/${path}@${encodeURIComponent(version)}` };
}
