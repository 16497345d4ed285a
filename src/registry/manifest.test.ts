import { describe, expect, it } from 'vitest';
import { BerthError, MediaType, digestOf } from '../core/index.js';
import { parseManifest, type ParsedManifest } from './manifest.js';

const CONFIG = { mediaType: MediaType.ociConfig, digest: digestOf('config'), size: 6 };
const LAYER = { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: digestOf('layer'), size: 5 };
const LAYER2 = { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: digestOf('layer2'), size: 6 };
const CHILD = { mediaType: MediaType.ociManifest, digest: digestOf('child'), size: 100, platform: { architecture: 'amd64', os: 'linux' } };
const DOCKER_CONFIG = { mediaType: 'application/vnd.docker.container.image.v1+json', digest: digestOf('dconfig'), size: 7 };
const DOCKER_LAYER = { mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip', digest: digestOf('dlayer'), size: 6 };

function ociManifest(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { schemaVersion: 2, mediaType: MediaType.ociManifest, config: CONFIG, layers: [LAYER, LAYER2], ...extra };
}

function ociIndex(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [CHILD], ...extra };
}

function parse(doc: unknown, contentType: string | undefined): ParsedManifest {
  return parseManifest(Buffer.from(typeof doc === 'string' ? doc : JSON.stringify(doc)), contentType);
}

function invalid(doc: unknown, contentType: string | undefined): BerthError {
  try {
    parse(doc, contentType);
  } catch (err) {
    expect(err).toBeInstanceOf(BerthError);
    expect((err as BerthError).code).toBe('MANIFEST_INVALID');
    return err as BerthError;
  }
  throw new Error('expected MANIFEST_INVALID');
}

describe('accepted manifests', () => {
  it('an OCI image manifest: config and layers are its blobs, artifactType is the config type', () => {
    const parsed = parse(ociManifest(), MediaType.ociManifest);
    expect(parsed.mediaType).toBe(MediaType.ociManifest);
    expect(parsed.blobs).toEqual([CONFIG, LAYER, LAYER2]);
    expect(parsed.children).toEqual([]);
    expect(parsed.artifactType).toBe(MediaType.ociConfig);
    expect(parsed.subject).toBeUndefined();
    expect(parsed.annotations).toBeUndefined();
  });

  it('an OCI index: its manifests are children, not blobs', () => {
    const parsed = parse(ociIndex(), MediaType.ociIndex);
    expect(parsed.mediaType).toBe(MediaType.ociIndex);
    expect(parsed.blobs).toEqual([]);
    expect(parsed.children).toEqual([CHILD]);
    expect(parsed.artifactType).toBeUndefined();
  });

  it('a Docker v2 manifest', () => {
    const doc = { schemaVersion: 2, mediaType: MediaType.dockerManifest, config: DOCKER_CONFIG, layers: [DOCKER_LAYER] };
    const parsed = parse(doc, MediaType.dockerManifest);
    expect(parsed.mediaType).toBe(MediaType.dockerManifest);
    expect(parsed.blobs).toEqual([DOCKER_CONFIG, DOCKER_LAYER]);
    expect(parsed.artifactType).toBe(DOCKER_CONFIG.mediaType);
  });

  it('a Docker manifest list', () => {
    const child = { ...CHILD, mediaType: MediaType.dockerManifest };
    const doc = { schemaVersion: 2, mediaType: MediaType.dockerManifestList, manifests: [child] };
    const parsed = parse(doc, MediaType.dockerManifestList);
    expect(parsed.mediaType).toBe(MediaType.dockerManifestList);
    expect(parsed.children).toEqual([child]);
    expect(parsed.blobs).toEqual([]);
  });

  it('an image manifest with no layers', () => {
    expect(parse(ociManifest({ layers: [] }), MediaType.ociManifest).blobs).toEqual([CONFIG]);
  });

  it('an empty index', () => {
    expect(parse(ociIndex({ manifests: [] }), MediaType.ociIndex).children).toEqual([]);
  });

  it.each([
    ['a charset parameter', `${MediaType.ociManifest}; charset=utf-8`],
    ['upper case', MediaType.ociManifest.toUpperCase()],
    ['surrounding spaces', `  ${MediaType.ociManifest}  `],
  ])('a Content-Type with %s', (_label, contentType) => {
    expect(parse(ociManifest(), contentType).mediaType).toBe(MediaType.ociManifest);
  });

  it.each([
    ['no Content-Type', undefined],
    ['an empty Content-Type', ''],
    ['application/json', 'application/json'],
    ['application/octet-stream', 'application/octet-stream'],
  ])('the body mediaType decides under %s', (_label, contentType) => {
    expect(parse(ociIndex(), contentType).mediaType).toBe(MediaType.ociIndex);
    const docker = { schemaVersion: 2, mediaType: MediaType.dockerManifest, config: DOCKER_CONFIG, layers: [] };
    expect(parse(docker, contentType).mediaType).toBe(MediaType.dockerManifest);
  });

  it('the Content-Type decides when the body has no mediaType', () => {
    const { mediaType: _drop, ...body } = { schemaVersion: 2, mediaType: MediaType.dockerManifest, config: DOCKER_CONFIG, layers: [] };
    expect(parse(body, MediaType.dockerManifest).mediaType).toBe(MediaType.dockerManifest);
  });

  it('the shape decides when neither names a type', () => {
    const { mediaType: _a, ...image } = ociManifest();
    const { mediaType: _b, ...index } = ociIndex();
    expect(parse(image, undefined).mediaType).toBe(MediaType.ociManifest);
    expect(parse(index, 'application/json').mediaType).toBe(MediaType.ociIndex);
  });
});

describe('Docker schema 1 is refused, mentioning schema 1', () => {
  const schema1 = { schemaVersion: 1, name: 'library/x', tag: 'latest', architecture: 'amd64', fsLayers: [], history: [] };

  it.each([
    ['by schemaVersion, no Content-Type', schema1, undefined],
    ['by schemaVersion, generic Content-Type', schema1, 'application/json'],
    ['by schemaVersion, schema 1 Content-Type', schema1, MediaType.dockerSchema1],
    ['by Content-Type v1+json with a schema 2 body', ociManifest({ mediaType: undefined }), MediaType.dockerSchema1],
    ['by Content-Type v1+prettyjws', schema1, MediaType.dockerSchema1Signed],
    ['by Content-Type with a parameter', ociManifest({ mediaType: undefined }), `${MediaType.dockerSchema1Signed}; charset=utf-8`],
  ])('%s', (_label, doc, contentType) => {
    expect(invalid(doc, contentType).message).toMatch(/schema 1/i);
  });
});

describe('media type checks', () => {
  it.each([
    ['an OCI manifest sent as an index', ociManifest(), MediaType.ociIndex],
    ['an OCI index sent as a manifest', ociIndex(), MediaType.ociManifest],
    ['an OCI manifest sent as Docker', ociManifest(), MediaType.dockerManifest],
    ['an OCI manifest sent as text/plain', ociManifest(), 'text/plain'],
  ])('rejects %s, naming both types', (_label, doc, contentType) => {
    const message = invalid(doc, contentType).message;
    expect(message).toContain(contentType);
    expect(message).toContain(String(doc['mediaType']));
  });

  it.each([
    ['an OCI artifact manifest (withdrawn from image-spec 1.1)', 'application/vnd.oci.artifact.manifest.v1+json'],
    ['a config media type', MediaType.ociConfig],
    ['an arbitrary type', 'application/x-anything'],
  ])('rejects %s', (_label, mediaType) => {
    expect(invalid(ociManifest({ mediaType }), undefined).message).toContain(mediaType);
  });

  it('rejects an unsupported Content-Type when the body names no type', () => {
    const { mediaType: _drop, ...body } = ociManifest();
    expect(invalid(body, 'text/plain').message).toContain('text/plain');
  });

  it('rejects a mediaType that is not a string', () => {
    invalid(ociManifest({ mediaType: 2 }), undefined);
  });
});

describe('malformed bodies', () => {
  it.each([
    ['empty', ''],
    ['truncated JSON', '{"schemaVersion": 2,'],
    ['not JSON', 'hello'],
    ['JSON null', 'null'],
    ['a JSON array', '[]'],
    ['a JSON string', '"manifest"'],
    ['a JSON number', '2'],
  ])('rejects %s', (_label, body) => {
    invalid(body, MediaType.ociManifest);
  });

  it.each([
    ['missing', { schemaVersion: undefined }],
    ['3', { schemaVersion: 3 }],
    ['a string', { schemaVersion: '2' }],
  ])('rejects schemaVersion %s', (_label, extra) => {
    invalid(ociManifest(extra), MediaType.ociManifest);
  });

  it('rejects an image manifest without config', () => {
    invalid(ociManifest({ config: undefined }), MediaType.ociManifest);
  });

  it('rejects an image manifest without a layers array', () => {
    invalid(ociManifest({ layers: undefined }), MediaType.ociManifest);
    invalid(ociManifest({ layers: LAYER }), MediaType.ociManifest);
  });

  it('rejects an index without a manifests array', () => {
    invalid(ociIndex({ manifests: undefined }), MediaType.ociIndex);
    invalid(ociIndex({ manifests: CHILD }), MediaType.ociIndex);
    invalid({ schemaVersion: 2, mediaType: MediaType.dockerManifestList }, MediaType.dockerManifestList);
  });
});

describe('descriptors', () => {
  const bad: [string, unknown][] = [
    ['not an object', 'sha256:abc'],
    ['null', null],
    ['an array', [LAYER]],
    ['no mediaType', { digest: LAYER.digest, size: 1 }],
    ['an empty mediaType', { ...LAYER, mediaType: '' }],
    ['a numeric mediaType', { ...LAYER, mediaType: 7 }],
    ['no digest', { mediaType: LAYER.mediaType, size: 1 }],
    ['a numeric digest', { ...LAYER, digest: 5 }],
    ['a short digest', { ...LAYER, digest: 'sha256:abc' }],
    ['an uppercase digest', { ...LAYER, digest: LAYER.digest.toUpperCase() }],
    ['an unknown digest algorithm', { ...LAYER, digest: `md5:${'a'.repeat(32)}` }],
    ['no size', { mediaType: LAYER.mediaType, digest: LAYER.digest }],
    ['a negative size', { ...LAYER, size: -1 }],
    ['a fractional size', { ...LAYER, size: 1.5 }],
    ['a string size', { ...LAYER, size: '5' }],
    ['an unsafe integer size', { ...LAYER, size: 2 ** 53 }],
    ['non-string annotations', { ...LAYER, annotations: { a: 1 } }],
  ];

  it.each(bad)('rejects a layer with %s, naming where', (_label, layer) => {
    expect(invalid(ociManifest({ layers: [LAYER, layer] }), MediaType.ociManifest).message).toContain('layers[1]');
  });

  it.each(bad)('rejects a config with %s', (_label, config) => {
    expect(invalid(ociManifest({ config }), MediaType.ociManifest).message).toContain('config');
  });

  it.each(bad)('rejects an index entry with %s', (_label, child) => {
    expect(invalid(ociIndex({ manifests: [CHILD, child] }), MediaType.ociIndex).message).toContain('manifests[1]');
  });

  it.each(bad)('rejects a subject with %s', (_label, subject) => {
    expect(invalid(ociManifest({ subject }), MediaType.ociManifest).message).toContain('subject');
  });

  it('accepts size 0 and a sha512 digest', () => {
    const layer = { mediaType: LAYER.mediaType, digest: digestOf('', 'sha512'), size: 0 };
    expect(parse(ociManifest({ layers: [layer] }), MediaType.ociManifest).blobs).toEqual([CONFIG, layer]);
  });

  it('keeps artifactType, annotations, urls and platform of a descriptor', () => {
    const child = { ...CHILD, artifactType: 'application/x-sbom', annotations: { 'org.example': 'v' } };
    const [parsed] = parse(ociIndex({ manifests: [child] }), MediaType.ociIndex).children;
    expect(parsed).toEqual(child);
  });
});

describe('foreign layers', () => {
  const urls = ['https://example.com/layer'];
  it.each([
    ['a Docker foreign layer', 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip'],
    ['an OCI non-distributable layer', 'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip'],
  ])('excludes %s with urls from the blobs', (_label, mediaType) => {
    const foreign = { mediaType, digest: digestOf('foreign'), size: 9, urls };
    const parsed = parse(ociManifest({ layers: [LAYER, foreign, LAYER2] }), MediaType.ociManifest);
    expect(parsed.blobs).toEqual([CONFIG, LAYER, LAYER2]);
  });

  it('keeps a foreign-typed layer without urls (the registry must hold it)', () => {
    const foreign = { mediaType: 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip', digest: digestOf('f'), size: 1 };
    expect(parse(ociManifest({ layers: [foreign] }), MediaType.ociManifest).blobs).toEqual([CONFIG, foreign]);
  });

  it('keeps an ordinary layer that has urls', () => {
    const layer = { ...LAYER, urls };
    expect(parse(ociManifest({ layers: [layer] }), MediaType.ociManifest).blobs).toEqual([CONFIG, layer]);
  });

  it('still checks the digest of a foreign layer', () => {
    const foreign = { mediaType: 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip', digest: 'sha256:nope', size: 1, urls };
    invalid(ociManifest({ layers: [foreign] }), MediaType.ociManifest);
  });
});

describe('subject and artifactType', () => {
  const subject = { mediaType: MediaType.ociManifest, digest: digestOf('subject'), size: 321 };
  const empty = { mediaType: MediaType.ociEmpty, digest: digestOf('{}'), size: 2 };

  it('reads the subject of an image manifest', () => {
    expect(parse(ociManifest({ subject }), MediaType.ociManifest).subject).toEqual(subject);
  });

  it('reads the subject and artifactType of an index', () => {
    const parsed = parse(ociIndex({ subject, artifactType: 'application/x-bundle' }), MediaType.ociIndex);
    expect(parsed.subject).toEqual(subject);
    expect(parsed.artifactType).toBe('application/x-bundle');
  });

  it('prefers artifactType over the config media type', () => {
    expect(parse(ociManifest({ artifactType: 'application/x-sig' }), MediaType.ociManifest).artifactType).toBe('application/x-sig');
  });

  it('accepts an artifact: empty config with artifactType', () => {
    const parsed = parse(ociManifest({ config: empty, layers: [empty], artifactType: 'application/spdx+json', subject }), MediaType.ociManifest);
    expect(parsed.artifactType).toBe('application/spdx+json');
    expect(parsed.blobs).toEqual([empty, empty]);
  });

  it('rejects an empty config without artifactType, naming the rule', () => {
    const message = invalid(ociManifest({ config: empty, layers: [empty] }), MediaType.ociManifest).message;
    expect(message).toMatch(/artifactType/);
    expect(message).toContain(MediaType.ociEmpty);
  });

  it('rejects an image manifest artifactType that is not a string', () => {
    invalid(ociManifest({ artifactType: 42 }), MediaType.ociManifest);
  });

  it('rejects an index artifactType that is not a string, as it does for an image manifest', () => {
    invalid(ociIndex({ artifactType: 42 }), MediaType.ociIndex);
  });
});

describe('annotations', () => {
  it('keeps string-to-string annotations', () => {
    const annotations = { 'org.opencontainers.image.created': '2024-01-01T00:00:00Z', empty: '' };
    expect(parse(ociManifest({ annotations }), MediaType.ociManifest).annotations).toEqual(annotations);
    expect(parse(ociIndex({ annotations }), MediaType.ociIndex).annotations).toEqual(annotations);
  });

  it.each([
    ['a number value', { a: 1 }],
    ['a boolean value', { a: true }],
    ['a null value', { a: null }],
    ['an object value', { a: { b: 'c' } }],
    ['a list value', { a: ['b'] }],
    ['a list', ['a']],
    ['a string', 'a=b'],
    ['null', null],
  ])('rejects annotations with %s', (_label, annotations) => {
    expect(invalid(ociManifest({ annotations }), MediaType.ociManifest).message).toMatch(/annotations/);
    invalid(ociIndex({ annotations }), MediaType.ociIndex);
  });
});
