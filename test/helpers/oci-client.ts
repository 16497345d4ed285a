import { createHash, randomBytes } from 'node:crypto';

/** A minimal OCI Distribution client for tests: plain fetch, every response returned for assertions. */
export class OciTestClient {
  constructor(
    readonly baseUrl: string,
    readonly authorization?: string,
  ) {}

  request(method: string, path: string, init: { body?: Buffer | string | Uint8Array | ReadableStream<Uint8Array>; headers?: Record<string, string> } = {}): Promise<Response> {
    const headers: Record<string, string> = { ...(this.authorization ? { authorization: this.authorization } : {}), ...init.headers };
    const url = path.startsWith('http') ? path : `${this.baseUrl}${path}`;
    return fetch(url, { method, headers, ...(init.body !== undefined ? { body: init.body, duplex: 'half' } : {}) } as RequestInit);
  }

  /** Monolithic POST ?digest=. */
  async pushBlob(repo: string, data: Buffer): Promise<string> {
    const digest = sha256(data);
    const res = await this.request('POST', `/v2/${repo}/blobs/uploads/?digest=${digest}`, {
      body: data,
      headers: { 'content-type': 'application/octet-stream' },
    });
    if (res.status !== 201) throw new Error(`push blob: ${res.status} ${await res.text()}`);
    return digest;
  }

  async putManifest(repo: string, ref: string, manifest: object | Buffer, mediaType?: string): Promise<Response> {
    const body = Buffer.isBuffer(manifest) ? manifest : Buffer.from(JSON.stringify(manifest));
    const type = mediaType ?? (manifest as { mediaType?: string }).mediaType ?? 'application/vnd.oci.image.manifest.v1+json';
    return this.request('PUT', `/v2/${repo}/manifests/${ref}`, { body, headers: { 'content-type': type } });
  }

  /** Push a config and `layers` random layers, then an OCI image manifest; returns its digest and body. */
  async pushImage(repo: string, ref: string, opts: { layers?: number; extra?: object } = {}): Promise<{ digest: string; body: Buffer; layers: string[] }> {
    const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] }, nonce: randomBytes(8).toString('hex') }));
    const configDigest = await this.pushBlob(repo, config);
    const layers: { digest: string; size: number }[] = [];
    for (let i = 0; i < (opts.layers ?? 1); i++) {
      const data = randomBytes(1024 + i);
      layers.push({ digest: await this.pushBlob(repo, data), size: data.length });
    }
    const manifest = {
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: configDigest, size: config.length },
      layers: layers.map((l) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', ...l })),
      ...opts.extra,
    };
    const body = Buffer.from(JSON.stringify(manifest));
    const res = await this.putManifest(repo, ref, body, manifest.mediaType);
    if (res.status !== 201) throw new Error(`push manifest: ${res.status} ${await res.text()}`);
    return { digest: sha256(body), body, layers: layers.map((l) => l.digest) };
  }
}

export function sha256(data: Buffer | string): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}
