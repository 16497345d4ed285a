import { open, type FileHandle } from 'node:fs/promises';
import { crc32, inflateRawSync } from 'node:zlib';

/** One file of a zip, as the central directory describes it. */
interface ZipEntry {
  name: string;
  method: number;
  flags: number;
  crc: number;
  compressedSize: number;
  size: number;
  localOffset: number;
}

/** A zip the reader cannot read (truncated, encrypted, an unknown compression method). */
export class ZipError extends Error {
  override readonly name = 'ZipError';
}

const EOCD = 0x06054b50;
const EOCD64 = 0x06064b50;
const EOCD64_LOCATOR = 0x07064b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;

/**
 * Read the files of a zip one after the other, in the order they are stored, with one sequential
 * pass over the file through a 4 MiB window: what osv.dev's `<Ecosystem>/all.zip` exports need
 * (tens of thousands of small JSON files). yauzl costs several asynchronous reads and a zlib
 * stream per entry, which dominated an import of 100,000 records; here an entry costs one
 * synchronous inflate. Memory: the central directory (about 100 bytes per entry), the window,
 * and one entry, whose uncompressed size is capped by `maxEntryBytes` (larger entries are
 * skipped, and reported to `onSkip`). Supports stored and deflated entries and zip64.
 */
export async function readZipEntries(
  file: string,
  accept: (name: string) => boolean,
  onEntry: (name: string, data: Buffer) => Promise<void> | void,
  opts: { maxEntryBytes?: number; signal?: AbortSignal; onSkip?: (name: string, why: string) => void; onTotal?: (entries: number) => void } = {},
): Promise<void> {
  const handle = await open(file, 'r');
  try {
    const size = (await handle.stat()).size;
    const entries = (await centralDirectory(handle, size)).filter((e) => !e.name.endsWith('/') && accept(e.name));
    entries.sort((a, b) => a.localOffset - b.localOffset);
    opts.onTotal?.(entries.length);
    const max = opts.maxEntryBytes ?? 64 * 1024 * 1024;
    const reader = new WindowReader(handle, size);
    for (const entry of entries) {
      opts.signal?.throwIfAborted();
      if (entry.size > max || entry.compressedSize > max) {
        opts.onSkip?.(entry.name, `larger than ${max} bytes`);
        continue;
      }
      if (entry.flags & 1) {
        opts.onSkip?.(entry.name, 'encrypted');
        continue;
      }
      const local = await reader.read(entry.localOffset, 30);
      if (local.readUInt32LE(0) !== LOCAL) throw new ZipError(`${entry.name}: no local header at offset ${entry.localOffset}`);
      const dataAt = entry.localOffset + 30 + local.readUInt16LE(26) + local.readUInt16LE(28);
      const packed = await reader.read(dataAt, entry.compressedSize);
      let data: Buffer;
      if (entry.method === 0) data = Buffer.from(packed);
      else if (entry.method === 8) data = inflateRawSync(packed, { maxOutputLength: Math.max(entry.size, 1) });
      else {
        opts.onSkip?.(entry.name, `compression method ${entry.method}`);
        continue;
      }
      if (data.length !== entry.size || crc32(data) !== entry.crc) throw new ZipError(`${entry.name}: corrupt (size or CRC-32 does not match the central directory)`);
      await onEntry(entry.name, data);
    }
  } finally {
    await handle.close();
  }
}

async function readAt(handle: FileHandle, position: number, length: number): Promise<Buffer> {
  const buf = Buffer.alloc(length);
  let done = 0;
  while (done < length) {
    const { bytesRead } = await handle.read(buf, done, length - done, position + done);
    if (bytesRead === 0) throw new ZipError('unexpected end of file');
    done += bytesRead;
  }
  return buf;
}

/** The central directory's entries (APPNOTE.TXT 4.3.12-4.3.16, with the zip64 records of 4.3.14-4.3.15). */
async function centralDirectory(handle: FileHandle, size: number): Promise<ZipEntry[]> {
  const tailLength = Math.min(size, 22 + 0xffff + 20);
  const tail = await readAt(handle, size - tailLength, tailLength);
  let at = -1;
  for (let i = tail.length - 22; i >= 0; i--) {
    if (tail.readUInt32LE(i) === EOCD) {
      at = i;
      break;
    }
  }
  if (at < 0) throw new ZipError('not a zip file (no end of central directory record)');
  let count = tail.readUInt16LE(at + 10);
  let cdSize = tail.readUInt32LE(at + 12);
  let cdOffset = tail.readUInt32LE(at + 16);
  if ((count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) && at >= 20 && tail.readUInt32LE(at - 20) === EOCD64_LOCATOR) {
    const eocd64At = Number(tail.readBigUInt64LE(at - 20 + 8));
    const eocd64 = await readAt(handle, eocd64At, 56);
    if (eocd64.readUInt32LE(0) !== EOCD64) throw new ZipError('bad zip64 end of central directory record');
    count = Number(eocd64.readBigUInt64LE(32));
    cdSize = Number(eocd64.readBigUInt64LE(40));
    cdOffset = Number(eocd64.readBigUInt64LE(48));
  }
  if (cdOffset + cdSize > size) throw new ZipError('truncated zip (the central directory lies past the end of the file)');
  const cd = await readAt(handle, cdOffset, cdSize);
  const entries: ZipEntry[] = [];
  let p = 0;
  while (p + 46 <= cd.length && entries.length < count) {
    if (cd.readUInt32LE(p) !== CENTRAL) throw new ZipError(`bad central directory entry at ${cdOffset + p}`);
    const nameLength = cd.readUInt16LE(p + 28);
    const extraLength = cd.readUInt16LE(p + 30);
    const commentLength = cd.readUInt16LE(p + 32);
    const entry: ZipEntry = {
      name: cd.toString('utf8', p + 46, p + 46 + nameLength),
      flags: cd.readUInt16LE(p + 8),
      method: cd.readUInt16LE(p + 10),
      crc: cd.readUInt32LE(p + 16),
      compressedSize: cd.readUInt32LE(p + 20),
      size: cd.readUInt32LE(p + 24),
      localOffset: cd.readUInt32LE(p + 42),
    };
    // Zip64 extended information (header 0x0001): the fields that overflowed, in this order.
    let x = p + 46 + nameLength;
    const extraEnd = x + extraLength;
    while (x + 4 <= extraEnd) {
      const id = cd.readUInt16LE(x);
      const len = cd.readUInt16LE(x + 2);
      if (id === 0x0001) {
        let f = x + 4;
        if (entry.size === 0xffffffff && f + 8 <= x + 4 + len) (entry.size = Number(cd.readBigUInt64LE(f))), (f += 8);
        if (entry.compressedSize === 0xffffffff && f + 8 <= x + 4 + len) (entry.compressedSize = Number(cd.readBigUInt64LE(f))), (f += 8);
        if (entry.localOffset === 0xffffffff && f + 8 <= x + 4 + len) entry.localOffset = Number(cd.readBigUInt64LE(f));
      }
      x += 4 + len;
    }
    entries.push(entry);
    p = extraEnd + commentLength;
  }
  return entries;
}

/** Reads ranges of a file that mostly move forward, through one window of 4 MiB (or the range, if larger). */
class WindowReader {
  private window: Buffer = Buffer.alloc(0);
  private start = 0;

  constructor(
    private readonly handle: FileHandle,
    private readonly size: number,
  ) {}

  async read(position: number, length: number): Promise<Buffer> {
    if (position < this.start || position + length > this.start + this.window.length) {
      const want = Math.min(Math.max(length, 4 * 1024 * 1024), this.size - position);
      if (want < length) throw new ZipError('truncated zip (an entry lies past the end of the file)');
      this.window = await readAt(this.handle, position, want);
      this.start = position;
    }
    return this.window.subarray(position - this.start, position - this.start + length);
  }
}
