import { createHmac } from 'node:crypto';
import { constantTimeEqual, isAccountId, isDigest, parseRepositoryName, type AccountId, type Digest, type RepositoryName } from '../core/index.js';

/**
 * Where berth serves blobs by signed URL (ECR GetDownloadUrlForLayer). Both doors must agree on this
 * one URL: the ECR door hands it out, the OCI door serves it.
 */
export const BLOB_DOWNLOAD_PREFIX = '/_berth/blobs/';

/** Permission to read one blob of one repository until `expiresAt`, granted to whoever holds the URL. */
export interface BlobDownloadGrant {
  accountId: AccountId;
  repositoryName: RepositoryName;
  digest: Digest;
  /** Epoch seconds. */
  expiresAt: number;
}

/**
 * Signs and checks blob download URLs.
 *
 * Why an HMAC rather than a SigV4 presigned URL: ECR hands out presigned S3 URLs, but a client only
 * ever fetches the URL as given, so its format is free. An HMAC-SHA256 over (account, repository,
 * digest, expiry) with a key derived from the master key (`SecretBox.deriveKey`) needs no stored
 * state, no credentials of berth's own, and verifies on every node that holds the master key. The
 * URL is a bearer capability, like an S3 presigned URL: anyone holding it may read that one blob
 * until it expires, and changing any part of it (another digest, repository or a later expiry)
 * breaks the signature. Rotating the master key revokes every URL at once.
 */
export class DownloadUrlSigner {
  constructor(private readonly key: Buffer) {
    if (key.length < 32) throw new Error('a download URL key must be at least 32 bytes');
  }

  /** The path and query of the grant's URL, signed. */
  path(grant: BlobDownloadGrant): string {
    const query = new URLSearchParams({
      account: grant.accountId,
      repository: grant.repositoryName,
      expires: String(grant.expiresAt),
      signature: this.sign(grant),
    });
    return `${BLOB_DOWNLOAD_PREFIX}${grant.digest}?${query.toString()}`;
  }

  /**
   * The grant that a download URL carries, if its signature is valid; whether it has expired is the
   * caller's check. Every field is parsed and bounded before the comparison, which is constant-time.
   */
  verify(rawDigest: string, query: URLSearchParams): BlobDownloadGrant | undefined {
    const account = query.get('account');
    const repository = query.get('repository');
    const expires = query.get('expires');
    const signature = query.get('signature');
    if (account === null || repository === null || expires === null || signature === null) return undefined;
    if (!isAccountId(account) || !isDigest(rawDigest) || !/^[0-9]{1,12}$/.test(expires)) return undefined;
    let repositoryName: RepositoryName;
    try {
      repositoryName = parseRepositoryName(repository);
    } catch {
      return undefined;
    }
    const grant: BlobDownloadGrant = { accountId: account, repositoryName, digest: rawDigest, expiresAt: Number(expires) };
    // Compared as text: decoding would let several spellings of one signature through.
    if (!constantTimeEqual(this.sign(grant), signature)) return undefined;
    return grant;
  }

  private sign(grant: BlobDownloadGrant): string {
    // Newlines cannot occur in any field (each is validated), so the message is unambiguous.
    const message = ['berth-blob-download-v1', grant.accountId, grant.repositoryName, grant.digest, String(grant.expiresAt)].join('\n');
    return createHmac('sha256', this.key).update(message).digest('base64url');
  }
}
