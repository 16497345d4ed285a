import type { Collector } from '../layers/index.js';
import type { Package } from './types.js';
import type { ReaderId } from './catalog.js';
import { isElf } from './readers/elf.js';
import { GO_BUILDINFO_MAGIC, goBinaryPackages, isInlineHeader, parseInlineBuildInfo, readGoBinary, validHeader } from './readers/go.js';
import { readJavaArchive } from './readers/java.js';

/** What the walker keeps for a path: raw bytes for a reader, or packages already read. */
export type Kept =
  | { kind: 'file'; reader: ReaderId; data: Buffer }
  | { kind: 'packages'; packages: Package[]; warnings: string[]; reader?: ReaderId };

/** Holds a whole (size-checked) file in memory. */
export class BufferCollector implements Collector<Kept> {
  private readonly chunks: Buffer[] = [];
  private length = 0;
  private over = false;

  /**
   * With `parse`, the file is turned into packages as soon as it is complete, so only the (small)
   * packages are kept while later layers are read, not the bytes.
   */
  constructor(
    private readonly reader: ReaderId,
    private readonly maxBytes: number,
    private readonly parse?: (data: Buffer) => Kept,
  ) {}

  push(chunk: Buffer): boolean {
    this.length += chunk.length;
    if (this.length > this.maxBytes) {
      this.over = true;
      this.chunks.length = 0;
      return false;
    }
    this.chunks.push(chunk);
    return true;
  }

  finish(): Kept | undefined {
    if (this.over) return undefined;
    const data = Buffer.concat(this.chunks, this.length);
    this.chunks.length = 0;
    return this.parse ? this.parse(data) : { kind: 'file', reader: this.reader, data };
  }
}

/** Holds a Java archive, then reads its Maven identities (and nested archives) with yauzl. */
export class ArchiveCollector implements Collector<Kept> {
  private readonly inner: BufferCollector;

  constructor(
    private readonly path: string,
    maxBytes: number,
  ) {
    this.inner = new BufferCollector('pom', maxBytes);
  }

  push(chunk: Buffer): boolean {
    return this.inner.push(chunk);
  }

  async finish(): Promise<Kept | undefined> {
    const held = this.inner.finish();
    if (!held || held.kind !== 'file') return undefined;
    const warnings: string[] = [];
    try {
      const packages = await readJavaArchive(held.data, this.path, { maxNestedBytes: 64 * 1024 * 1024, maxDepth: 3 }, warnings);
      return { kind: 'packages', packages, warnings };
    } catch (err) {
      return { kind: 'packages', packages: [], warnings: [`${this.path}: not a readable archive (${(err as Error).message})`] };
    }
  }
}

/** Bytes kept after the build-info magic: far more than any module list needs. */
const BUILDINFO_CAPTURE = 512 * 1024;
const HEADER = 32;
/** Where a Go ELF keeps its `.note.go.buildid` (right after the program headers). */
const NOTE_WINDOW = 64 * 1024;
/** Largest pre-1.18 Go binary held whole to resolve its pointer-format build info. */
const HOLD_MAX = 128 * 1024 * 1024;
const GO_NOTE_NAME = Buffer.from('Go\0\0', 'latin1');

/** Whether `head` holds an ELF note named "Go" of type 4 (the Go build ID), in either byte order. */
export function hasGoBuildIdNote(head: Buffer): boolean {
  let i = head.indexOf(GO_NOTE_NAME, 12);
  while (i >= 12) {
    if ((head.readUInt32LE(i - 12) === 4 && head.readUInt32LE(i - 4) === 4) || (head.readUInt32BE(i - 12) === 4 && head.readUInt32BE(i - 4) === 4)) return true;
    i = head.indexOf(GO_NOTE_NAME, i + 1);
  }
  return false;
}

/**
 * Streams an executable looking for Go build info: checks the ELF magic, scans for the
 * `.go.buildinfo` header across chunk boundaries, then keeps only the bytes after it (inline
 * format, Go >= 1.18). A binary that carries a Go build-ID note is also held whole (up to
 * 128 MiB) until its header shows the format: binaries built before Go 1.18 store pointers
 * instead of strings, and those are resolved through the ELF program headers at the end. Other
 * executables are never held.
 */
export class GoBinaryCollector implements Collector<Kept> {
  private checked = false;
  private headParts: Buffer[] = [];
  private headBytes = 0;
  private state: 'scan' | 'capture' = 'scan';
  private pending: Buffer = Buffer.alloc(0);
  private readonly captured: Buffer[] = [];
  private capturedBytes = 0;
  private pointerFormat = false;
  private held: Buffer[] | undefined = [];
  private heldBytes = 0;
  private goNote: boolean | undefined;

  constructor(private readonly path: string) {}

  push(chunk: Buffer): boolean {
    if (!this.checked) {
      this.headParts.push(chunk);
      this.headBytes += chunk.length;
      if (this.headBytes < 4) return true;
      const head = this.headParts.length === 1 ? chunk : Buffer.concat(this.headParts);
      this.headParts = [];
      if (!isElf(head)) {
        this.held = undefined;
        return false;
      }
      this.checked = true;
      chunk = head;
    }
    this.hold(chunk);
    if (this.state === 'capture') {
      this.captured.push(chunk);
      this.capturedBytes += chunk.length;
      return this.capturedBytes < BUILDINFO_CAPTURE;
    }
    return this.scan(this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk);
  }

  private hold(chunk: Buffer): void {
    if (!this.held) return;
    this.held.push(chunk);
    this.heldBytes += chunk.length;
    if (this.goNote === undefined && this.heldBytes >= NOTE_WINDOW) this.decideNote();
    if (this.held && this.heldBytes > HOLD_MAX) this.held = undefined;
  }

  private decideNote(): void {
    if (!this.held) return;
    const all = Buffer.concat(this.held, this.heldBytes);
    this.goNote = hasGoBuildIdNote(all.subarray(0, NOTE_WINDOW));
    this.held = this.goNote ? [all] : undefined;
  }

  private scan(buf: Buffer): boolean {
    let from = 0;
    for (;;) {
      const i = buf.indexOf(GO_BUILDINFO_MAGIC, from);
      if (i < 0) {
        this.pending = Buffer.from(buf.subarray(Math.max(0, buf.length - (GO_BUILDINFO_MAGIC.length - 1))));
        return true;
      }
      if (buf.length - i < HEADER) {
        this.pending = Buffer.from(buf.subarray(i));
        return true;
      }
      if (validHeader(buf, i)) {
        if (isInlineHeader(buf, i)) {
          this.state = 'capture';
          this.pending = Buffer.alloc(0);
          this.held = undefined; // the inline format needs nothing before the header
          const rest = Buffer.from(buf.subarray(i));
          this.captured.push(rest);
          this.capturedBytes = rest.length;
          return this.capturedBytes < BUILDINFO_CAPTURE;
        }
        this.pointerFormat = true;
      }
      from = i + 1;
    }
  }

  finish(): Kept | undefined {
    if (this.state === 'capture') {
      const info = parseInlineBuildInfo(Buffer.concat(this.captured, this.capturedBytes));
      if (!info) return { kind: 'packages', packages: [], warnings: [`${this.path}: Go build info is truncated`] };
      return { kind: 'packages', packages: goBinaryPackages(info), warnings: [] };
    }
    if (!this.pointerFormat) return undefined;
    if (this.goNote === undefined) this.decideNote();
    if (this.held) {
      const file = Buffer.concat(this.held, this.heldBytes);
      this.held = undefined;
      let info: ReturnType<typeof readGoBinary>;
      try {
        info = readGoBinary(file);
      } catch {
        info = undefined;
      }
      if (info) return { kind: 'packages', packages: goBinaryPackages(info), warnings: [] };
    }
    return {
      kind: 'packages',
      packages: [],
      warnings: [`${this.path}: Go binary built before Go 1.18 whose build info could not be resolved (no Go build-ID note, damaged, or over 128 MiB)`],
    };
  }
}
