import Database from 'better-sqlite3';
import type { Package } from '../types.js';

/** One package from an rpm header. */
export interface RpmHeader {
  name: string;
  epoch?: number;
  version: string;
  release: string;
  arch?: string;
  sourceRpm?: string;
}

const TAG_NAME = 1000;
const TAG_VERSION = 1001;
const TAG_RELEASE = 1002;
const TAG_EPOCH = 1003;
const TAG_ARCH = 1022;
const TAG_SOURCERPM = 1044;
const TYPE_INT32 = 4;
const TYPE_STRING = 6;
const TYPE_STRING_ARRAY = 8;
const TYPE_I18NSTRING = 9;

/**
 * Parse an rpm header blob as stored in an rpmdb (no lead, no 8-byte header magic): index count,
 * data length, 16-byte index entries, then the data store, all big-endian. Returns undefined when
 * the blob is malformed or has no name/version.
 */
export function parseRpmHeader(blob: Uint8Array): RpmHeader | undefined {
  if (blob.length < 8) return undefined;
  const view = new DataView(blob.buffer, blob.byteOffset, blob.byteLength);
  const il = view.getUint32(0);
  const dl = view.getUint32(4);
  const dataStart = 8 + il * 16;
  if (il > 0x10000 || dataStart + dl > blob.length) return undefined;
  const str = (offset: number): string | undefined => {
    const start = dataStart + offset;
    if (start >= dataStart + dl) return undefined;
    let end = start;
    const limit = dataStart + dl;
    while (end < limit && blob[end] !== 0) end++;
    return Buffer.from(blob.buffer, blob.byteOffset + start, end - start).toString('utf8');
  };
  const fields: Partial<Record<number, string | number>> = {};
  for (let i = 0; i < il; i++) {
    const at = 8 + i * 16;
    const tag = view.getUint32(at);
    if (tag !== TAG_NAME && tag !== TAG_VERSION && tag !== TAG_RELEASE && tag !== TAG_EPOCH && tag !== TAG_ARCH && tag !== TAG_SOURCERPM) continue;
    const type = view.getUint32(at + 4);
    const offset = view.getUint32(at + 8);
    if (type === TYPE_INT32) {
      if (offset + 4 <= dl) fields[tag] = view.getInt32(dataStart + offset);
    } else if (type === TYPE_STRING || type === TYPE_STRING_ARRAY || type === TYPE_I18NSTRING) {
      const s = str(offset);
      if (s !== undefined) fields[tag] = s;
    }
  }
  const name = fields[TAG_NAME];
  const version = fields[TAG_VERSION];
  const release = fields[TAG_RELEASE];
  if (typeof name !== 'string' || typeof version !== 'string' || typeof release !== 'string') return undefined;
  const h: RpmHeader = { name, version, release };
  const epoch = fields[TAG_EPOCH];
  if (typeof epoch === 'number') h.epoch = epoch;
  const arch = fields[TAG_ARCH];
  if (typeof arch === 'string') h.arch = arch;
  const src = fields[TAG_SOURCERPM];
  if (typeof src === 'string' && src !== '(none)') h.sourceRpm = src;
  return h;
}

/** `epoch:version-release` (epoch only when present), the form rpm advisories use. */
export function rpmEvr(h: Pick<RpmHeader, 'epoch' | 'version' | 'release'>): string {
  return `${h.epoch !== undefined ? `${h.epoch}:` : ''}${h.version}-${h.release}`;
}

/** Turn rpm headers into packages; the source name and version come from the source rpm file name. */
export function rpmPackages(headers: readonly RpmHeader[], ecosystem: string, distro = 'redhat'): Package[] {
  const out: Package[] = [];
  for (const h of headers) {
    if (h.name === 'gpg-pubkey') continue; // imported signing keys, not software
    const version = rpmEvr(h);
    const pkg: Package = {
      ecosystem,
      name: h.name,
      version,
      purl: `pkg:rpm/${encodeURIComponent(distro)}/${encodeURIComponent(h.name)}@${encodeURIComponent(version)}${h.arch ? `?arch=${encodeURIComponent(h.arch)}` : ''}`,
    };
    const src = h.sourceRpm ? splitSourceRpm(h.sourceRpm) : undefined;
    if (src) {
      pkg.sourceName = src.name;
      pkg.sourceVersion = `${h.epoch !== undefined ? `${h.epoch}:` : ''}${src.versionRelease}`;
    }
    out.push(pkg);
  }
  return out;
}

/** `openssl-1.1.1k-7.cm2.src.rpm` -> { name: openssl, versionRelease: 1.1.1k-7.cm2 }. */
export function splitSourceRpm(file: string): { name: string; versionRelease: string } | undefined {
  const base = file.replace(/\.(no)?src\.rpm$/, '');
  const r = base.lastIndexOf('-');
  if (r <= 0) return undefined;
  const v = base.lastIndexOf('-', r - 1);
  if (v <= 0) return undefined;
  return { name: base.slice(0, v), versionRelease: base.slice(v + 1) };
}

/**
 * Read a SQLite rpmdb (`rpmdb.sqlite`) from memory. The file is usually in WAL mode, which SQLite
 * refuses to open from a memory image, so header bytes 18-19 are switched to rollback-journal mode
 * on a copy first (any pages still in a -wal file are not seen; rpm checkpoints on close).
 * Throws when the buffer is not a readable SQLite database.
 */
export function readRpmSqlite(buf: Buffer): RpmHeader[] {
  const copy = Buffer.from(buf);
  if (copy.length >= 20 && copy[18] === 2 && copy[19] === 2) {
    copy[18] = 1;
    copy[19] = 1;
  }
  const db = new Database(copy, { readonly: true });
  try {
    const rows = db.prepare('SELECT blob FROM Packages ORDER BY hnum').all() as Array<{ blob: Buffer }>;
    const out: RpmHeader[] = [];
    for (const row of rows) {
      const h = parseRpmHeader(row.blob);
      if (h) out.push(h);
    }
    return out;
  } finally {
    db.close();
  }
}

const BDB_HASH_MAGIC = 0x061561;
const P_HASH_UNSORTED = 2;
const P_HASH = 13;
const P_OVERFLOW = 7;
const H_OFFPAGE = 3;
const PAGE_HEADER = 26;

/**
 * Read a Berkeley DB hash rpmdb (`var/lib/rpm/Packages`, RHEL/CentOS <= 8, older SUSE) from memory.
 * Header blobs live on overflow-page chains referenced from the hash pages. Throws when the buffer
 * is not a Berkeley DB hash database.
 */
export function readRpmBdb(buf: Buffer): RpmHeader[] {
  if (buf.length < 512) throw new Error('not a Berkeley DB file (too short)');
  let le: boolean;
  if (buf.readUInt32LE(12) === BDB_HASH_MAGIC) le = true;
  else if (buf.readUInt32BE(12) === BDB_HASH_MAGIC) le = false;
  else throw new Error('not a Berkeley DB hash database');
  const u32 = (o: number): number => (le ? buf.readUInt32LE(o) : buf.readUInt32BE(o));
  const u16 = (o: number): number => (le ? buf.readUInt16LE(o) : buf.readUInt16BE(o));
  const pageSize = u32(20);
  if (pageSize < 512 || pageSize > 65536 || (pageSize & (pageSize - 1)) !== 0) throw new Error(`bad Berkeley DB page size ${pageSize}`);
  const pages = Math.floor(buf.length / pageSize);
  const lastPage = Math.min(u32(32), pages - 1);
  const out: RpmHeader[] = [];
  for (let pg = 1; pg <= lastPage; pg++) {
    const base = pg * pageSize;
    const type = buf[base + 25];
    if (type !== P_HASH && type !== P_HASH_UNSORTED) continue;
    const entries = u16(base + 20);
    // entries alternate key, value; the values we want point to overflow chains
    for (let i = 1; i < entries; i += 2) {
      const idxAt = base + PAGE_HEADER + i * 2;
      if (idxAt + 2 > base + pageSize) break;
      const itemAt = base + u16(idxAt);
      if (itemAt + 12 > base + pageSize || buf[itemAt] !== H_OFFPAGE) continue;
      const blob = readOverflow(buf, u32(itemAt + 4), u32(itemAt + 8), pageSize, pages, u32, u16);
      if (!blob) continue;
      const h = parseRpmHeader(blob);
      if (h) out.push(h);
    }
  }
  return out;
}

function readOverflow(
  buf: Buffer,
  start: number,
  total: number,
  pageSize: number,
  pages: number,
  u32: (o: number) => number,
  u16: (o: number) => number,
): Buffer | undefined {
  if (total > 64 * 1024 * 1024) return undefined;
  const parts: Buffer[] = [];
  let got = 0;
  let pg = start;
  const seen = new Set<number>();
  while (pg !== 0 && got < total) {
    if (pg >= pages || seen.has(pg)) return undefined;
    seen.add(pg);
    const base = pg * pageSize;
    if (buf[base + 25] !== P_OVERFLOW) return undefined;
    const next = u32(base + 16);
    const len = next === 0 ? Math.min(u16(base + 22), pageSize - PAGE_HEADER) : pageSize - PAGE_HEADER;
    parts.push(buf.subarray(base + PAGE_HEADER, base + PAGE_HEADER + len));
    got += len;
    pg = next;
  }
  const all = Buffer.concat(parts);
  return all.length >= total ? all.subarray(0, total) : undefined;
}

const NDB_MAGIC = 0x506d7052; // "RpmP" little-endian
const NDB_SLOT_MAGIC = 0x746f6c53; // "Slot"
const NDB_BLOB_MAGIC = 0x53626c42; // "BlbS"
const NDB_PAGE = 4096;
const NDB_BLOCK = 16;

/**
 * Read an rpm "ndb" database (`Packages.db`: SUSE/openSUSE since 2020) from memory. Layout (rpm's
 * lib/backend/ndb/rpmpkg.c): a 32-byte little-endian header ("RpmP", version 0, generation, slot
 * page count), then slot pages of 16-byte slots ("Slot", package index, block offset, block
 * count) that point at 16-byte blocks holding a blob header ("BlbS", package index, checksum,
 * length) followed by the rpm header blob. Throws when the buffer is not an ndb database.
 */
export function readRpmNdb(buf: Buffer): RpmHeader[] {
  if (buf.length < 32 || buf.readUInt32LE(0) !== NDB_MAGIC || buf.readUInt32LE(4) !== 0) throw new Error('not an rpm ndb database');
  const slotPages = buf.readUInt32LE(12);
  if (slotPages === 0 || slotPages > 2048 || slotPages * NDB_PAGE > buf.length) throw new Error(`bad ndb slot page count ${slotPages}`);
  const out: RpmHeader[] = [];
  // the header takes the place of the first two slots of the first page
  for (let at = 32; at < slotPages * NDB_PAGE; at += 16) {
    if (buf.readUInt32LE(at) !== NDB_SLOT_MAGIC) throw new Error('bad ndb slot');
    const pkgIndex = buf.readUInt32LE(at + 4);
    if (pkgIndex === 0) continue; // free slot
    const blob = buf.readUInt32LE(at + 8) * NDB_BLOCK;
    if (blob + 16 > buf.length || buf.readUInt32LE(blob) !== NDB_BLOB_MAGIC || buf.readUInt32LE(blob + 4) !== pkgIndex) continue;
    const len = buf.readUInt32LE(blob + 12);
    if (blob + 16 + len > buf.length) continue;
    const h = parseRpmHeader(buf.subarray(blob + 16, blob + 16 + len));
    if (h) out.push(h);
  }
  return out;
}
