/** A file the walker kept, with where it came from. */
export interface FoundFile<T> {
  /** Normalised path inside the image: no leading `/` or `./`. */
  path: string;
  layerIndex: number;
  layerDigest: string;
  value: T;
}

/**
 * The kept files of an image as layers are applied in order: a later layer's entry at the same
 * path replaces an earlier one, `.wh.<name>` deletes `<name>` (and everything below it) from
 * lower layers, `.wh..wh..opq` hides everything below its directory from lower layers.
 */
export class MergedFiles<T> {
  readonly files = new Map<string, FoundFile<T>>();
  /** directory -> number of kept files below it, so deletions only scan when something is there. */
  private readonly below = new Map<string, number>();

  put(file: FoundFile<T>): void {
    this.remove(file.path, Infinity);
    this.files.set(file.path, file);
    for (const dir of ancestors(file.path)) this.below.set(dir, (this.below.get(dir) ?? 0) + 1);
  }

  /** Delete `path` itself, if it came from a layer below `layer`. */
  remove(path: string, layer: number): void {
    const f = this.files.get(path);
    if (f && f.layerIndex < layer) this.drop(f);
  }

  /** Delete `path` and everything under it that came from layers below `layer`. */
  removeTree(path: string, layer: number): void {
    this.remove(path, layer);
    this.removeBelow(path, layer);
  }

  /** Delete everything under directory `dir` ('' for the root) from layers below `layer`. */
  removeBelow(dir: string, layer: number): void {
    if (!this.below.get(dir)) return;
    const prefix = dir === '' ? '' : `${dir}/`;
    for (const f of [...this.files.values()]) {
      if (f.layerIndex < layer && f.path.startsWith(prefix)) this.drop(f);
    }
  }

  private drop(f: FoundFile<T>): void {
    this.files.delete(f.path);
    for (const dir of ancestors(f.path)) {
      const n = (this.below.get(dir) ?? 1) - 1;
      if (n <= 0) this.below.delete(dir);
      else this.below.set(dir, n);
    }
  }
}

function ancestors(path: string): string[] {
  const out = [''];
  let i = path.indexOf('/');
  while (i >= 0) {
    out.push(path.slice(0, i));
    i = path.indexOf('/', i + 1);
  }
  return out;
}

/** Normalise a tar entry name: strip `./` and `/` prefixes, collapse `//`, drop a trailing `/`. */
export function normalizePath(name: string): string {
  let p = name.replace(/\\/g, '/').replace(/\/{2,}/g, '/');
  while (p.startsWith('./') || p.startsWith('/')) p = p.startsWith('./') ? p.slice(2) : p.slice(1);
  if (p.endsWith('/')) p = p.slice(0, -1);
  if (p === '.') return '';
  return p;
}
