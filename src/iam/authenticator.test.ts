import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BerthError, type ErrorCode } from '../core/index.js';
import { openSqliteMetadata } from '../storage/metadata/sqlite.js';
import type { MetadataStore } from '../storage/metadata/metadata-store.js';
import { Authenticator } from './authenticator.js';
import { bootstrapRootCredentials, generateAccessKeyId, generateSecretAccessKey } from './credentials.js';
import { SecretBox } from './secret-box.js';

const ACCOUNT = '111122223333';
const OTHER_ACCOUNT = '444455556666';
const REGION = 'eu-west-1';
const KEY_ID = 'AKIATESTKEY000000001';
const SECRET = 'test/Secret+Value0123456789abcdefABCDEF';

let dataDir: string;
let meta: MetadataStore;
let box: SecretBox;

beforeEach(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'berth-auth-'));
  meta = await openSqliteMetadata(join(dataDir, 'metadata.db'));
  box = SecretBox.load(dataDir);
});

afterEach(async () => {
  await meta.close();
  rmSync(dataDir, { recursive: true, force: true });
});

function basic(user: string, password: string): string {
  return `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
}

async function rejectsWith(promise: Promise<unknown>, code: ErrorCode): Promise<BerthError> {
  try {
    await promise;
  } catch (err) {
    expect(err).toBeInstanceOf(BerthError);
    expect((err as BerthError).code).toBe(code);
    return err as BerthError;
  }
  throw new Error(`expected ${code}`);
}

function bootstrap(extra: { configured?: { accessKeyId: string; secretAccessKey: string }; accountId?: string } = {}) {
  return bootstrapRootCredentials({ meta, box, dataDir, accountId: extra.accountId ?? ACCOUNT, region: REGION, now: 1_700_000_000_000, ...extra });
}

describe('Authenticator.authenticate', () => {
  let auth: Authenticator;

  beforeEach(async () => {
    await bootstrap({ configured: { accessKeyId: KEY_ID, secretAccessKey: SECRET } });
    auth = new Authenticator(meta, box, REGION);
  });

  it('resolves Basic with the right key to the root principal', async () => {
    const principal = await auth.authenticate(basic(KEY_ID, SECRET));
    expect(principal).toEqual({ kind: 'root', accountId: ACCOUNT, arn: `arn:aws:iam::${ACCOUNT}:root`, accessKeyId: KEY_ID });
  });

  it.each([
    ['a lowercase scheme', (h: string) => h.replace('Basic', 'basic')],
    ['extra spaces', (h: string) => h.replace('Basic ', 'Basic   ')],
    ['surrounding whitespace', (h: string) => ` ${h} `],
  ])('accepts %s', async (_label, edit) => {
    expect((await auth.authenticate(edit(basic(KEY_ID, SECRET)))).arn).toBe(`arn:aws:iam::${ACCOUNT}:root`);
  });

  it('resolves a user key to a user principal', async () => {
    await meta.accessKeys.create({
      accessKeyId: 'AKIAUSERKEY000000001',
      accountId: ACCOUNT,
      userName: 'ci-bot',
      secretEnc: box.seal('user-secret-0123456789'),
      status: 'Active',
      createdAt: 1,
    });
    expect(await auth.authenticate(basic('AKIAUSERKEY000000001', 'user-secret-0123456789'))).toEqual({
      kind: 'user',
      accountId: ACCOUNT,
      arn: `arn:aws:iam::${ACCOUNT}:user/ci-bot`,
      accessKeyId: 'AKIAUSERKEY000000001',
      userName: 'ci-bot',
    });
  });

  it.each<[string, string | undefined]>([
    ['a wrong secret', basic(KEY_ID, `${SECRET}x`)],
    ['a secret differing in case', basic(KEY_ID, SECRET.toUpperCase())],
    ['a prefix of the secret', basic(KEY_ID, SECRET.slice(0, -1))],
    ['an empty secret', basic(KEY_ID, '')],
    ['an unknown key id', basic('AKIAUNKNOWN000000001', SECRET)],
    ['the key id in lower case', basic(KEY_ID.toLowerCase(), SECRET)],
    ['an unknown key id with the placeholder secret', basic('AKIAUNKNOWN000000001', '\0'.repeat(40))],
    ['an empty user', basic('', SECRET)],
    ['no header', undefined],
    ['an empty header', ''],
    ['Basic without credentials', 'Basic'],
    ['Basic with a space only', 'Basic '],
    ['Basic with non-base64', 'Basic !!!not-base64!!!'],
    ['Basic without a colon', `Basic ${Buffer.from(`${KEY_ID}${SECRET}`).toString('base64')}`],
    ['Basic with two tokens', `${basic(KEY_ID, SECRET)} extra`],
    ['Bearer', 'Bearer abc.def.ghi'],
    ['AWS SigV4', `AWS4-HMAC-SHA256 Credential=${KEY_ID}/20240101/${REGION}/ecr/aws4_request, SignedHeaders=host, Signature=abc`],
    ['Digest', 'Digest username="x"'],
    ['the credentials without a scheme', Buffer.from(`${KEY_ID}:${SECRET}`).toString('base64')],
  ])('rejects %s with UNAUTHENTICATED', async (_label, header) => {
    await rejectsWith(auth.authenticate(header), 'UNAUTHENTICATED');
  });

  it('rejects an inactive key even with the right secret', async () => {
    await meta.accessKeys.create({
      accessKeyId: 'AKIAINACTIVE00000001',
      accountId: ACCOUNT,
      userName: null,
      secretEnc: box.seal('inactive-secret-0123'),
      status: 'Inactive',
      createdAt: 1,
    });
    await rejectsWith(auth.authenticate(basic('AKIAINACTIVE00000001', 'inactive-secret-0123')), 'UNAUTHENTICATED');
  });

  it('gives the same message for an unknown key and a wrong secret', async () => {
    const unknown = await rejectsWith(auth.authenticate(basic('AKIAUNKNOWN000000001', SECRET)), 'UNAUTHENTICATED');
    const wrong = await rejectsWith(auth.authenticate(basic(KEY_ID, 'wrong-secret-0123456')), 'UNAUTHENTICATED');
    expect(unknown.message).toBe(wrong.message);
  });

  it('keeps rejecting a wrong secret after the right one was accepted', async () => {
    await auth.authenticate(basic(KEY_ID, SECRET));
    await rejectsWith(auth.authenticate(basic(KEY_ID, 'wrong-secret-0123456')), 'UNAUTHENTICATED');
    expect((await auth.authenticate(basic(KEY_ID, SECRET))).accessKeyId).toBe(KEY_ID);
  });

  it('accepts a secret containing a colon (everything after the first colon is the password)', async () => {
    await meta.accessKeys.create({
      accessKeyId: 'AKIACOLON00000000001',
      accountId: ACCOUNT,
      userName: null,
      secretEnc: box.seal('with:colon:inside0123'),
      status: 'Active',
      createdAt: 1,
    });
    expect((await auth.authenticate(basic('AKIACOLON00000000001', 'with:colon:inside0123'))).accessKeyId).toBe('AKIACOLON00000000001');
  });
});

describe('bootstrapRootCredentials', () => {
  it('generates a root key once and writes <data>/credentials (mode 0600) in AWS shared-credentials format', async () => {
    const result = await bootstrap();
    expect(result).toBeDefined();
    const { accessKeyId, generatedSecret, credentialsFile } = result!;
    expect(accessKeyId).toMatch(/^AKIA[A-Z2-7]{16}$/);
    expect(generatedSecret).toHaveLength(40);
    expect(generatedSecret).not.toContain(':');
    expect(credentialsFile).toBe(join(dataDir, 'credentials'));
    expect(statSync(credentialsFile!).mode & 0o777).toBe(0o600);
    expect(readFileSync(credentialsFile!, 'utf8')).toBe(
      `[default]\naws_access_key_id = ${accessKeyId}\naws_secret_access_key = ${generatedSecret}\nregion = ${REGION}\n`,
    );

    expect(await meta.accounts.exists(ACCOUNT)).toBe(true);
    expect(await meta.accessKeys.countRootKeys(ACCOUNT)).toBe(1);
    const principal = await new Authenticator(meta, box, REGION).authenticate(basic(accessKeyId, generatedSecret!));
    expect(principal).toMatchObject({ kind: 'root', accountId: ACCOUNT, arn: `arn:aws:iam::${ACCOUNT}:root` });

    // The secret is stored sealed, not in clear.
    const row = await meta.accessKeys.get(accessKeyId);
    expect(row?.secretEnc).not.toContain(generatedSecret!);
    expect(box.open(row!.secretEnc)).toBe(generatedSecret);
  });

  it('returns undefined the second time and creates no second key', async () => {
    const first = await bootstrap();
    const before = readFileSync(join(dataDir, 'credentials'), 'utf8');
    expect(await bootstrap()).toBeUndefined();
    expect(await meta.accessKeys.countRootKeys(ACCOUNT)).toBe(1);
    expect(readFileSync(join(dataDir, 'credentials'), 'utf8')).toBe(before);
    expect(before).toContain(first!.accessKeyId);
  });

  it('generates a key for each new account', async () => {
    const a = await bootstrap();
    const b = await bootstrap({ accountId: OTHER_ACCOUNT });
    expect(b?.accessKeyId).toBeDefined();
    expect(b?.accessKeyId).not.toBe(a?.accessKeyId);
    expect((await meta.accessKeys.get(b!.accessKeyId))?.accountId).toBe(OTHER_ACCOUNT);
  });

  it('tightens the mode of an existing credentials file', async () => {
    writeFileSync(join(dataDir, 'credentials'), 'stale-credentials-placeholder\n', { mode: 0o644 });
    await bootstrap();
    expect(statSync(join(dataDir, 'credentials')).mode & 0o777).toBe(0o600);
    expect(readFileSync(join(dataDir, 'credentials'), 'utf8')).not.toContain('stale-credentials-placeholder');
  });

  it('stores a configured key, writes it to the credentials file, and never reports it as generated', async () => {
    const result = await bootstrap({ configured: { accessKeyId: KEY_ID, secretAccessKey: SECRET } });
    expect(result).toEqual({ accessKeyId: KEY_ID, credentialsFile: join(dataDir, 'credentials') });
    expect(readFileSync(join(dataDir, 'credentials'), 'utf8')).toBe(
      `[default]\naws_access_key_id = ${KEY_ID}\naws_secret_access_key = ${SECRET}\nregion = ${REGION}\n`,
    );
    expect(statSync(join(dataDir, 'credentials')).mode & 0o777).toBe(0o600);
    expect((await new Authenticator(meta, box, REGION).authenticate(basic(KEY_ID, SECRET))).accessKeyId).toBe(KEY_ID);
  });

  it('accepts the configured key again after a restart', async () => {
    await bootstrap({ configured: { accessKeyId: KEY_ID, secretAccessKey: SECRET } });
    await meta.close();
    meta = await openSqliteMetadata(join(dataDir, 'metadata.db'));
    box = SecretBox.load(dataDir);
    expect(await bootstrap({ configured: { accessKeyId: KEY_ID, secretAccessKey: SECRET } })).toEqual({ accessKeyId: KEY_ID });
    expect(await meta.accessKeys.countRootKeys(ACCOUNT)).toBe(1);
    expect((await new Authenticator(meta, box, REGION).authenticate(basic(KEY_ID, SECRET))).arn).toBe(`arn:aws:iam::${ACCOUNT}:root`);
  });

  it('rejects the configured key with a different secret on restart, keeping the original', async () => {
    await bootstrap({ configured: { accessKeyId: KEY_ID, secretAccessKey: SECRET } });
    await meta.close();
    meta = await openSqliteMetadata(join(dataDir, 'metadata.db'));
    box = SecretBox.load(dataDir);
    await expect(bootstrap({ configured: { accessKeyId: KEY_ID, secretAccessKey: 'another-secret-0123456789' } })).rejects.toThrow(
      /BERTH_ROOT_SECRET_ACCESS_KEY/,
    );
    const auth = new Authenticator(meta, box, REGION);
    expect((await auth.authenticate(basic(KEY_ID, SECRET))).accessKeyId).toBe(KEY_ID);
    await rejectsWith(auth.authenticate(basic(KEY_ID, 'another-secret-0123456789')), 'UNAUTHENTICATED');
  });

  it('rejects a configured key that belongs to another account', async () => {
    await bootstrap({ accountId: OTHER_ACCOUNT, configured: { accessKeyId: KEY_ID, secretAccessKey: SECRET } });
    await expect(bootstrap({ configured: { accessKeyId: KEY_ID, secretAccessKey: SECRET } })).rejects.toThrow(/another identity/);
  });

  it('rejects a configured key that belongs to a user', async () => {
    await meta.accounts.ensure(ACCOUNT, 1);
    await meta.accessKeys.create({ accessKeyId: KEY_ID, accountId: ACCOUNT, userName: 'u', secretEnc: box.seal(SECRET), status: 'Active', createdAt: 1 });
    await expect(bootstrap({ configured: { accessKeyId: KEY_ID, secretAccessKey: SECRET } })).rejects.toThrow(/another identity/);
  });

  it('adds a configured key to an account that already has a generated one', async () => {
    await bootstrap();
    expect(await bootstrap({ configured: { accessKeyId: KEY_ID, secretAccessKey: SECRET } })).toMatchObject({ accessKeyId: KEY_ID });
    expect(await meta.accessKeys.countRootKeys(ACCOUNT)).toBe(2);
  });
});

describe('generated key material', () => {
  it('access key ids look like AWS ones and differ', () => {
    const ids = new Set(Array.from({ length: 200 }, generateAccessKeyId));
    expect(ids.size).toBe(200);
    for (const id of ids) expect(id).toMatch(/^AKIA[A-Z2-7]{16}$/);
  });

  it('secrets are 40 characters without a colon and differ', () => {
    const secrets = new Set(Array.from({ length: 200 }, generateSecretAccessKey));
    expect(secrets.size).toBe(200);
    for (const s of secrets) {
      expect(s).toHaveLength(40);
      expect(s).not.toContain(':');
    }
  });
});
