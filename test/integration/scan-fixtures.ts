/**
 * Container images built from the real package databases of shared/vulndata/fixtures, for the
 * scanning tests: tar layers (gzip) holding the fixture files at the paths an image has them,
 * a config with its diff_ids and an OCI image manifest. `writeLayout` writes them as an OCI
 * layout for skopeo; `pushImage` pushes them over the OCI API.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, readdir, stat, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { crc32, deflateRawSync, gzipSync } from 'node:zlib';
import tar from 'tar-stream';
import type { OciTestClient } from '../helpers/oci-client.js';

/** Repository root and the shared test corpus beside it. */
export const REPO_ROOT = new URL('../..', import.meta.url).pathname;
export const VULNDATA = join(REPO_ROOT, '..', 'shared', 'vulndata');

export interface ExpectedFinding {
  fixture: string;
  ecosystem: string;
  package: string;
  installedVersion: string;
  advisoryId: string;
  fixedVersion: string | null;
}

export async function expectedFindings(): Promise<ExpectedFinding[]> {
  return JSON.parse(await readFile(join(VULNDATA, 'expected-findings.json'), 'utf8')) as ExpectedFinding[];
}

/** One file of a layer: its path in the image (no leading slash), its bytes, and its mode (default 0644). */
export interface LayerFile {
  path: string;
  data: Buffer;
  mode?: number;
}

/** The files of a fixture folder, placed under `at` in the image (`''`: as the fixture lays them out). */
export async function fixtureFiles(fixtureDir: string, at = ''): Promise<LayerFile[]> {
  const root = join(VULNDATA, 'fixtures', fixtureDir);
  const out: LayerFile[] = [];
  const walk = async (dir: string): Promise<void> => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const p = join(dir, entry.name);
      if (entry.isDirectory()) await walk(p);
      else if (entry.isFile()) out.push({ path: join(at, relative(root, p)), data: await readFile(p) });
    }
  };
  const info = await stat(root);
  if (info.isDirectory()) await walk(root);
  else out.push({ path: at, data: await readFile(root) });
  return out;
}

/** A tar of `files` (with their parent directories), as a layer has it. */
export async function tarOf(files: readonly LayerFile[]): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  pack.on('data', (c: unknown) => {
    chunks.push(c as Buffer);
  });
  const done = new Promise<void>((resolve, reject) => {
    pack.on('end', resolve);
    pack.on('error', reject);
  });
  const dirs = new Set<string>();
  const mtime = new Date('2024-01-01T00:00:00Z');
  for (const f of files) {
    const parts = f.path.split('/');
    for (let i = 1; i < parts.length; i++) {
      const d = parts.slice(0, i).join('/');
      if (dirs.has(d)) continue;
      dirs.add(d);
      pack.entry({ name: `${d}/`, type: 'directory', mode: 0o755, mtime });
    }
    pack.entry({ name: f.path, size: f.data.length, mode: f.mode ?? 0o644, mtime }, f.data);
  }
  pack.finalize();
  await done;
  return Buffer.concat(chunks);
}

export interface BuiltImage {
  manifest: Buffer;
  manifestDigest: string;
  config: Buffer;
  layers: Buffer[];
  /** Every blob by digest. */
  blobs: Map<string, Buffer>;
}

function sha256(b: Buffer): string {
  return `sha256:${createHash('sha256').update(b).digest('hex')}`;
}

/** An OCI image whose layers hold `layers` (each a list of files), gzip-compressed. */
export async function buildImage(layers: readonly (readonly LayerFile[])[], platform = { os: 'linux', architecture: 'amd64' }): Promise<BuiltImage> {
  const tars = await Promise.all(layers.map(tarOf));
  const gz = tars.map((t) => gzipSync(t, { level: 6 }));
  const config = Buffer.from(
    JSON.stringify({
      created: '2024-01-01T00:00:00Z',
      ...platform,
      config: {},
      rootfs: { type: 'layers', diff_ids: tars.map(sha256) },
      history: tars.map(() => ({ created: '2024-01-01T00:00:00Z', created_by: 'berth scan test' })),
    }),
  );
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(config), size: config.length },
      layers: gz.map((l) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: sha256(l), size: l.length })),
    }),
  );
  const blobs = new Map<string, Buffer>([[sha256(config), config], ...gz.map((l): [string, Buffer] => [sha256(l), l])]);
  return { manifest, manifestDigest: sha256(manifest), config, layers: gz, blobs };
}

/** Write `image` as an OCI layout in `dir`, tagged `tag` (skopeo's `oci:<dir>:<tag>`). */
export async function writeLayout(dir: string, image: BuiltImage, tag: string): Promise<void> {
  await mkdir(join(dir, 'blobs', 'sha256'), { recursive: true });
  await writeFile(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  for (const [digest, data] of [...image.blobs, [image.manifestDigest, image.manifest] as const]) {
    await writeFile(join(dir, 'blobs', 'sha256', digest.slice('sha256:'.length)), data);
  }
  await writeFile(
    join(dir, 'index.json'),
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.index.v1+json',
      manifests: [
        {
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          digest: image.manifestDigest,
          size: image.manifest.length,
          annotations: { 'org.opencontainers.image.ref.name': tag },
        },
      ],
    }),
  );
}

/** Push `image` over the OCI API (blobs, then the manifest under `ref`). */
export async function pushImage(client: OciTestClient, repo: string, ref: string, image: BuiltImage): Promise<string> {
  for (const data of image.blobs.values()) await client.pushBlob(repo, data);
  const res = await client.putManifest(repo, ref, image.manifest, 'application/vnd.oci.image.manifest.v1+json');
  if (res.status !== 201) throw new Error(`push manifest: ${res.status} ${await res.text()}`);
  return image.manifestDigest;
}

/** An Alpine 3.18 image with Python packages, an npm lockfile, a Cargo.lock and jars on top. */
export async function mixedImageLayers(): Promise<LayerFile[][]> {
  return [
    await fixtureFiles('apk/alpine-3.18'),
    await fixtureFiles('python/debian12-site-packages'),
    [
      ...(await fixtureFiles('npm/osv-fix', 'srv/app')),
      ...(await fixtureFiles('rust/net2', 'srv/tool')),
    ],
  ];
}

/** A zip (deflate) of `entries`, as osv.dev's `<Ecosystem>/all.zip` exports are laid out: one `<id>.json` per record. */
export function zipOf(entries: readonly { name: string; data: Buffer }[]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const e of entries) {
    const name = Buffer.from(e.name);
    const packed = deflateRawSync(e.data);
    const crc = crc32(e.data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(0, 6);
    local.writeUInt16LE(8, 8);
    local.writeUInt32LE(0, 10);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(packed.length, 18);
    local.writeUInt32LE(e.data.length, 22);
    local.writeUInt16LE(name.length, 26);
    local.writeUInt16LE(0, 28);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(0, 8);
    central.writeUInt16LE(8, 10);
    central.writeUInt32LE(0, 12);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(packed.length, 20);
    central.writeUInt32LE(e.data.length, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt32LE(offset, 42);
    locals.push(local, name, packed);
    centrals.push(central, name);
    offset += local.length + name.length + packed.length;
  }
  const centralSize = centrals.reduce((n, b) => n + b.length, 0);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(centralSize, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, ...centrals, end]);
}

/** The records of one ecosystem folder of the corpus, as zip entries. */
export async function corpusEntries(folder: string): Promise<{ name: string; data: Buffer }[]> {
  const dir = join(VULNDATA, folder);
  const names = (await readdir(dir)).filter((n) => n.endsWith('.json')).sort();
  return Promise.all(names.map(async (name) => ({ name, data: await readFile(join(dir, name)) })));
}
