import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SecretBox } from './secret-box.js';

let dataDir: string;

beforeEach(() => {
  dataDir = mkdtempSync(join(tmpdir(), 'berth-box-'));
});

afterEach(() => {
  rmSync(dataDir, { recursive: true, force: true });
});

const keyB64 = () => randomBytes(32).toString('base64');

/** Rewrite one base64 field of a sealed value with its bytes changed by `edit`. */
function editField(sealed: string, index: 1 | 2 | 3, edit: (bytes: Buffer) => Buffer): string {
  const parts = sealed.split(':');
  parts[index] = edit(Buffer.from(parts[index]!, 'base64')).toString('base64');
  return parts.join(':');
}

function flipFirstBit(bytes: Buffer): Buffer {
  const copy = Buffer.from(bytes);
  copy[0] = copy[0]! ^ 1;
  return copy;
}

describe('seal and open', () => {
  const box = SecretBox.load('unused', keyB64());

  it.each([
    ['ascii', 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY'],
    ['empty', ''],
    ['unicode', 'p\u00e4ss\u2603 \ud83d\udd11'],
    ['colons', 'a:b:c:d'],
    ['long', 'x'.repeat(100_000)],
  ])('round-trips a %s secret', (_label, plaintext) => {
    const sealed = box.seal(plaintext);
    expect(sealed).toMatch(/^v1:[A-Za-z0-9+/=]+:[A-Za-z0-9+/=]+:[A-Za-z0-9+/=]*$/);
    expect(box.open(sealed)).toBe(plaintext);
  });

  it('does not contain the plaintext and uses a fresh IV each time', () => {
    const a = box.seal('same secret value');
    const b = box.seal('same secret value');
    expect(a).not.toBe(b);
    expect(a.split(':')[1]).not.toBe(b.split(':')[1]);
    expect(a).not.toContain('same secret value');
    expect(a).not.toContain(Buffer.from('same secret value').toString('base64'));
    expect(Buffer.from(a.split(':')[1]!, 'base64')).toHaveLength(12);
    expect(Buffer.from(a.split(':')[2]!, 'base64')).toHaveLength(16);
  });

  it.each([
    ['the ciphertext', 3],
    ['the auth tag', 2],
    ['the IV', 1],
  ] as const)('detects tampering with %s', (_label, index) => {
    const sealed = box.seal('a secret worth protecting');
    expect(() => box.open(editField(sealed, index, flipFirstBit))).toThrow();
  });

  it('detects a ciphertext cut short or extended', () => {
    const sealed = box.seal('a secret worth protecting');
    expect(() => box.open(editField(sealed, 3, (b) => b.subarray(0, b.length - 1)))).toThrow();
    expect(() => box.open(editField(sealed, 3, (b) => Buffer.concat([b, Buffer.from([0])])))).toThrow();
  });

  it.each([4, 8, 12, 15])('refuses an auth tag truncated to %i bytes', (length) => {
    // AES-GCM accepts short tags unless told the length; a forger then needs only 2^32 tries for 4 bytes.
    const sealed = box.seal('a secret worth protecting');
    expect(() => box.open(editField(sealed, 2, (tag) => tag.subarray(0, length)))).toThrow();
  });

  it('cannot be opened under another key', () => {
    const other = SecretBox.load('unused', keyB64());
    expect(() => other.open(box.seal('secret'))).toThrow();
  });

  it.each([
    ['another version', (s: string) => s.replace(/^v1:/, 'v2:')],
    ['no version', (s: string) => s.slice(3)],
    ['a missing tag', (s: string) => s.split(':').filter((_, i) => i !== 2).join(':')],
    ['an empty IV', (s: string) => s.replace(/^v1:[^:]+:/, 'v1::')],
    ['garbage', () => 'not a sealed secret'],
    ['empty', () => ''],
  ])('refuses a sealed value with %s', (_label, mangle) => {
    expect(() => box.open(mangle(box.seal('secret')))).toThrow();
  });
});

describe('key from the data folder', () => {
  it('creates master.key with mode 0600 and reuses it', () => {
    const first = SecretBox.load(dataDir);
    const path = join(dataDir, 'master.key');
    expect(statSync(path).mode & 0o777).toBe(0o600);
    const stored = readFileSync(path, 'utf8');
    expect(Buffer.from(stored.trim(), 'base64')).toHaveLength(32);

    const sealed = first.seal('kept across restarts');
    const second = SecretBox.load(dataDir);
    expect(readFileSync(path, 'utf8')).toBe(stored);
    expect(second.open(sealed)).toBe('kept across restarts');
  });

  it('gives each data folder its own key', () => {
    const other = mkdtempSync(join(tmpdir(), 'berth-box-'));
    try {
      const sealed = SecretBox.load(dataDir).seal('secret');
      expect(() => SecretBox.load(other).open(sealed)).toThrow();
    } finally {
      rmSync(other, { recursive: true, force: true });
    }
  });

  it('tightens the mode of an existing key file to 0600', () => {
    const path = join(dataDir, 'master.key');
    const key = keyB64();
    writeFileSync(path, `${key}\n`);
    chmodSync(path, 0o644);
    const box = SecretBox.load(dataDir);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    // It used that key, not a new one.
    expect(SecretBox.load('unused', key).open(box.seal('x'))).toBe('x');
  });

  it.each([
    ['too short', randomBytes(16).toString('base64')],
    ['too long', randomBytes(33).toString('base64')],
    ['empty', ''],
  ])('refuses a damaged key file (%s), naming it', (_label, content) => {
    writeFileSync(join(dataDir, 'master.key'), content);
    expect(() => SecretBox.load(dataDir)).toThrow(/master\.key/);
  });
});

describe('configured key (BERTH_MASTER_KEY)', () => {
  it('is used instead of the data folder, which is left untouched', () => {
    const key = keyB64();
    const a = SecretBox.load(dataDir, key);
    const b = SecretBox.load(dataDir, key);
    expect(b.open(a.seal('shared'))).toBe('shared');
    expect(() => statSync(join(dataDir, 'master.key'))).toThrow();
  });

  it('is not the data folder key', () => {
    const sealed = SecretBox.load(dataDir).seal('secret');
    expect(() => SecretBox.load(dataDir, keyB64()).open(sealed)).toThrow();
  });

  it.each([
    ['16 bytes', randomBytes(16).toString('base64')],
    ['31 bytes', randomBytes(31).toString('base64')],
    ['33 bytes', randomBytes(33).toString('base64')],
    ['64 bytes', randomBytes(64).toString('base64')],
    ['hex of 32 bytes', randomBytes(32).toString('hex')],
    ['plain text', 'correct horse battery staple'],
  ])('of the wrong length (%s) is rejected, naming BERTH_MASTER_KEY', (_label, configured) => {
    expect(() => SecretBox.load(dataDir, configured)).toThrow(/BERTH_MASTER_KEY/);
  });
});
