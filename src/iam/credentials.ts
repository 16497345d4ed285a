import { randomBytes, randomInt } from 'node:crypto';
import { writeFileSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import type { MetadataStore } from '../storage/metadata/index.js';
import type { SecretBox } from './secret-box.js';

const KEY_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** An access key id in AWS's shape: `AKIA` and 16 base32 characters. */
export function generateAccessKeyId(): string {
  let id = 'AKIA';
  for (let i = 0; i < 16; i++) id += KEY_ALPHABET[randomInt(KEY_ALPHABET.length)];
  return id;
}

/** 40 characters like AWS's secrets; never a ':' (the aws CLI splits login tokens on it). */
export function generateSecretAccessKey(): string {
  return randomBytes(30).toString('base64');
}

export interface BootstrapResult {
  accessKeyId: string;
  /** Set only when berth generated the key now: the one time it is shown. */
  generatedSecret?: string;
  credentialsFile?: string;
}

/**
 * First-start credentials: the default account exists and has a root access key, taken from the
 * configuration when given, generated otherwise. Whenever berth creates a key it writes
 * `<data>/credentials` in the AWS shared-credentials format (profile `default`, with `region`).
 */
export async function bootstrapRootCredentials(opts: {
  meta: MetadataStore;
  box: SecretBox;
  dataDir: string;
  accountId: string;
  region: string;
  configured?: { accessKeyId: string; secretAccessKey: string };
  now: number;
}): Promise<BootstrapResult | undefined> {
  const { meta, box, accountId } = opts;
  await meta.accounts.ensure(accountId, opts.now);
  let key: { accessKeyId: string; secretAccessKey: string; generated: boolean };
  if (opts.configured) {
    const existing = await meta.accessKeys.get(opts.configured.accessKeyId);
    if (existing) {
      if (existing.accountId !== accountId || existing.userName !== null) {
        throw new Error(`BERTH_ROOT_ACCESS_KEY_ID ${opts.configured.accessKeyId} already belongs to another identity`);
      }
      if (box.open(existing.secretEnc) !== opts.configured.secretAccessKey) {
        throw new Error(
          `BERTH_ROOT_SECRET_ACCESS_KEY does not match the stored secret of ${opts.configured.accessKeyId}; ` +
            'use the original secret, or a new key id to add a key',
        );
      }
      return { accessKeyId: existing.accessKeyId };
    }
    key = { ...opts.configured, generated: false };
  } else {
    if ((await meta.accessKeys.countRootKeys(accountId)) > 0) return undefined;
    key = { accessKeyId: generateAccessKeyId(), secretAccessKey: generateSecretAccessKey(), generated: true };
  }
  await meta.accessKeys.create({
    accessKeyId: key.accessKeyId,
    accountId,
    userName: null,
    secretEnc: box.seal(key.secretAccessKey),
    status: 'Active',
    createdAt: opts.now,
  });
  const credentialsFile = join(opts.dataDir, 'credentials');
  writeFileSync(
    credentialsFile,
    `[default]\naws_access_key_id = ${key.accessKeyId}\naws_secret_access_key = ${key.secretAccessKey}\nregion = ${opts.region}\n`,
    { mode: 0o600 },
  );
  chmodSync(credentialsFile, 0o600);
  return { accessKeyId: key.accessKeyId, credentialsFile, ...(key.generated ? { generatedSecret: key.secretAccessKey } : {}) };
}
