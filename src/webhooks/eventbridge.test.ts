import { describe, expect, it } from 'vitest';
import { toEcrEvent } from './eventbridge.js';
import { sign, verifySignature, wants } from './delivery.js';

const AT = Date.parse('2026-11-16T01:54:34.123Z');
const base = { accountId: '123456789012', repository: 'my-repository-name', at: AT };

describe('toEcrEvent', () => {
  it('shapes a push as ECR does (ECR User Guide, sample "completed image push")', () => {
    const e = toEcrEvent({ ...base, type: 'image.pushed', digest: 'sha256:7f5b', mediaType: 'application/vnd.oci.image.manifest.v1+json', artifactType: null, tag: 'latest', created: true }, 'us-west-2');
    expect(e).toMatchObject({
      version: '0',
      'detail-type': 'ECR Image Action',
      source: 'aws.ecr',
      account: '123456789012',
      time: '2026-11-16T01:54:34Z',
      region: 'us-west-2',
      resources: [],
      detail: { result: 'SUCCESS', 'repository-name': 'my-repository-name', 'image-digest': 'sha256:7f5b', 'action-type': 'PUSH', 'image-tag': 'latest' },
    });
  });

  it('omits the tag of a push by digest, and names the first tag of a deleted manifest', () => {
    const push = toEcrEvent({ ...base, type: 'image.pushed', digest: 'sha256:1', mediaType: 'm', artifactType: 'application/vnd.example', created: true }, 'r');
    expect(push!.detail['image-tag']).toBeUndefined();
    expect(push!.detail['artifact-media-type']).toBe('application/vnd.example');
    const del = toEcrEvent({ ...base, type: 'image.deleted', digest: 'sha256:1', tags: ['a', 'b'] }, 'r');
    expect(del!.detail).toEqual({ result: 'SUCCESS', 'repository-name': 'my-repository-name', 'image-digest': 'sha256:1', 'action-type': 'DELETE', 'image-tag': 'a' });
  });

  it('announces nothing for pulls and repository changes', () => {
    expect(toEcrEvent({ ...base, type: 'image.pulled', digest: 'sha256:1', principalArn: 'arn' }, 'r')).toBeUndefined();
    expect(toEcrEvent({ ...base, type: 'repository.created', via: 'API' }, 'r')).toBeUndefined();
  });

  it('maps the capabilities events to their detail-types, failures included', () => {
    expect(toEcrEvent({ ...base, type: 'scan.failed', digest: 'sha256:1', detail: { reason: 'x' } }, 'r')!.detail['scan-status']).toBe('FAILED');
    const rep = toEcrEvent({ ...base, type: 'replication.completed', digest: 'sha256:1', detail: { destinationRegion: 'eu-west-1' } }, 'r');
    expect(rep).toMatchObject({ 'detail-type': 'ECR Replication Action', detail: { result: 'SUCCESS', 'action-type': 'REPLICATE', 'destination-region': 'eu-west-1' } });
    const cache = toEcrEvent({ ...base, type: 'cache.failed', detail: { upstreamRegistryUrl: 'public.ecr.aws' } }, 'r');
    expect(cache).toMatchObject({ 'detail-type': 'ECR Pull Through Cache Action', detail: { 'sync-status': 'FAILED', 'upstream-registry-url': 'public.ecr.aws' } });
    expect(toEcrEvent({ ...base, type: 'lifecycle.expired', digest: 'sha256:1', detail: {} }, 'r')!.detail['action-type']).toBe('EXPIRED');
  });

  it('gives each event its own id', () => {
    const ev = { ...base, type: 'tag.deleted' as const, tag: 't', digest: 'sha256:1' };
    expect(toEcrEvent(ev, 'r')!.id).not.toBe(toEcrEvent(ev, 'r')!.id);
  });
});

describe('webhook signatures', () => {
  const body = '{"a":1}';
  const now = 1_800_000_000_000;
  const ts = now / 1000;

  it('signs <timestamp>.<body> with HMAC-SHA256', () => {
    // echo -n '1800000000.{"a":1}' | openssl dgst -sha256 -hmac key
    expect(sign('key', ts, body)).toMatch(/^sha256=[0-9a-f]{64}$/);
    expect(verifySignature('key', { signature: sign('key', ts, body), timestamp: String(ts) }, body, { now })).toBe(true);
  });

  it('refuses another key, another body, a stale or missing timestamp', () => {
    const signature = sign('key', ts, body);
    expect(verifySignature('other', { signature, timestamp: String(ts) }, body, { now })).toBe(false);
    expect(verifySignature('key', { signature, timestamp: String(ts) }, '{"a":2}', { now })).toBe(false);
    expect(verifySignature('key', { signature, timestamp: String(ts) }, body, { now: now + 301_000 })).toBe(false);
    expect(verifySignature('key', { signature }, body, { now })).toBe(false);
    expect(verifySignature('key', { signature: sign('key', ts + 1, body), timestamp: String(ts) }, body, { now })).toBe(false);
  });

  it('filters by detail-type', () => {
    expect(wants({ url: 'http://x' }, 'ECR Image Scan')).toBe(true);
    expect(wants({ url: 'http://x', events: ['ECR Image Action'] }, 'ECR Image Scan')).toBe(false);
  });
});
