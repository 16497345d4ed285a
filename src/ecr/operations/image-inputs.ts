import { isDigest, parseTag, type Digest, type Tag } from '../../core/index.js';
import type { ImageId, ImageLookup, ImageStatusFilter, TagStatus } from '../../registry/index.js';
import { constraint, invalid, type Input } from '../validate.js';

/** ECR's `ImageIdentifier` as it came in: either member may be missing. */
export interface EcrImageId {
  imageDigest?: string;
  imageTag?: string;
}

/** ECR's `ImageFailure`: a per-item failure of the batch operations. */
export interface EcrImageFailure {
  imageId: EcrImageId;
  failureCode: string;
  failureReason: string;
}

/** An id as read: valid (ready for the registry) or already a per-item failure. */
export type ReadImageId = { raw: EcrImageId; id: ImageId } | { raw: EcrImageId; failure: EcrImageFailure };

/** Page sizes and batch sizes of the image operations (ECR API reference, section 4 of the spec). */
export const MAX_IMAGE_IDS = 100;

/**
 * Read `imageIds` (1-100 ImageIdentifiers). Shape errors (not a structure, a tag outside 1-300
 * characters, as the model constrains it) fail the request; everything the batch operations
 * report per item (no digest and no tag, a malformed digest or tag) becomes a failure entry, with
 * the failure codes of ECR's ImageFailureCode enum.
 */
export function readImageIds(input: Input, member = 'imageIds'): ReadImageId[] {
  return input.list(member, { min: 1, max: MAX_IMAGE_IDS }).map((item, i): ReadImageId => {
    const where = `${member}.${i + 1}.member`;
    if (typeof item !== 'object' || item === null || Array.isArray(item)) throw invalid(`${where} must be an ImageIdentifier structure`);
    const { imageDigest, imageTag } = item as Record<string, unknown>;
    if (imageDigest !== undefined && imageDigest !== null && typeof imageDigest !== 'string') throw invalid(`${where}.imageDigest must be a string`);
    if (imageTag !== undefined && imageTag !== null && typeof imageTag !== 'string') throw invalid(`${where}.imageTag must be a string`);
    if (typeof imageTag === 'string' && (imageTag.length < 1 || imageTag.length > 300)) {
      throw constraint(`${where}.imageTag`, imageTag, 'Member must have length between 1 and 300');
    }
    const raw: EcrImageId = {
      ...(typeof imageDigest === 'string' ? { imageDigest } : {}),
      ...(typeof imageTag === 'string' ? { imageTag } : {}),
    };
    const fail = (failureCode: string, failureReason: string): ReadImageId => ({ raw, failure: { imageId: raw, failureCode, failureReason } });
    if (raw.imageDigest !== undefined && !isDigest(raw.imageDigest)) {
      return fail('InvalidImageDigest', `Invalid request parameters: image digest '${clip(raw.imageDigest)}' is not a sha256 or sha512 digest`);
    }
    const digest = raw.imageDigest as Digest | undefined;
    if (raw.imageTag === undefined) {
      if (digest === undefined) return fail('MissingDigestAndTag', 'Invalid request parameters: both tag and digest cannot be null');
      return { raw, id: { kind: 'digest', digest } };
    }
    let tag: Tag;
    try {
      tag = parseTag(raw.imageTag);
    } catch {
      return fail('InvalidImageTag', `Invalid request parameters: image tag '${clip(raw.imageTag)}' is not a valid tag`);
    }
    return { raw, id: { kind: 'tag', tag, ...(digest !== undefined ? { digest } : {}) } };
  });
}

/** The failure entry for an id the registry could not resolve. */
export function lookupFailure(raw: EcrImageId, lookup: Extract<ImageLookup, { ok: false }>): EcrImageFailure {
  return lookup.reason === 'tag-digest-mismatch'
    ? { imageId: raw, failureCode: 'ImageTagDoesNotMatchDigest', failureReason: 'Invalid request parameters: the image tag does not point at the image digest given' }
    : { imageId: raw, failureCode: 'ImageNotFound', failureReason: 'Requested image not found' };
}

/** `{imageDigest:'…', imageTag:'…'}` as ECR writes an image id into messages. */
export function describeImageId(raw: EcrImageId): string {
  return `{imageDigest:'${raw.imageDigest ?? 'null'}', imageTag:'${raw.imageTag ?? 'null'}'}`;
}

function clip(s: string): string {
  return s.length > 100 ? `${s.slice(0, 100)}...` : s;
}

/**
 * `filter` of ListImages and DescribeImages: `tagStatus` (TAGGED, UNTAGGED, ANY; default ANY) and
 * `imageStatus` (ACTIVE, ARCHIVED, ACTIVATING, ANY; default ACTIVE: archived images are hidden
 * unless asked for, see src/lifecycle/).
 */
export function readImageFilter(input: Input): { tagStatus: TagStatus; imageStatus: ImageStatusFilter } {
  const filter = input.optionalObject('filter');
  const tagStatus = filter?.optionalEnum('tagStatus', ['TAGGED', 'UNTAGGED', 'ANY'] as const) ?? 'ANY';
  const imageStatus = filter?.optionalEnum('imageStatus', ['ACTIVE', 'ARCHIVED', 'ACTIVATING', 'ANY'] as const) ?? 'ACTIVE';
  return { tagStatus, imageStatus };
}
