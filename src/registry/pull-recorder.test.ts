import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { digestOf } from '../core/index.js';
import { openSqliteMetadata, type MetadataStore } from '../storage/metadata/index.js';
import { PullRecorder, isExcluded } from './pull-recorder.js';

const ACCOUNT = '111122223333';
const USER = `arn:aws:iam::${ACCOUNT}:user/ci`;
const ROOT = `arn:aws:iam::${ACCOUNT}:root`;

describe('isExcluded', () => {
  const exclusions = new Set([USER, `arn:aws:iam::${ACCOUNT}:role/deploy/inspector`]);
  it.each([
    [USER, true],
    [`arn:aws:iam::${ACCOUNT}:user/other`, false],
    [ROOT, false],
    // A session of an excluded role is excluded, whatever the session name; the role's path is not in the session ARN.
    [`arn:aws:sts::${ACCOUNT}:assumed-role/inspector/scan-1`, true],
    [`arn:aws:sts::${ACCOUNT}:assumed-role/inspectors/scan-1`, false],
    [`arn:aws:sts::999988887777:assumed-role/inspector/scan-1`, false],
    [`arn:aws:sts::${ACCOUNT}:assumed-role/ci/scan-1`, false],
  ])('%s -> %s', (arn, expected) => {
    expect(isExcluded(exclusions, arn)).toBe(expected);
  });
});

describe('PullRecorder', () => {
  let dir: string;
  let meta: MetadataStore;
  let repositoryId: number;
  const digest = digestOf('manifest');

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'berth-pulls-'));
    meta = await openSqliteMetadata(join(dir, 'metadata.db'));
    await meta.accounts.ensure(ACCOUNT, 0);
    repositoryId = (await meta.repositories.create(ACCOUNT, 'app', 0)).repository.id;
    const body = Buffer.from('manifest');
    await meta.manifests.put(
      {
        repositoryId,
        digest,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        artifactType: null,
        subject: null,
        size: body.length,
        body,
        annotations: null,
        pushedAt: 0,
        imageSize: 0,
        configMediaType: null,
        lastPulledAt: null,
      },
      [],
    );
  });

  afterEach(async () => {
    await meta.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const pulledAt = async () => (await meta.manifests.get(repositoryId, digest))?.lastPulledAt;
  const pull = (principalArn: string, at: number) => ({ accountId: ACCOUNT, repositoryId, digest, principalArn, at });

  it('writes nothing until flushed, then the latest time of the principals not excluded', async () => {
    const recorder = new PullRecorder(meta, { flushIntervalMs: 3_600_000 });
    await meta.settings.addPullTimeExclusion(ACCOUNT, USER, 0);
    recorder.record(pull(ROOT, 1000));
    recorder.record(pull(ROOT, 3000));
    recorder.record(pull(ROOT, 2000));
    recorder.record(pull(USER, 9000));
    expect(await pulledAt()).toBeNull();
    await recorder.close();
    expect(await pulledAt()).toBe(3000);
  });

  it('never moves a recorded time backwards', async () => {
    const recorder = new PullRecorder(meta, { flushIntervalMs: 3_600_000 });
    recorder.record(pull(ROOT, 5000));
    await recorder.flush();
    recorder.record(pull(ROOT, 4000));
    await recorder.close();
    expect(await pulledAt()).toBe(5000);
  });

  it('writes all pulls in one transaction per flush', async () => {
    const recorder = new PullRecorder(meta, { flushIntervalMs: 3_600_000 });
    const spy = vi.spyOn(meta, 'transaction');
    for (let i = 0; i < 100; i++) recorder.record(pull(ROOT, i));
    await recorder.close();
    expect(spy).toHaveBeenCalledTimes(1);
    expect(await pulledAt()).toBe(99);
  });

  it('keeps the pulls of a failed flush for the next one', async () => {
    const recorder = new PullRecorder(meta, { flushIntervalMs: 3_600_000 });
    recorder.record(pull(ROOT, 7000));
    const failing = vi.spyOn(meta.settings, 'allPullTimeExclusions').mockRejectedValueOnce(new Error('database is locked'));
    await expect(recorder.flush()).rejects.toThrow(/locked/);
    expect(await pulledAt()).toBeNull();
    failing.mockRestore();
    await recorder.close();
    expect(await pulledAt()).toBe(7000);
  });
});
