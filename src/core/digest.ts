import { createHash, type Hash } from 'node:crypto';
import { BerthError } from './errors.js';

/** A validated `algorithm:hex` content digest. Only sha256 and sha512 are accepted (OCI image-spec v1.1, descriptor.md). */
export type Digest = string & { readonly __brand: 'Digest' };
export type DigestAlgorithm = 'sha256' | 'sha512';

const HEX_LENGTH: Record<DigestAlgorithm, number> = { sha256: 64, sha512: 128 };
// Grammar from the image-spec: algorithm ":" encoded, with registered algorithms using lowercase hex.
const DIGEST_GRAMMAR = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;

export function parseDigest(raw: string): Digest {
  if (!DIGEST_GRAMMAR.test(raw)) {
    throw new BerthError('DIGEST_INVALID', `"${truncate(raw)}" is not a digest of the form algorithm:hex`);
  }
  const [algorithm, hex] = raw.split(':', 2) as [string, string];
  const expected = HEX_LENGTH[algorithm as DigestAlgorithm];
  if (expected === undefined) {
    throw new BerthError('DIGEST_INVALID', `digest algorithm "${algorithm}" is not supported; use sha256 or sha512`);
  }
  if (hex.length !== expected || !/^[a-f0-9]+$/.test(hex)) {
    throw new BerthError('DIGEST_INVALID', `a ${algorithm} digest has ${expected} lowercase hex characters`);
  }
  return raw as Digest;
}

export function isDigest(raw: string): raw is Digest {
  try {
    parseDigest(raw);
    return true;
  } catch {
    return false;
  }
}

export function digestAlgorithm(digest: Digest): DigestAlgorithm {
  return digest.slice(0, digest.indexOf(':')) as DigestAlgorithm;
}

export function digestHex(digest: Digest): string {
  return digest.slice(digest.indexOf(':') + 1);
}

export function newHasher(algorithm: DigestAlgorithm = 'sha256'): Hash {
  return createHash(algorithm);
}

export function digestOf(data: Uint8Array | string, algorithm: DigestAlgorithm = 'sha256'): Digest {
  return `${algorithm}:${createHash(algorithm).update(data).digest('hex')}` as Digest;
}

function truncate(s: string): string {
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}
