/**
 * Lifecycle policies with real clients against a real berth process: skopeo pushes three releases
 * and a multi-platform index; the AWS CLI (Debian's awscli) puts a policy, previews it and reads
 * the preview; `berth lifecycle preview` and `berth lifecycle run` (separate processes beside the
 * server, on its data folder) print the same plan and apply it; then skopeo finds exactly the
 * previewed images gone and still pulls the rest, the index's untagged children included.
 *
 * Needs `npm run build` (bin/berth.js runs dist/), /usr/bin/aws and skopeo.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeImage, writeMultiPlatform, type ImageResult, type MultiPlatformResult } from '../fixtures/oci-layout.js';
import { BERTH_BIN, PROJECT_ROOT, runCommand, runCommandExpectingFailure, startBerth, type BerthProcess } from '../helpers/berth-process.js';

const TIMEOUT = 180_000;
const AWS = '/usr/bin/aws';
const REPO = 'e2e/lifecycle';

let berth: BerthProcess;
let work: string;
const images: Record<string, ImageResult> = {};
let multi: MultiPlatformResult;

function awsEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith('AWS_')) env[key] = value;
  return {
    ...env,
    AWS_ACCESS_KEY_ID: berth.accessKeyId,
    AWS_SECRET_ACCESS_KEY: berth.secretAccessKey,
    AWS_DEFAULT_REGION: 'us-east-1',
    AWS_CONFIG_FILE: '/dev/null',
    AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_PAGER: '',
  };
}

async function aws<T>(args: string[]): Promise<T> {
  const { stdout } = await runCommand(AWS, ['ecr', ...args, '--endpoint-url', berth.url, '--output', 'json'], { env: awsEnv() as Record<string, string> });
  return (stdout.trim() === '' ? {} : JSON.parse(stdout)) as T;
}

/** `berth lifecycle ...` as its own process, on the server's data folder. */
async function berthLifecycle(args: string[]): Promise<string> {
  const env: Record<string, string> = { BERTH_DATA_DIR: berth.dataDir, BERTH_LOG_LEVEL: 'warn' };
  const { stdout } = await runCommand(process.execPath, [BERTH_BIN, 'lifecycle', ...args], { cwd: PROJECT_ROOT, env });
  return stdout;
}

const creds = () => `${berth.accessKeyId}:${berth.secretAccessKey}`;

interface PreviewOutput {
  status: string;
  previewResults?: { imageDigest: string; imageTags?: string[]; appliedRulePriority: number; action: { type: string } }[];
  summary?: { expiringImageTotalCount: number };
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'berth-e2e-lifecycle-'));
  berth = await startBerth({ env: { BERTH_LIFECYCLE_INTERVAL: '0' } });
  const layout = join(work, 'layout');
  for (const tag of ['v1', 'v2', 'v3']) images[tag] = await writeImage(layout, { seed: `lifecycle-${tag}`, tag, layers: 1 });
  multi = await writeMultiPlatform(layout, { seed: 'lifecycle-multi', tag: 'multi' });
  // One at a time, oldest first: the push order is the age order the count rule ranks.
  for (const tag of ['multi', 'v1', 'v2', 'v3']) {
    await runCommand('skopeo', ['copy', '--all', '--dest-tls-verify=false', '--dest-creds', creds(), `oci:${layout}:${tag}`, `docker://${berth.host}/${REPO}:${tag}`]);
  }
}, TIMEOUT);

afterAll(async () => {
  await berth?.cleanup();
  if (work) await rm(work, { recursive: true, force: true });
});

describe('lifecycle policies with skopeo, the AWS CLI and berth lifecycle', () => {
  const policy = {
    rules: [
      { rulePriority: 1, description: 'keep the newest release', selection: { tagStatus: 'tagged', tagPrefixList: ['v'], countType: 'imageCountMoreThan', countNumber: 1 }, action: { type: 'expire' } },
      { rulePriority: 2, description: 'one untagged image at most', selection: { tagStatus: 'untagged', countType: 'imageCountMoreThan', countNumber: 1 }, action: { type: 'expire' } },
    ],
  };

  it('aws ecr put-lifecycle-policy, start-lifecycle-policy-preview, get-lifecycle-policy-preview', async () => {
    const file = join(work, 'policy.json');
    await writeFile(file, JSON.stringify(policy, null, 2));
    const put = await aws<{ lifecyclePolicyText: string }>(['put-lifecycle-policy', '--repository-name', REPO, '--lifecycle-policy-text', `file://${file}`]);
    expect(JSON.parse(put.lifecyclePolicyText)).toEqual(policy);
    const started = await aws<{ status: string }>(['start-lifecycle-policy-preview', '--repository-name', REPO]);
    expect(started.status).toBe('IN_PROGRESS');
    let preview: PreviewOutput = { status: 'IN_PROGRESS' };
    for (let i = 0; i < 60 && preview.status === 'IN_PROGRESS'; i++) {
      preview = await aws<PreviewOutput>(['get-lifecycle-policy-preview', '--repository-name', REPO]);
      if (preview.status === 'IN_PROGRESS') await new Promise((r) => setTimeout(r, 250));
    }
    expect(preview.status).toBe('COMPLETE');
    // v1 and v2 go; the index's untagged children are not "untagged images" of their own.
    expect(preview.previewResults!.map((r) => r.imageDigest).sort()).toEqual([images['v1']!.manifestDigest, images['v2']!.manifestDigest].sort());
    expect(preview.previewResults!.every((r) => r.appliedRulePriority === 1 && r.action.type === 'EXPIRE')).toBe(true);
    expect(preview.summary).toEqual({ expiringImageTotalCount: 2 });
  }, TIMEOUT);

  it('berth lifecycle preview prints the same plan', async () => {
    const out = await berthLifecycle(['preview', '--repository', REPO]);
    expect(out).toContain(images['v1']!.manifestDigest.slice(0, 19));
    expect(out).toContain(images['v2']!.manifestDigest.slice(0, 19));
    expect(out).not.toContain(images['v3']!.manifestDigest.slice(0, 19));
    expect(out).toContain('2 images would expire and 0 would be archived, of 6');
  }, TIMEOUT);

  it('berth lifecycle run applies it: exactly the previewed images are gone, the rest pull', async () => {
    const out = await berthLifecycle(['run', '--repository', REPO]);
    expect(out).toContain(`${REPO}: 2 expired, 0 archived, 0 left alone`);
    const left = await aws<{ imageIds: { imageDigest: string; imageTag?: string }[] }>(['list-images', '--repository-name', REPO]);
    expect([...new Set(left.imageIds.map((i) => i.imageDigest))].sort()).toEqual([images['v3']!.manifestDigest, multi.indexDigest, ...multi.childDigests].sort());
    for (const gone of ['v1', 'v2']) {
      const failure = await runCommandExpectingFailure('skopeo', ['inspect', '--raw', '--tls-verify=false', '--creds', creds(), `docker://${berth.host}/${REPO}:${gone}`]);
      expect(failure.stderr).toMatch(/manifest unknown|not found/i);
    }
    await runCommand('skopeo', ['copy', '--all', '--src-tls-verify=false', '--src-creds', creds(), `docker://${berth.host}/${REPO}:multi`, `oci:${join(work, 'pulled')}:multi`]);
    await runCommand('skopeo', ['copy', '--src-tls-verify=false', '--src-creds', creds(), `docker://${berth.host}/${REPO}:v3`, `oci:${join(work, 'pulled')}:v3`]);
    const got = await aws<{ lastEvaluatedAt?: number | string }>(['get-lifecycle-policy', '--repository-name', REPO]);
    expect(got.lastEvaluatedAt).toBeDefined();
  }, TIMEOUT);
});
