import type { Digest, Tag } from '../core/index.js';
import type { ImageIdRow, ImageStatusFilter, ManifestInfo, ManifestRow, MetadataStore, TagStatus } from '../storage/metadata/index.js';
import type { Repository } from './registry.js';

export type { TagStatus, ImageStatusFilter };

/** An image as ECR names one: by digest, or by tag (with its digest too, the tag must point at it). */
export type ImageId = { kind: 'digest'; digest: Digest } | { kind: 'tag'; tag: Tag; digest?: Digest };

/** What an image id resolved to. */
export type ImageLookup = { ok: true; digest: Digest } | { ok: false; reason: 'not-found' | 'tag-digest-mismatch' };

/** A stored manifest with the tags that point at it (one ECR ImageDetail). */
export interface ImageInfo extends ManifestInfo {
  tags: string[];
}

/**
 * Read-only views of a repository's images, as the ECR inventory operations need them
 * (DescribeImages, ListImages, BatchGetImage, ListImageReferrers). Listings use keyset pages, so a
 * walk through them neither repeats nor skips an image that stays put meanwhile. Safe to call
 * concurrently with anything.
 */
export class ImageInventory {
  constructor(private readonly meta: MetadataStore) {}

  /** Resolve each id to a stored manifest's digest, in the order given. */
  async resolve(repo: Repository, ids: readonly ImageId[]): Promise<ImageLookup[]> {
    const tags = await this.meta.tags.getMany(
      repo.row.id,
      ids.flatMap((id) => (id.kind === 'tag' ? [id.tag] : [])),
    );
    const byDigest = ids.flatMap((id) => (id.kind === 'digest' ? [id.digest] : []));
    const present = await this.meta.manifests.existing(repo.row.id, byDigest);
    return ids.map((id): ImageLookup => {
      if (id.kind === 'digest') return present.has(id.digest) ? { ok: true, digest: id.digest } : { ok: false, reason: 'not-found' };
      const digest = tags.get(id.tag) as Digest | undefined;
      if (digest === undefined) return { ok: false, reason: 'not-found' };
      if (id.digest !== undefined && id.digest !== digest) return { ok: false, reason: 'tag-digest-mismatch' };
      return { ok: true, digest };
    });
  }

  /** The manifests (with bodies) of those of `digests` stored in the repository. */
  async manifests(repo: Repository, digests: readonly Digest[]): Promise<Map<string, ManifestRow>> {
    return this.meta.manifests.getMany(repo.row.id, digests);
  }

  /** The images of those of `digests` stored in the repository, in digest order. */
  async describe(repo: Repository, digests: readonly Digest[]): Promise<ImageInfo[]> {
    return this.withTags(repo, await this.meta.manifests.infos(repo.row.id, digests));
  }

  /** A page of images in digest order, after the digest `after`; `imageStatus` (ECR's filter) narrows by archive state. */
  async describePage(repo: Repository, page: { after?: string; limit: number; tagStatus: TagStatus; imageStatus?: ImageStatusFilter }): Promise<ImageInfo[]> {
    return this.withTags(repo, await this.meta.manifests.infoPage(repo.row.id, page));
  }

  /** A page of (digest, tag) pairs, plus one pair with a null tag per untagged manifest. */
  async idPage(
    repo: Repository,
    page: { after?: { digest: string; tag: string }; limit: number; tagStatus: TagStatus; imageStatus?: ImageStatusFilter },
  ): Promise<ImageIdRow[]> {
    return this.meta.manifests.imageIdPage(repo.row.id, page);
  }

  /** A page of the manifests whose subject is `subject`, in digest order, of any of `artifactTypes` when given. */
  async referrerPage(
    repo: Repository,
    subject: Digest,
    page: { after?: string; limit: number; artifactTypes?: readonly string[]; imageStatus?: ImageStatusFilter },
  ): Promise<ManifestInfo[]> {
    return this.meta.manifests.referrerPage(repo.row.id, subject, page);
  }

  private async withTags(repo: Repository, rows: ManifestInfo[]): Promise<ImageInfo[]> {
    const tags = await this.meta.tags.forDigests(
      repo.row.id,
      rows.map((r) => r.digest),
    );
    return rows.map((r) => ({ ...r, tags: tags.get(r.digest) ?? [] }));
  }
}
