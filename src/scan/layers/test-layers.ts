/** Build small image layers in memory for tests (tar-stream pack, then gzip, zstd or nothing). */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import tar from 'tar-stream';
import { compress } from 'zstd-napi';
import type { LayerSource } from './walk.js';

export type TestEntry =
  | { path: string; content: string | Buffer; mode?: number }
  | { path: string; type: 'directory' | 'symlink' | 'link'; linkname?: string };

export async function tarOf(entries: readonly TestEntry[]): Promise<Buffer> {
  const pack = tar.pack();
  const out: Buffer[] = [];
  const done = (async () => {
    for await (const c of pack) out.push(c as Buffer);
  })();
  for (const e of entries) {
    if ('content' in e) {
      const body = typeof e.content === 'string' ? Buffer.from(e.content) : e.content;
      await new Promise<void>((resolve, reject) =>
        pack.entry({ name: e.path, size: body.length, mode: e.mode ?? 0o644 }, body, (err) => (err ? reject(err) : resolve())),
      );
    } else {
      await new Promise<void>((resolve, reject) =>
        pack.entry({ name: e.path, type: e.type, mode: 0o755, ...(e.linkname ? { linkname: e.linkname } : {}) }, (err) => (err ? reject(err) : resolve())),
      );
    }
  }
  pack.finalize();
  await done;
  return Buffer.concat(out);
}

export type Compression = 'gzip' | 'zstd' | 'none';

/** A layer whose stream arrives in `chunkSize` pieces, to exercise chunk boundaries. */
export function layerOf(bytes: Buffer, chunkSize = 4096, mediaType = 'application/vnd.oci.image.layer.v1.tar+gzip'): LayerSource {
  const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
  return {
    digest,
    mediaType,
    size: bytes.length,
    async open() {
      const pieces: Buffer[] = [];
      for (let i = 0; i < bytes.length; i += chunkSize) pieces.push(bytes.subarray(i, i + chunkSize));
      return Readable.from(pieces);
    },
  };
}

export async function layer(entries: readonly TestEntry[], compression: Compression = 'gzip', chunkSize?: number): Promise<LayerSource> {
  const raw = await tarOf(entries);
  const bytes = compression === 'gzip' ? gzipSync(raw) : compression === 'zstd' ? compress(raw) : raw;
  return layerOf(bytes, chunkSize);
}
