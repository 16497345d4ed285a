/**
 * A registry on a temporary folder (SQLite + files), with a clock the test moves, for the unit
 * tests of garbage collection and fsck.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { MediaType, digestOf, parseAccountId, parseRepositoryName, parseTag, type Digest } from '../../src/core/index.js';
import { Registry, type Repository } from '../../src/registry/index.js';
import { FsBlobStore } from '../../src/storage/blobs/index.js';
import { openSqliteMetadata, type MetadataStore } from '../../src/storage/metadata/index.js';
import { GarbageCollector } from '../../src/gc/index.js';

export const HOUR = 3600_000;

export interface Fixture {
  root: string;
  meta: MetadataStore;
  blobs: FsBlobStore;
  registry: Registry;
  gc: GarbageCollector;
  clock: { now: number };
  repo(name: string): Promise<Repository>;
  pushBlob(repo: Repository, data?: Buffer): Promise<{ digest: Digest; size: number }>;
  pushManifest(repo: Repository, tag: string, blobs: readonly { digest: Digest; size: number }[]): Promise<Digest>;
  close(): Promise<void>;
}

export async function openFixture(opts: { blobs?: (root: string) => FsBlobStore } = {}): Promise<Fixture> {
  const root = await mkdtemp(join(tmpdir(), 'berth-gc-'));
  const meta = await openSqliteMetadata(join(root, 'metadata.db'));
  const blobs = opts.blobs?.(root) ?? new FsBlobStore(root);
  await blobs.init();
  const clock = { now: 1_700_000_000_000 };
  const now = () => clock.now;
  const registry = new Registry(meta, blobs, { createOnPush: true, maxManifestBytes: 4 << 20, downloadUrlKey: randomBytes(32), now });
  const gc = new GarbageCollector(meta, blobs, { now });
  const account = parseAccountId('000000000000');
  return {
    root,
    meta,
    blobs,
    registry,
    gc,
    clock,
    repo: (name) => registry.repository(account, parseRepositoryName(name), { forPush: true }),
    async pushBlob(repo, data = randomBytes(100)) {
      const digest = digestOf(data);
      await registry.putBlob(repo, digest, Readable.from([data]), { length: data.length });
      return { digest, size: data.length };
    },
    async pushManifest(repo, tag, refs) {
      const [config, ...layers] = refs;
      const body = Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: MediaType.ociManifest,
          config: { mediaType: MediaType.ociConfig, ...config },
          layers: layers.map((l) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', ...l })),
          annotations: { nonce: randomBytes(4).toString('hex') },
        }),
      );
      return (await registry.putManifest(repo, { kind: 'tag', tag: parseTag(tag) }, body, MediaType.ociManifest)).digest;
    },
    async close() {
      await registry.close();
      await meta.close();
      await rm(root, { recursive: true, force: true });
    },
  };
}
