import { Readable, type Transform } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { DecompressStream } from 'zstd-napi';

export type Compression = 'gzip' | 'zstd' | 'none';

/** Detect a layer's compression from its first bytes (media types are not trusted). */
export function detectCompression(head: Uint8Array): Compression {
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  if (head.length >= 4 && head[0] === 0x28 && head[1] === 0xb5 && head[2] === 0x2f && head[3] === 0xfd) return 'zstd';
  return 'none';
}

/**
 * Peek at the first bytes of `source` and return a stream of the same bytes plus the decompressor
 * to pipe them through (undefined for a plain tar). Nothing is buffered beyond the first chunk.
 */
export async function sniffLayer(
  source: NodeJS.ReadableStream,
): Promise<{ compression: Compression; replay: Readable; decompressor?: Transform }> {
  const iter = (source as AsyncIterable<Buffer | string>)[Symbol.asyncIterator]();
  const first: Buffer[] = [];
  let have = 0;
  let done = false;
  while (have < 4) {
    const r = await iter.next();
    if (r.done) {
      done = true;
      break;
    }
    const b = typeof r.value === 'string' ? Buffer.from(r.value) : r.value;
    first.push(b);
    have += b.length;
  }
  const head = Buffer.concat(first);
  const compression = detectCompression(head);
  async function* all(): AsyncGenerator<Buffer> {
    if (head.length > 0) yield head;
    if (done) return;
    for (;;) {
      const r = await iter.next();
      if (r.done) return;
      yield typeof r.value === 'string' ? Buffer.from(r.value) : r.value;
    }
  }
  const replay = Readable.from(all(), { objectMode: false, highWaterMark: 1 << 16 });
  const decompressor =
    compression === 'gzip'
      ? createGunzip({ chunkSize: 1 << 17 })
      : compression === 'zstd'
        ? (new DecompressStream() as unknown as Transform)
        : undefined;
  return decompressor ? { compression, replay, decompressor } : { compression, replay };
}
