import { BerthError, MediaType, isForeignLayer, isIndexMediaType, parseDigest, type Digest } from '../core/index.js';

export interface Descriptor {
  mediaType: string;
  digest: Digest;
  size: number;
  artifactType?: string;
  annotations?: Record<string, string>;
  urls?: string[];
  platform?: Record<string, unknown>;
}

/** What the registry needs to know of a manifest to store it and answer for it. */
export interface ParsedManifest {
  mediaType: string;
  /** Blobs the registry must hold (config and layers; foreign layers excluded). */
  blobs: Descriptor[];
  /** Child manifests of an index. */
  children: Descriptor[];
  /** An image manifest's config and layers (foreign layers included). */
  config?: Descriptor;
  layers: Descriptor[];
  subject?: Descriptor;
  /** `artifactType`, or for an image manifest without one, its config media type (image-spec v1.1, referrers). */
  artifactType?: string;
  annotations?: Record<string, string>;
}

const SUPPORTED = new Set<string>([MediaType.ociManifest, MediaType.ociIndex, MediaType.dockerManifest, MediaType.dockerManifestList]);

/**
 * Parse and check a manifest body as the distribution-spec v1.1 requires for PUT: well-formed JSON,
 * a supported media type that agrees with the Content-Type, well-formed descriptors. Docker schema 1
 * is refused: it is deprecated, unsigned variants are unverifiable, and no current client needs it.
 */
export function parseManifest(body: Buffer, contentType: string | undefined, opts: { requireMediaType?: boolean } = {}): ParsedManifest {
  let doc: unknown;
  try {
    doc = JSON.parse(body.toString('utf8'));
  } catch (err) {
    throw new BerthError('MANIFEST_INVALID', `manifest is not valid JSON: ${(err as Error).message}`);
  }
  if (!isObject(doc)) throw new BerthError('MANIFEST_INVALID', 'manifest must be a JSON object');
  const declaredType = contentType?.split(';')[0]?.trim().toLowerCase();
  if (
    doc['schemaVersion'] === 1 ||
    declaredType === MediaType.dockerSchema1 ||
    declaredType === MediaType.dockerSchema1Signed
  ) {
    throw new BerthError(
      'MANIFEST_INVALID',
      'Docker schema 1 manifests are not supported; push with a current client, which sends Docker schema 2 or OCI',
    );
  }
  if (doc['schemaVersion'] !== 2) throw new BerthError('MANIFEST_INVALID', 'manifest schemaVersion must be 2');

  const bodyType = doc['mediaType'];
  if (bodyType !== undefined && typeof bodyType !== 'string') throw new BerthError('MANIFEST_INVALID', 'mediaType must be a string');
  const generic = declaredType === undefined || declaredType === '' || declaredType === 'application/json' || declaredType === 'application/octet-stream';
  if (bodyType !== undefined && !generic && bodyType !== declaredType) {
    throw new BerthError('MANIFEST_INVALID', `Content-Type ${declaredType} does not match the manifest's mediaType ${bodyType}`);
  }
  let mediaType = bodyType ?? (generic ? undefined : declaredType);
  if (mediaType === undefined && opts.requireMediaType) {
    // ECR PutImage: "imageManifestMediaType must be supplied when the manifest has no mediaType".
    throw new BerthError('MANIFEST_INVALID', 'the manifest has no mediaType; give its media type (imageManifestMediaType)');
  }
  // The OCI door guesses, as distribution does: OCI manifests and indexes may omit mediaType.
  if (mediaType === undefined) mediaType = Array.isArray(doc['manifests']) ? MediaType.ociIndex : MediaType.ociManifest;
  if (!SUPPORTED.has(mediaType)) {
    throw new BerthError('MANIFEST_INVALID', `manifest media type ${mediaType} is not supported; use an OCI or Docker schema 2 manifest or index`);
  }

  const parsed: ParsedManifest = { mediaType, blobs: [], children: [], layers: [] };
  if (isIndexMediaType(mediaType)) {
    const manifests = doc['manifests'];
    if (!Array.isArray(manifests)) throw new BerthError('MANIFEST_INVALID', 'an index must have a "manifests" array');
    parsed.children = manifests.map((d, i) => parseDescriptor(d, `manifests[${i}]`));
    const artifactType = doc['artifactType'];
    if (artifactType !== undefined && typeof artifactType !== 'string') throw new BerthError('MANIFEST_INVALID', 'artifactType must be a string');
    if (artifactType !== undefined) parsed.artifactType = artifactType;
  } else {
    if (doc['config'] === undefined) throw new BerthError('MANIFEST_INVALID', 'an image manifest must have a "config" descriptor');
    const config = parseDescriptor(doc['config'], 'config');
    const layers = doc['layers'];
    if (!Array.isArray(layers)) throw new BerthError('MANIFEST_INVALID', 'an image manifest must have a "layers" array');
    const layerDescriptors = layers.map((d, i) => parseDescriptor(d, `layers[${i}]`));
    parsed.blobs = [config, ...layerDescriptors.filter((d) => !isForeignLayer(d.mediaType, d.urls))];
    parsed.config = config;
    parsed.layers = layerDescriptors;
    const artifactType = doc['artifactType'];
    if (artifactType !== undefined && typeof artifactType !== 'string') throw new BerthError('MANIFEST_INVALID', 'artifactType must be a string');
    if (artifactType === undefined && config.mediaType === MediaType.ociEmpty && mediaType === MediaType.ociManifest) {
      // image-spec v1.1: artifactType MUST be set when config is the empty descriptor.
      throw new BerthError('MANIFEST_INVALID', 'artifactType is required when the config is application/vnd.oci.empty.v1+json');
    }
    parsed.artifactType = artifactType ?? config.mediaType;
  }
  if (doc['subject'] !== undefined) parsed.subject = parseDescriptor(doc['subject'], 'subject');
  if (doc['annotations'] !== undefined) parsed.annotations = parseAnnotations(doc['annotations'], 'annotations');
  return parsed;
}

function parseDescriptor(value: unknown, where: string): Descriptor {
  if (!isObject(value)) throw new BerthError('MANIFEST_INVALID', `${where} must be a descriptor object`);
  const { mediaType, digest, size } = value;
  if (typeof mediaType !== 'string' || mediaType === '') throw new BerthError('MANIFEST_INVALID', `${where}.mediaType must be a string`);
  if (typeof digest !== 'string') throw new BerthError('MANIFEST_INVALID', `${where}.digest must be a string`);
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) {
    throw new BerthError('MANIFEST_INVALID', `${where}.size must be a non-negative integer`);
  }
  let parsedDigest: Digest;
  try {
    parsedDigest = parseDigest(digest);
  } catch (err) {
    throw new BerthError('MANIFEST_INVALID', `${where}.digest: ${(err as Error).message}`);
  }
  const descriptor: Descriptor = { mediaType, digest: parsedDigest, size };
  if (typeof value['artifactType'] === 'string') descriptor.artifactType = value['artifactType'];
  if (value['annotations'] !== undefined) descriptor.annotations = parseAnnotations(value['annotations'], `${where}.annotations`);
  if (Array.isArray(value['urls'])) descriptor.urls = value['urls'].filter((u): u is string => typeof u === 'string');
  if (isObject(value['platform'])) descriptor.platform = value['platform'];
  return descriptor;
}

function parseAnnotations(value: unknown, where: string): Record<string, string> {
  if (!isObject(value) || Object.values(value).some((v) => typeof v !== 'string')) {
    throw new BerthError('MANIFEST_INVALID', `${where} must map strings to strings`);
  }
  return value as Record<string, string>;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
