import type { Readable } from 'node:stream';
import { BerthError, isBerthError, parseDigest, parseManifestRef, type RepositoryName } from '../core/index.js';
import type { Repository } from '../registry/index.js';
import type { MetadataStore } from '../storage/metadata/index.js';
import { RegistryClient, isUpstreamError, type UpstreamError } from '../upstream/index.js';
import { admitReplication, type AdmissionDeps } from './admission.js';
import { uploadBlob } from './blob-upload.js';
import { ReplicationFailure, type CopyTarget } from './copier.js';
import { PEER_PREFIX, type PrepareRequest } from './peer-endpoint.js';
import { ReplicationStore } from './store.js';

/**
 * A destination in another account of this deployment: blobs are linked (the bytes are shared by
 * every account, so nothing is copied), manifests go through `Registry.putManifest` with its rules
 * (immutable tags, limits).
 */
export class LocalTarget implements CopyTarget {
  private repo: Repository | undefined;

  constructor(
    private readonly deps: AdmissionDeps & { meta: MetadataStore },
    private readonly source: Repository,
    private readonly destinationAccount: string,
  ) {}

  private get destination(): Repository {
    if (!this.repo) throw new BerthError('INTERNAL', 'replication target used before prepare');
    return this.repo;
  }

  async prepare(digests: readonly string[]): Promise<void> {
    const now = Date.now();
    const { repository } = await admitReplication(this.deps, {
      sourceAccount: this.source.accountId,
      destinationAccount: this.destinationAccount,
      repository: this.source.name,
      now,
    });
    // Changes made at the destination are the source handle's (the job's) doing.
    this.repo = this.source.origin ? { ...repository, origin: this.source.origin } : repository;
    await new ReplicationStore(this.deps.meta).markInbound(repository.accountId, repository.name, digests, now);
  }

  async hasManifest(digest: string): Promise<boolean> {
    return (await this.deps.meta.manifests.existing(this.destination.row.id, [digest])).has(digest);
  }

  async tagged(tag: string): Promise<string | undefined> {
    return this.deps.meta.tags.get(this.destination.row.id, tag);
  }

  async hasBlob(digest: string): Promise<boolean> {
    return (await this.deps.registry.linkedBlobSizes(this.destination, [parseDigest(digest)])).has(digest);
  }

  async copyBlob(digest: string, size: number, open: () => Promise<Readable>, signal: AbortSignal): Promise<number> {
    const d = parseDigest(digest);
    if (await this.deps.registry.mountBlob(this.destination, this.source, d)) return 0;
    await this.deps.registry.putBlob(this.destination, d, await open(), { length: size, signal });
    return size;
  }

  async putManifest(ref: string, body: Buffer, mediaType: string): Promise<{ tagImmutable?: boolean }> {
    try {
      await this.deps.registry.putManifest(this.destination, parseManifestRef(ref), body, mediaType);
      return {};
    } catch (err) {
      if (isBerthError(err, 'TAG_IMMUTABLE')) return { tagImmutable: true };
      if (isBerthError(err, 'LIMIT_EXCEEDED')) throw new ReplicationFailure('DESTINATION_LIMIT_EXCEEDED', err.message, true, { cause: err });
      throw err;
    }
  }
}

/**
 * A destination in a peer deployment (another region), reached over the OCI distribution API with
 * the peer's configured credentials, under `<peer>/_berth/replication/v1/from/<source account>/`
 * (src/replication/peer-endpoint.ts), where the peer decides admission itself (its registry policy).
 * `client` has that prefix as its base URL.
 */
export class PeerTarget implements CopyTarget {
  private readonly path: string;
  private readonly authorization: string;

  constructor(
    private readonly client: RegistryClient,
    private readonly peer: { endpoint: string; accessKeyId: string; secretAccessKey: string },
    private readonly source: { accountId: string; region: string; repository: RepositoryName },
    private readonly destinationAccount: string,
  ) {
    this.path = `${destinationAccount}/${source.repository}`;
    this.authorization = `Basic ${Buffer.from(`${peer.accessKeyId}:${peer.secretAccessKey}`).toString('base64')}`;
  }

  async prepare(digests: readonly string[], signal: AbortSignal): Promise<void> {
    const body: PrepareRequest = {
      sourceRegion: this.source.region,
      registryId: this.destinationAccount,
      repositoryName: this.source.repository,
      digests: [...digests],
    };
    let res: Response;
    try {
      res = await fetch(`${this.peer.endpoint}${PEER_PREFIX}/${this.source.accountId}/prepare`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: this.authorization },
        body: JSON.stringify(body),
        signal: AbortSignal.any([signal, AbortSignal.timeout(30_000)]),
      });
    } catch (err) {
      signal.throwIfAborted();
      throw new ReplicationFailure('DESTINATION_UNREACHABLE', `peer ${this.peer.endpoint} is unreachable: ${(err as Error).message}`, false, { cause: err });
    }
    const text = await res.text().catch(() => '');
    if (res.ok) return;
    let answer: { failureCode?: string; message?: string } = {};
    try {
      answer = JSON.parse(text) as typeof answer;
    } catch {
      // not berth's answer
    }
    const message = `peer ${this.peer.endpoint} refused: ${answer.message ?? text.slice(0, 300)}`;
    if (res.status === 401) throw new ReplicationFailure('DESTINATION_AUTH_FAILED', message, true);
    if (res.status === 403) {
      const code = answer.failureCode === 'REGISTRY_POLICY_DENIED' || answer.failureCode === 'DESTINATION_LIMIT_EXCEEDED' ? answer.failureCode : 'DESTINATION_ACCESS_DENIED';
      throw new ReplicationFailure(code, message, true);
    }
    if (res.status === 404) throw new ReplicationFailure('DESTINATION_REJECTED', `${message} (is ${this.peer.endpoint} a berth with replication?)`, true);
    if (res.status >= 500 || res.status === 429) throw new ReplicationFailure('DESTINATION_UNREACHABLE', message, false);
    throw new ReplicationFailure('DESTINATION_REJECTED', message, true);
  }

  async hasManifest(digest: string, signal: AbortSignal): Promise<boolean> {
    return this.call(async () => (await this.client.headManifest(this.path, digest, undefined, { signal })) !== undefined);
  }

  async tagged(tag: string, signal: AbortSignal): Promise<string | undefined> {
    return this.call(async () => (await this.client.headManifest(this.path, tag, undefined, { signal }))?.digest);
  }

  async hasBlob(digest: string, signal: AbortSignal): Promise<boolean> {
    return this.call(async () => (await this.client.headBlob(this.path, parseDigest(digest), { signal })) !== undefined);
  }

  async copyBlob(digest: string, size: number, open: () => Promise<Readable>, signal: AbortSignal): Promise<number> {
    const d = parseDigest(digest);
    // Another repository of the destination account may hold it already (a shared base layer).
    if (await this.call(() => this.client.mountBlob(this.path, d, this.path, { signal }))) return 0;
    await this.call(() =>
      uploadBlob({ baseUrl: this.client.baseUrl, repository: this.path, digest: d, size, open, authorization: this.authorization, signal }),
    );
    return size;
  }

  async putManifest(ref: string, body: Buffer, mediaType: string, signal: AbortSignal): Promise<{ tagImmutable?: boolean }> {
    try {
      await this.call(() => this.client.putManifest(this.path, ref, body, mediaType, { signal }), true);
      return {};
    } catch (err) {
      if (err instanceof ReplicationFailure && err.code === 'DESTINATION_REJECTED' && /TAG_INVALID/.test(err.message)) return { tagImmutable: true };
      throw err;
    }
  }

  /** Run a client call, turning the peer's refusals into ReplicationFailures. */
  private async call<T>(fn: () => Promise<T>, manifest = false): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (!isUpstreamError(err)) throw err;
      throw peerFailure(err, this.peer.endpoint, manifest);
    }
  }
}

function peerFailure(err: UpstreamError, endpoint: string, manifest: boolean): ReplicationFailure {
  const message = `peer ${endpoint}: ${err.message}`;
  switch (err.kind) {
    case 'UNREACHABLE':
      return new ReplicationFailure('DESTINATION_UNREACHABLE', message, false, { cause: err });
    case 'UNAUTHORIZED':
      return new ReplicationFailure('DESTINATION_AUTH_FAILED', message, true, { cause: err });
    case 'DENIED':
      return new ReplicationFailure(/limit/i.test(err.message) ? 'DESTINATION_LIMIT_EXCEEDED' : 'DESTINATION_ACCESS_DENIED', message, true, { cause: err });
    case 'DIGEST_MISMATCH':
    case 'SIZE_MISMATCH':
      // Bytes damaged on the way: sending them again may work.
      return new ReplicationFailure('DESTINATION_REJECTED', message, false, { cause: err });
    default:
      // A manifest refused because its blobs went missing meanwhile (a collection at the peer) is retried.
      return new ReplicationFailure('DESTINATION_REJECTED', message, manifest ? !/MANIFEST_BLOB_UNKNOWN|BLOB_UNKNOWN/.test(err.message) : true, { cause: err });
  }
}
