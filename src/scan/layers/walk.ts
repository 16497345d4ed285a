import { Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import tar from 'tar-stream';
import { sniffLayer } from './decompress.js';
import { MergedFiles, normalizePath } from './merged.js';

/** One image layer to read: a tar stream, possibly gzip- or zstd-compressed. */
export interface LayerSource {
  digest: string;
  mediaType: string;
  size: number;
  open(): Promise<NodeJS.ReadableStream>;
}

/** Receives the bytes of one selected file, then turns them into a value to keep. */
export interface Collector<T> {
  /** Feed one chunk; return false when no more bytes are needed (the rest is skipped). */
  push(chunk: Buffer): boolean;
  /** The value to keep for this path, or undefined to keep nothing (the path is still shadowed). */
  finish(): Promise<T | undefined> | T | undefined;
}

/** A regular file entry offered to the selector. */
export interface FileEntry {
  path: string;
  size: number;
  mode: number;
  layerIndex: number;
  layerDigest: string;
}

export interface WalkOptions<T> {
  /** Decide whether to collect a regular file; called once per file entry, in layer order. */
  select(entry: FileEntry, warn: (message: string) => void): Collector<T> | undefined;
  /** Cap on decompressed bytes per layer. */
  maxLayerBytes: number;
  /** Time budget per layer. */
  layerTimeoutMs: number;
  signal?: AbortSignal;
}

export interface WalkResult<T> {
  files: Map<string, { path: string; layerIndex: number; layerDigest: string; value: T }>;
  warnings: string[];
  partial: boolean;
  layersRead: number;
  bytesRead: number;
}

class LayerLimitError extends Error {}

const WHITEOUT = '.wh.';
const OPAQUE = '.wh..wh..opq';

/**
 * Read each layer as a stream, in order, applying whiteouts and opaque directories, and keep the
 * value of each selected file that is still visible at the end. Never extracts to disk and never
 * buffers unselected entries. A layer that is corrupt, truncated, over `maxLayerBytes` or over
 * its time budget keeps what was read so far and adds a warning (`partial`). Rejects only when
 * `signal` aborts.
 */
export async function walkLayers<T>(layers: readonly LayerSource[], opts: WalkOptions<T>): Promise<WalkResult<T>> {
  const merged = new MergedFiles<T>();
  const warnings: string[] = [];
  let partial = false;
  let layersRead = 0;
  let bytesRead = 0;
  for (let i = 0; i < layers.length; i++) {
    opts.signal?.throwIfAborted();
    const layer = layers[i]!;
    const r = await walkOne(layer, i, merged, opts, warnings);
    bytesRead += r.bytes;
    if (r.problem) {
      partial = true;
      warnings.push(`layer ${layer.digest}: ${r.problem}`);
    }
    layersRead++;
  }
  return { files: merged.files, warnings, partial, layersRead, bytesRead };
}

async function walkOne<T>(
  layer: LayerSource,
  index: number,
  merged: MergedFiles<T>,
  opts: WalkOptions<T>,
  warnings: string[],
): Promise<{ bytes: number; problem?: string }> {
  let bytes = 0;
  let limitHit: LayerLimitError | undefined;
  let source: NodeJS.ReadableStream | undefined;
  const extract = tar.extract();
  // errors reach us through the pipeline and the entry iterator; this keeps an early stop()
  // (before either is attached) from becoming an unhandled 'error' event
  extract.on('error', () => {});
  const stop = (err: Error): void => {
    if (err instanceof LayerLimitError) limitHit ??= err;
    extract.destroy(err);
    (source as { destroy?: (e?: Error) => void } | undefined)?.destroy?.();
  };
  const timer = setTimeout(
    () => stop(new LayerLimitError(`time budget of ${opts.layerTimeoutMs / 1000}s exceeded; read what was found so far`)),
    opts.layerTimeoutMs,
  );
  const onAbort = (): void => stop(opts.signal?.reason instanceof Error ? opts.signal.reason : new Error('aborted'));
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  const warn = (m: string): void => {
    warnings.push(m);
  };
  let pipeError: unknown;
  let loopError: unknown;
  try {
    try {
      source = await Promise.race([
        layer.open(),
        new Promise<never>((_, reject) => extract.once('close', () => reject(limitHit ?? new Error('aborted')))),
      ]);
    } catch (err) {
      if (opts.signal?.aborted) throw opts.signal.reason ?? err;
      return { bytes, problem: limitHit ? limitHit.message : `cannot open: ${(err as Error).message}` };
    }
    let sniffed: Awaited<ReturnType<typeof sniffLayer>>;
    try {
      sniffed = await sniffLayer(source);
    } catch (err) {
      if (opts.signal?.aborted) throw opts.signal.reason ?? err;
      return { bytes, problem: limitHit ? limitHit.message : `unreadable (${describe(err)})` };
    }
    const { replay, decompressor } = sniffed;
    const counter = new Transform({
      transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback) {
        bytes += chunk.length;
        if (bytes > opts.maxLayerBytes) {
          const e = new LayerLimitError(`decompressed size exceeds the ${opts.maxLayerBytes}-byte cap; read what was found before it`);
          limitHit ??= e;
          cb(e);
          return;
        }
        cb(null, chunk);
      },
    });
    const stages: NodeJS.ReadWriteStream[] = decompressor ? [decompressor, counter] : [counter];
    const piped = pipeline(replay, ...(stages as [Transform, ...Transform[]]), extract).catch((err: unknown) => {
      pipeError ??= err;
    });
    try {
      for await (const entry of extract) {
        const h = entry.header;
        const path = normalizePath(h.name);
        const type = h.type ?? 'file';
        const slash = path.lastIndexOf('/');
        const dir = slash < 0 ? '' : path.slice(0, slash);
        const base = slash < 0 ? path : path.slice(slash + 1);
        if (base === OPAQUE) {
          merged.removeBelow(dir, index);
          entry.resume();
          continue;
        }
        if (base.startsWith(WHITEOUT)) {
          const target = base.slice(WHITEOUT.length);
          if (target !== '') merged.removeTree(dir === '' ? target : `${dir}/${target}`, index);
          entry.resume();
          continue;
        }
        if (path === '') {
          entry.resume();
          continue;
        }
        if (type === 'directory') {
          merged.remove(path, index);
          entry.resume();
          continue;
        }
        // any non-directory replaces whatever was at this path, including a directory tree
        merged.removeTree(path, index);
        if (type === 'link' && h.linkname) {
          const target = merged.files.get(normalizePath(h.linkname));
          if (target) merged.put({ ...target, path, layerIndex: index, layerDigest: layer.digest });
          entry.resume();
          continue;
        }
        if (type !== 'file' && type !== 'contiguous-file') {
          entry.resume();
          continue;
        }
        const collector = opts.select(
          { path, size: h.size ?? 0, mode: h.mode ?? 0, layerIndex: index, layerDigest: layer.digest },
          warn,
        );
        if (!collector) {
          entry.resume();
          continue;
        }
        let wanted = true;
        for await (const chunk of entry) {
          if (wanted) wanted = collector.push(chunk as Buffer);
        }
        let value: T | undefined;
        try {
          value = await collector.finish();
        } catch (err) {
          warn(`${path}: ${(err as Error).message}`);
        }
        if (value !== undefined) merged.put({ path, layerIndex: index, layerDigest: layer.digest, value });
      }
    } catch (err) {
      loopError = err;
    }
    await piped;
  } finally {
    clearTimeout(timer);
    opts.signal?.removeEventListener('abort', onAbort);
  }
  if (opts.signal?.aborted) throw opts.signal.reason ?? new Error('aborted');
  if (limitHit) return { bytes, problem: limitHit.message };
  const err = pipeError ?? loopError;
  if (err) return { bytes, problem: `unreadable (${describe(err)}); read what was found before the damage` };
  return { bytes };
}

function describe(err: unknown): string {
  const e = err as { code?: string; message?: string };
  return [e.code, e.message].filter(Boolean).join(': ') || String(err);
}
