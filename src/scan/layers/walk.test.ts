import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { detectCompression, walkLayers, type Collector, type LayerSource } from './index.js';
import { layer, layerOf, tarOf } from './test-layers.js';

/** Keep every file under `keep/` (or all files) as text. */
function textWalk(layers: LayerSource[], opts: { maxLayerBytes?: number; layerTimeoutMs?: number; all?: boolean } = {}) {
  return walkLayers<string>(layers, {
    maxLayerBytes: opts.maxLayerBytes ?? 1 << 30,
    layerTimeoutMs: opts.layerTimeoutMs ?? 30_000,
    select(entry): Collector<string> | undefined {
      if (!opts.all && !entry.path.startsWith('keep/')) return undefined;
      const chunks: Buffer[] = [];
      return {
        push(c) {
          chunks.push(c);
          return true;
        },
        finish: () => Buffer.concat(chunks).toString('utf8'),
      };
    },
  });
}

const contents = (files: Map<string, { value: string }>): Record<string, string> =>
  Object.fromEntries([...files].map(([k, v]) => [k, v.value]).sort(([a], [b]) => (a! < b! ? -1 : 1)));

describe('walkLayers', () => {
  it('detects compression by magic bytes, whatever the media type says', async () => {
    expect(detectCompression(gzipSync(Buffer.from('x')))).toBe('gzip');
    expect(detectCompression(Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0]))).toBe('zstd');
    expect(detectCompression(Buffer.from('keep/a'))).toBe('none');
    for (const c of ['gzip', 'zstd', 'none'] as const) {
      const l = await layer([{ path: 'keep/a', content: `via ${c}` }], c);
      const r = await textWalk([{ ...l, mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip' }]);
      expect(r.warnings).toEqual([]);
      expect(contents(r.files)).toEqual({ 'keep/a': `via ${c}` });
    }
  });

  it('applies whiteouts, opaque directories and replacements in layer order', async () => {
    const base = await layer(
      [
        { path: './keep/gone', content: 'deleted later' },
        { path: 'keep/dir/x', content: 'deleted with its directory' },
        { path: 'keep/dir/sub/y', content: 'deleted with its directory' },
        { path: 'keep/opq/old', content: 'hidden by opaque' },
        { path: 'keep/replaced', content: 'v1' },
        { path: 'keep/stays', content: 'untouched' },
        { path: 'keep/becomes-dir', content: 'file then directory' },
        { path: 'keep/tree/z', content: 'replaced by a file' },
      ],
      'gzip',
      700,
    );
    const upper = await layer(
      [
        { path: 'keep/.wh.gone', content: '' },
        { path: 'keep/.wh.dir', content: '' },
        { path: 'keep/opq/.wh..wh..opq', content: '' },
        { path: 'keep/opq/new', content: 'added with opaque' },
        { path: 'keep/replaced', content: 'v2' },
        { path: 'keep/becomes-dir', type: 'directory' },
        { path: 'keep/tree', content: 'now a file' },
      ],
      'zstd',
      333,
    );
    const top = await layer([{ path: '/keep/opq/late', content: 'after opaque, same dir' }], 'none');
    const r = await textWalk([base, upper, top]);
    expect(r.warnings).toEqual([]);
    expect(r.partial).toBe(false);
    expect(r.layersRead).toBe(3);
    expect(contents(r.files)).toEqual({
      'keep/opq/late': 'after opaque, same dir',
      'keep/opq/new': 'added with opaque',
      'keep/replaced': 'v2',
      'keep/stays': 'untouched',
      'keep/tree': 'now a file',
    });
    expect(r.files.get('keep/replaced')?.layerDigest).toBe(upper.digest);
    expect(r.files.get('keep/stays')?.layerDigest).toBe(base.digest);
    expect(r.files.get('keep/opq/late')?.layerIndex).toBe(2);
  });

  it('an opaque marker only hides lower layers, not its own layer', async () => {
    const base = await layer([{ path: 'keep/d/a', content: 'lower' }]);
    const upper = await layer([
      { path: 'keep/d/b', content: 'same layer, before the marker' },
      { path: 'keep/d/.wh..wh..opq', content: '' },
    ]);
    const r = await textWalk([base, upper]);
    expect(contents(r.files)).toEqual({ 'keep/d/b': 'same layer, before the marker' });
  });

  it('a symlink or an unselected file over a kept file shadows it', async () => {
    const base = await layer([
      { path: 'keep/a', content: 'one' },
      { path: 'keep/b', content: 'two' },
    ]);
    const upper = await layer([{ path: 'keep/a', type: 'symlink', linkname: 'b' }]);
    const r = await textWalk([base, upper]);
    expect(contents(r.files)).toEqual({ 'keep/b': 'two' });
  });

  it('follows hard links to kept files', async () => {
    const l = await layer([
      { path: 'keep/a', content: 'linked' },
      { path: 'keep/b', type: 'link', linkname: 'keep/a' },
    ]);
    const r = await textWalk([l]);
    expect(contents(r.files)).toEqual({ 'keep/a': 'linked', 'keep/b': 'linked' });
  });

  it('a truncated gzip layer keeps what was read, warns and marks the result partial', async () => {
    const filler = randomBytes(256 * 1024).toString('base64');
    const whole = gzipSync(
      await tarOf([
        { path: 'keep/first', content: 'before the cut' },
        { path: 'other/big', content: filler },
        { path: 'keep/last', content: 'after the cut' },
      ]),
    );
    const cut = layerOf(whole.subarray(0, Math.floor(whole.length / 2)));
    const next = await layer([{ path: 'keep/next', content: 'a later layer still counts' }]);
    const r = await textWalk([cut, next]);
    expect(r.partial).toBe(true);
    expect(r.warnings).toHaveLength(1);
    expect(r.warnings[0]).toContain(cut.digest);
    expect(r.warnings[0]).toMatch(/unreadable/);
    expect(contents(r.files)).toEqual({ 'keep/first': 'before the cut', 'keep/next': 'a later layer still counts' });
    expect(r.layersRead).toBe(2);
  });

  it('garbage that is neither compressed nor a tar is a warning, not an exception', async () => {
    const r = await textWalk([layerOf(Buffer.from('this is not a tar archive at all'.repeat(40)))]);
    expect(r.partial).toBe(true);
    expect(r.warnings).toHaveLength(1);
    expect(r.files.size).toBe(0);
  });

  it('stops a layer at the decompressed-size cap (an archive bomb) and keeps what came before', async () => {
    const bomb = gzipSync(
      await tarOf([
        { path: 'keep/early', content: 'small' },
        { path: 'zeros', content: Buffer.alloc(8 * 1024 * 1024) },
        { path: 'keep/late', content: 'past the cap' },
      ]),
    );
    expect(bomb.length).toBeLessThan(64 * 1024);
    const r = await textWalk([layerOf(bomb)], { maxLayerBytes: 1024 * 1024 });
    expect(r.partial).toBe(true);
    expect(r.warnings.join()).toMatch(/cap/);
    expect(contents(r.files)).toEqual({ 'keep/early': 'small' });
    expect(r.bytesRead).toBeGreaterThan(1024 * 1024);
    expect(r.bytesRead).toBeLessThan(2 * 1024 * 1024);
  });

  it('stops a layer whose stream stalls at the time budget', async () => {
    const head = (await tarOf([{ path: 'keep/a', content: 'arrived' }])).subarray(0, 1024);
    const stalled: LayerSource = {
      digest: 'sha256:stalled',
      mediaType: 'application/vnd.oci.image.layer.v1.tar',
      size: 10_000,
      async open() {
        return new Readable({
          read() {
            if (!this.readableEnded && !(this as { sent?: boolean }).sent) {
              (this as { sent?: boolean }).sent = true;
              this.push(head);
            }
          },
        });
      },
    };
    const r = await textWalk([stalled], { layerTimeoutMs: 200 });
    expect(r.partial).toBe(true);
    expect(r.warnings.join()).toMatch(/time budget/);
    expect(contents(r.files)).toEqual({ 'keep/a': 'arrived' });
  });

  it('a layer that cannot be opened or whose stream fails is a warning, and later layers are still read', async () => {
    const failing: LayerSource = {
      digest: 'sha256:failing',
      mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip',
      size: 10,
      async open() {
        return new Readable({
          read() {
            this.destroy(new Error('blob store went away'));
          },
        });
      },
    };
    const missing: LayerSource = { ...failing, digest: 'sha256:missing', open: () => Promise.reject(new Error('BLOB_NOT_FOUND')) };
    const ok = await layer([{ path: 'keep/a', content: 'still read' }]);
    const r = await textWalk([failing, missing, ok]);
    expect(r.partial).toBe(true);
    expect(r.warnings).toHaveLength(2);
    expect(r.warnings[0]).toMatch(/sha256:failing: .*blob store went away/);
    expect(r.warnings[1]).toMatch(/sha256:missing: cannot open: BLOB_NOT_FOUND/);
    expect(contents(r.files)).toEqual({ 'keep/a': 'still read' });
    expect(r.layersRead).toBe(3);
  });

  it('stops a layer that never yields a byte at the time budget', async () => {
    const silent: LayerSource = {
      digest: 'sha256:silent',
      mediaType: 'application/vnd.oci.image.layer.v1.tar',
      size: 10,
      async open() {
        return new Readable({ read() {} });
      },
    };
    const r = await textWalk([silent], { layerTimeoutMs: 150 });
    expect(r.partial).toBe(true);
    expect(r.warnings.join()).toMatch(/time budget/);
  });

  it('rejects with the abort reason when the signal aborts mid-layer', async () => {
    const ac = new AbortController();
    const silent: LayerSource = {
      digest: 'sha256:silent',
      mediaType: 'application/vnd.oci.image.layer.v1.tar',
      size: 10,
      async open() {
        setTimeout(() => ac.abort(new Error('cancelled mid-layer')), 50);
        return new Readable({ read() {} });
      },
    };
    await expect(walkLayers([silent], { maxLayerBytes: 1 << 20, layerTimeoutMs: 60_000, signal: ac.signal, select: () => undefined })).rejects.toThrow(
      'cancelled mid-layer',
    );
  });

  it('rejects with the abort reason when the signal aborts', async () => {
    const ac = new AbortController();
    ac.abort(new Error('scan cancelled'));
    const l = await layer([{ path: 'keep/a', content: 'x' }]);
    await expect(walkLayers([l], { maxLayerBytes: 1 << 20, layerTimeoutMs: 10_000, signal: ac.signal, select: () => undefined })).rejects.toThrow(
      'scan cancelled',
    );
  });
});
