import { createWriteStream } from 'node:fs';
import { mkdtemp, open, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { readZipEntries, ZipError } from './zip.js';
import { osvHeader, type ImportCounts, type OsvHeader, type VulnDbStore } from './store.js';

/** Where import progress goes: a line that redraws itself on a terminal, plain lines elsewhere. */
export interface ImportProgress {
  /** `done` records read so far from `source` (`total` when known). */
  update(source: string, done: number, total?: number): void;
  /** A source finished. */
  finish(source: string, counts: ImportCounts): void;
  note(message: string): void;
}

/** Progress on a stream: `\r`-redrawn on a TTY, one line per 10,000 records otherwise. */
export function streamProgress(out: NodeJS.WritableStream & { isTTY?: boolean }): ImportProgress {
  const tty = Boolean(out.isTTY);
  let lastLine = 0;
  let lastDraw = 0;
  return {
    update(source, done, total) {
      if (tty) {
        const now = Date.now();
        if (now - lastDraw < 100) return;
        lastDraw = now;
        const pct = total ? ` ${Math.floor((done / total) * 100)}%` : '';
        out.write(`\r\x1b[K${source}: ${done}${total ? `/${total}` : ''} records${pct}`);
      } else if (done - lastLine >= 10_000) {
        lastLine = done;
        out.write(`${source}: ${done}${total ? `/${total}` : ''} records\n`);
      }
    },
    finish(source, c) {
      lastLine = 0;
      out.write(
        `${tty ? '\r\x1b[K' : ''}${source}: ${c.read} records read, ${c.added} added, ${c.updated} updated, ${c.withdrawn} withdrawn, ${c.unchanged} unchanged${c.invalid ? `, ${c.invalid} invalid` : ''}\n`,
      );
    },
    note(message) {
      out.write(`${tty ? '\r\x1b[K' : ''}${message}\n`);
    },
  };
}

const SILENT: ImportProgress = { update() {}, finish() {}, note() {} };

/** Records written per transaction. */
const BATCH = 1000;

/** Collects parsed records and writes them in batches. */
class Batcher {
  readonly counts: ImportCounts = { read: 0, added: 0, updated: 0, withdrawn: 0, unchanged: 0, invalid: 0 };
  private pending: { header: OsvHeader; body: string }[] = [];

  constructor(
    private readonly store: VulnDbStore,
    private readonly progress: ImportProgress,
    private readonly source: string,
    private readonly now: () => number,
    private total?: number,
  ) {}

  setTotal(total: number): void {
    this.total = total;
  }

  /** An entry that could not be read as a record (too large, encrypted, unknown compression). */
  skip(): void {
    this.counts.read++;
    this.counts.invalid++;
  }

  /** One file's text: an OSV record, or a JSON array of them. */
  async add(text: string): Promise<void> {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      this.counts.invalid++;
      return;
    }
    for (const raw of Array.isArray(parsed) ? parsed : [parsed]) {
      const header = osvHeader(raw);
      this.counts.read++;
      if (!header) {
        this.counts.invalid++;
        continue;
      }
      this.pending.push({ header, body: Array.isArray(parsed) ? JSON.stringify(raw) : text });
    }
    this.progress.update(this.source, this.counts.read, this.total);
    if (this.pending.length >= BATCH) await this.flush();
  }

  async flush(): Promise<void> {
    const batch = this.pending;
    this.pending = [];
    const c = await this.store.putBatch(batch, this.now());
    this.counts.added += c.added;
    this.counts.updated += c.updated;
    this.counts.withdrawn += c.withdrawn;
    this.counts.unchanged += c.unchanged;
  }
}

export interface ImportOptions {
  progress?: ImportProgress;
  now?: () => number;
  signal?: AbortSignal;
  /** HTTP fetch (tests may pass their own); default the global fetch. */
  fetch?: typeof fetch;
}

/**
 * Import OSV records from `source`: a folder (walked recursively for `*.json`), a zip file (read
 * entry by entry in one sequential pass, never extracted), a single JSON file (one record or an array), or an
 * `http(s)://` URL of a zip or a JSON file (downloaded to a temporary file, then read as a zip).
 * Incremental: a record replaces the stored one only when its `modified` is newer, so importing
 * the same export twice changes nothing.
 */
export async function importSource(store: VulnDbStore, source: string, opts: ImportOptions = {}): Promise<ImportCounts> {
  const progress = opts.progress ?? SILENT;
  const now = opts.now ?? Date.now;
  if (/^https?:\/\//i.test(source)) {
    const fetched = await fetchSource(store, source, opts);
    if (fetched === 'not-modified') {
      progress.note(`${source}: not modified since the last update`);
      return { read: 0, added: 0, updated: 0, withdrawn: 0, unchanged: 0, invalid: 0 };
    }
    try {
      const counts = await importFile(store, fetched.file, source, progress, now, opts.signal);
      await store.putSource(source, { etag: fetched.etag, lastModified: fetched.lastModified, records: counts.read }, now());
      return counts;
    } finally {
      await rm(fetched.dir, { recursive: true, force: true });
    }
  }
  const path = source.startsWith('file://') ? new URL(source).pathname : source;
  const info = await stat(path).catch(() => undefined);
  if (!info) throw new Error(`${source}: no such file or folder`);
  if (info.isDirectory()) return importFolder(store, path, progress, now, opts.signal);
  return importFile(store, path, source, progress, now, opts.signal);
}

async function importFolder(store: VulnDbStore, dir: string, progress: ImportProgress, now: () => number, signal?: AbortSignal): Promise<ImportCounts> {
  const files: string[] = [];
  const walk = async (d: string): Promise<void> => {
    for (const entry of await readdir(d, { withFileTypes: true })) {
      const p = join(d, entry.name);
      if (entry.isDirectory()) await walk(p);
      else if (entry.isFile() && entry.name.endsWith('.json')) files.push(p);
    }
  };
  await walk(dir);
  files.sort();
  const batcher = new Batcher(store, progress, dir, now, files.length);
  for (const file of files) {
    signal?.throwIfAborted();
    await batcher.add(await readFile(file, 'utf8'));
  }
  await batcher.flush();
  progress.finish(dir, batcher.counts);
  return batcher.counts;
}

async function importFile(store: VulnDbStore, file: string, label: string, progress: ImportProgress, now: () => number, signal?: AbortSignal): Promise<ImportCounts> {
  const handle = await open(file, 'r');
  const magic = Buffer.alloc(4);
  try {
    await handle.read(magic, 0, 4, 0);
  } finally {
    await handle.close();
  }
  const batcher = new Batcher(store, progress, label, now);
  if (magic.readUInt32LE(0) === 0x04034b50 || magic.readUInt32LE(0) === 0x06054b50) {
    await readZip(file, batcher, signal);
  } else {
    await batcher.add(await readFile(file, 'utf8'));
  }
  await batcher.flush();
  progress.finish(label, batcher.counts);
  return batcher.counts;
}

/** Each `*.json` entry of a zip, read one at a time in storage order: memory stays at one record. */
async function readZip(file: string, batcher: Batcher, signal?: AbortSignal): Promise<void> {
  try {
    await readZipEntries(file, (name) => name.endsWith('.json'), (_name, data) => batcher.add(data.toString('utf8')), {
      // A record is small; an entry of more than 64 MiB is not one (zip bombs).
      maxEntryBytes: 64 * 1024 * 1024,
      onTotal: (n) => batcher.setTotal(n),
      onSkip: () => batcher.skip(),
      ...(signal ? { signal } : {}),
    });
  } catch (err) {
    if (err instanceof ZipError) throw new Error(`${file}: not a readable zip: ${err.message}`);
    throw err;
  }
}

/**
 * Download `url` to a temporary file, with the validators of the last fetch (ETag,
 * Last-Modified) so an unchanged export is not downloaded again.
 */
async function fetchSource(
  store: VulnDbStore,
  url: string,
  opts: ImportOptions,
): Promise<'not-modified' | { file: string; dir: string; etag: string | null; lastModified: string | null }> {
  const last = await store.source(url);
  const headers: Record<string, string> = {};
  if (last?.etag) headers['if-none-match'] = last.etag;
  if (last?.lastModified) headers['if-modified-since'] = last.lastModified;
  const res = await (opts.fetch ?? fetch)(url, { headers, ...(opts.signal ? { signal: opts.signal } : {}) });
  if (res.status === 304) return 'not-modified';
  if (!res.ok || !res.body) throw new Error(`${url}: HTTP ${res.status}`);
  const dir = await mkdtemp(join(tmpdir(), 'berth-vulndb-'));
  const file = join(dir, 'source');
  try {
    await pipeline(Readable.fromWeb(res.body as import('node:stream/web').ReadableStream), createWriteStream(file));
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  return { file, dir, etag: res.headers.get('etag'), lastModified: res.headers.get('last-modified') };
}
