/**
 * The real AWS CLI (Debian's awscli, aws-cli v2) against a real berth process, the way an ECR user
 * works: create a repository, log podman in with `aws ecr get-login-password`, push, look at the
 * image with describe-images / list-images, delete it with batch-delete-image, delete the
 * repository. Also: a push to a repository nobody created fails (BERTH_CREATE_ON_PUSH=false, as
 * ECR), and a wrong secret fails the SigV4 check.
 *
 * Needs /usr/bin/aws (Debian's awscli; `aws` on PATH may be something else, e.g. a pyenv shim for
 * aws-cli v1), podman and skopeo, and runs as root (podman with the vfs driver). Every aws call
 * gets a clean environment: the server's root key, us-east-1, no config or credentials file, no
 * instance metadata, no pager. Nothing leaves the loopback interface.
 *
 * Not covered here: an expired registry token (12 hours); the unit tests of the token cover it.
 */
import { spawn } from 'node:child_process';
import { access, constants, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeImage, type ImageResult } from '../fixtures/oci-layout.js';
import { startBerth, type BerthProcess } from '../helpers/berth-process.js';
import { sha256 } from '../helpers/oci-client.js';

const TIMEOUT = 180_000;
const AWS = '/usr/bin/aws';
const REPO = 'e2e/app';
const NEVER_CREATED = 'e2e/never-created';

let berth: BerthProcess;
let work: string;
/** Pushed with podman (tag v1): its digest is what podman reports, since podman may recompress. */
let podmanImage: ImageResult;
/** Pushed with skopeo straight from the layout (tag v2): its digest is the fixture's. */
let skopeoImage: ImageResult;
/** The registry password `aws ecr get-login-password` printed (user name AWS). */
let password = '';

// --- running programs ----------------------------------------------------------------------------

interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  command: string;
}

function display(file: string, args: readonly string[]): string {
  return [file, ...args].map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
}

/** Runs a program without a shell, feeding `input` on stdin; never throws on a non-zero exit. */
function run(file: string, args: readonly string[], opts: { env: NodeJS.ProcessEnv; input?: string; timeoutMs?: number }): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { env: opts.env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 120_000);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`cannot run ${display(file, args)}: ${err.message}`));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, command: display(file, args) });
    });
    child.stdin.on('error', () => {}); // a program that exits without reading stdin
    child.stdin.end(opts.input ?? '');
  });
}

function describeRun(r: RunResult): string {
  return `${r.command}\nexit ${r.code ?? r.signal}\n--- stderr ---\n${r.stderr}\n--- stdout ---\n${r.stdout}`;
}

/** Succeeds or throws with everything the program printed. */
async function ok(promise: Promise<RunResult>): Promise<RunResult> {
  const r = await promise;
  if (r.code !== 0) throw new Error(`command failed: ${describeRun(r)}`);
  return r;
}

/** Fails (non-zero exit) or throws saying it unexpectedly succeeded. */
async function fails(promise: Promise<RunResult>): Promise<RunResult> {
  const r = await promise;
  if (r.code === 0) throw new Error(`expected a failure, but it succeeded: ${describeRun(r)}`);
  return r;
}

/** The caller's environment without any AWS_* variable, so a developer's profile can't leak in. */
function envWithoutAws(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith('AWS_')) env[key] = value;
  return env;
}

/** `aws ecr <args> --endpoint-url <berth>` with the server's root key (or `secret` instead). */
function aws(args: string[], opts: { secret?: string } = {}): Promise<RunResult> {
  return run(AWS, ['ecr', ...args, '--endpoint-url', berth.url, '--output', 'json'], {
    env: {
      ...envWithoutAws(),
      AWS_ACCESS_KEY_ID: berth.accessKeyId,
      AWS_SECRET_ACCESS_KEY: opts.secret ?? berth.secretAccessKey,
      AWS_DEFAULT_REGION: 'us-east-1',
      AWS_CONFIG_FILE: '/dev/null',
      AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
      AWS_EC2_METADATA_DISABLED: 'true',
      AWS_PAGER: '',
    },
  });
}

/** A successful aws call's JSON output. */
async function awsJson<T>(args: string[]): Promise<T> {
  const r = await ok(aws(args));
  try {
    return JSON.parse(r.stdout) as T;
  } catch {
    throw new Error(`aws printed something that is not JSON: ${describeRun(r)}`);
  }
}

/**
 * podman with a private storage root, run root, tmp dirs and auth file (as in clients.test.ts), so
 * the host's images and logins are untouched; vfs because overlay needs what a sandbox may not give.
 */
function podmanPaths() {
  const base = join(work, 'podman');
  return {
    base,
    tmp: join(base, 'tmp'),
    root: join(base, 'root'),
    run: join(base, 'run'),
    authFile: join(base, 'auth.json'),
    global: [
      '--root', join(base, 'root'),
      '--runroot', join(base, 'run'),
      '--tmpdir', join(base, 'libpod'),
      '--storage-driver', 'vfs',
      '--events-backend', 'none',
    ],
  };
}

function podman(args: string[], input?: string): Promise<RunResult> {
  const paths = podmanPaths();
  return run('podman', [...paths.global, ...args], {
    env: { ...process.env, TMPDIR: paths.tmp, REGISTRY_AUTH_FILE: paths.authFile },
    input,
  });
}

function skopeo(args: string[]): Promise<RunResult> {
  return run('skopeo', args, { env: { ...process.env, REGISTRY_AUTH_FILE: join(work, 'empty-auth.json') } });
}

// --- ECR output shapes ---------------------------------------------------------------------------

interface ImageDetail {
  registryId?: string;
  repositoryName?: string;
  imageDigest?: string;
  imageTags?: string[];
  imageSizeInBytes?: number;
  imagePushedAt?: string;
  imageManifestMediaType?: string;
}

interface ImageIdentifier {
  imageDigest?: string;
  imageTag?: string;
}

async function describeImages(): Promise<ImageDetail[]> {
  const out = await awsJson<{ imageDetails?: ImageDetail[] }>(['describe-images', '--repository-name', REPO]);
  return out.imageDetails ?? [];
}


/** A manifest as the OCI door serves it to the registry password, with its digest and layer sizes. */
async function servedManifest(reference: string): Promise<{ digest: string; mediaType: string; layerBytes: number; configBytes: number }> {
  const res = await fetch(`${berth.url}/v2/${REPO}/manifests/${reference}`, {
    headers: {
      Authorization: `Basic ${Buffer.from(`AWS:${password}`).toString('base64')}`,
      Accept: 'application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json',
    },
  });
  const body = Buffer.from(await res.arrayBuffer());
  expect(res.status, body.toString('utf8')).toBe(200);
  const manifest = JSON.parse(body.toString('utf8')) as { mediaType?: string; config: { size: number }; layers: { size: number }[] };
  return {
    digest: sha256(body),
    mediaType: manifest.mediaType ?? String(res.headers.get('content-type')),
    layerBytes: manifest.layers.reduce((sum, layer) => sum + layer.size, 0),
    configBytes: manifest.config.size,
  };
}

// --- setup ---------------------------------------------------------------------------------------

beforeAll(async () => {
  try {
    await access(AWS, constants.X_OK);
  } catch {
    throw new Error(
      `${AWS} not found or not executable: this test needs Debian's aws-cli v2 (apt-get install awscli). ` +
        '`aws` on PATH is not used, since it may be another installation (e.g. a pyenv shim for aws-cli v1).',
    );
  }
  work = await mkdtemp(join(tmpdir(), 'berth-e2e-aws-cli-'));
  await writeFile(join(work, 'empty-auth.json'), '{}');
  const paths = podmanPaths();
  await mkdir(paths.tmp, { recursive: true });
  await writeFile(paths.authFile, '{}');
  podmanImage = await writeImage(join(work, 'layout'), { seed: 'aws-cli-podman', tag: 'v1', layers: 2 });
  skopeoImage = await writeImage(join(work, 'layout'), { seed: 'aws-cli-skopeo', tag: 'v2', layers: 3 });
  berth = await startBerth({ env: { BERTH_CREATE_ON_PUSH: 'false' } });
}, TIMEOUT);

afterAll(async () => {
  try {
    await berth?.cleanup();
  } finally {
    if (work) await rm(work, { recursive: true, force: true });
  }
}, TIMEOUT);

// --- the scenario (tests run in order and build on each other) ------------------------------------

describe('aws ecr with podman and skopeo', () => {
  /** What podman pushed as v1: the digest it reported, and the manifest the registry serves. */
  let pushedV1: { digest: string; mediaType: string; layerBytes: number; configBytes: number };

  it('aws ecr create-repository returns the repository with its URI on this host', async () => {
    const out = await awsJson<{ repository?: { repositoryName?: string; repositoryUri?: string; repositoryArn?: string } }>([
      'create-repository', '--repository-name', REPO,
    ]);
    expect(out.repository?.repositoryName).toBe(REPO);
    expect(out.repository?.repositoryUri).toBe(`${berth.host}/${REPO}`);
    expect(out.repository?.repositoryArn).toMatch(new RegExp(`^arn:aws:ecr:us-east-1:\\d{12}:repository/${REPO}$`));
  }, TIMEOUT);

  it('aws ecr get-login-password logs podman in as AWS (password on stdin)', async () => {
    const r = await ok(aws(['get-login-password']));
    password = r.stdout.trim();
    expect(password.length).toBeGreaterThan(20);
    expect(password).not.toContain(berth.secretAccessKey);

    const paths = podmanPaths();
    const login = await ok(podman(['login', '--tls-verify=false', '--authfile', paths.authFile, '-u', 'AWS', '--password-stdin', berth.host], `${password}\n`));
    expect(login.stdout).toMatch(/Login Succeeded/i);
    const saved = JSON.parse(await readFile(paths.authFile, 'utf8')) as { auths: Record<string, { auth?: string }> };
    expect(Buffer.from(saved.auths[berth.host]?.auth ?? '', 'base64').toString()).toBe(`AWS:${password}`);
  }, TIMEOUT);

  it('podman pushes an image with the token; skopeo pushes another with --dest-creds AWS:<password>', async () => {
    const paths = podmanPaths();
    // Into podman's private storage from the OCI layout (skopeo, naming the storage podman uses;
    // `podman pull oci:` would name the image after the layout's path), then push it with podman.
    const localRef = `${berth.host}/${REPO}:v1`;
    await ok(skopeo(['copy', `oci:${join(work, 'layout')}:v1`, `containers-storage:[vfs@${paths.root}+${paths.run}]${localRef}`]));
    const inspected = JSON.parse((await ok(podman(['image', 'inspect', localRef]))).stdout) as { Id: string }[];
    expect(`sha256:${inspected[0]?.Id}`).toBe(podmanImage.configDigest);
    const digestFile = join(paths.base, 'v1.digest');
    await ok(podman([
      'push', '--tls-verify=false', '--authfile', paths.authFile, '--digestfile', digestFile,
      localRef, `docker://${berth.host}/${REPO}:v1`,
    ]));
    const reported = (await readFile(digestFile, 'utf8')).trim();
    pushedV1 = await servedManifest('v1');
    expect(pushedV1.digest).toBe(reported);

    await ok(skopeo([
      'copy', '--dest-tls-verify=false', '--dest-creds', `AWS:${password}`,
      `oci:${join(work, 'layout')}:v2`, `docker://${berth.host}/${REPO}:v2`,
    ]));
    expect((await servedManifest('v2')).digest).toBe(skopeoImage.manifestDigest);
  }, TIMEOUT);

  it('aws ecr describe-images shows both images with their digests, tags and sizes', async () => {
    const details = await describeImages();
    expect(details).toHaveLength(2);
    const v1 = details.find((d) => d.imageDigest === pushedV1.digest);
    const v2 = details.find((d) => d.imageDigest === skopeoImage.manifestDigest);
    expect(v1, JSON.stringify(details)).toBeDefined();
    expect(v2, JSON.stringify(details)).toBeDefined();

    expect(v1!.repositoryName).toBe(REPO);
    expect(v1!.imageTags).toEqual(['v1']);
    expect(v1!.imageManifestMediaType).toBe(pushedV1.mediaType);
    expect(
      v1!.imageSizeInBytes,
      `imageSizeInBytes of v1: expected the sum of its layer sizes, ${pushedV1.layerBytes} (with the config: ${pushedV1.layerBytes + pushedV1.configBytes})`,
    ).toBe(pushedV1.layerBytes);

    const v2Layers = skopeoImage.layers.reduce((sum, layer) => sum + layer.size, 0);
    expect(v2!.repositoryName).toBe(REPO);
    expect(v2!.imageTags).toEqual(['v2']);
    expect(v2!.imageManifestMediaType).toBe('application/vnd.oci.image.manifest.v1+json');
    expect(
      v2!.imageSizeInBytes,
      `imageSizeInBytes of v2: expected the sum of its layer sizes, ${v2Layers} (with the config: ${v2Layers + skopeoImage.config.size})`,
    ).toBe(v2Layers);
    for (const d of details) {
      expect(Number.isNaN(Date.parse(d.imagePushedAt ?? '')), `imagePushedAt ${d.imagePushedAt}`).toBe(false);
      expect(Math.abs(Date.parse(d.imagePushedAt!) - Date.now())).toBeLessThan(10 * 60_000);
    }
  }, TIMEOUT);

  it('aws ecr list-images lists both tags with their digests', async () => {
    const out = await awsJson<{ imageIds?: ImageIdentifier[] }>(['list-images', '--repository-name', REPO]);
    const ids = (out.imageIds ?? []).map((id) => ({ imageDigest: id.imageDigest, imageTag: id.imageTag }));
    expect(ids).toHaveLength(2);
    expect(ids).toEqual(
      expect.arrayContaining([
        { imageDigest: pushedV1.digest, imageTag: 'v1' },
        { imageDigest: skopeoImage.manifestDigest, imageTag: 'v2' },
      ]),
    );
  }, TIMEOUT);

  it('aws ecr batch-delete-image --image-ids imageTag=v1 deletes that image and only it', async () => {
    const out = await awsJson<{ imageIds?: ImageIdentifier[]; failures?: unknown[] }>([
      'batch-delete-image', '--repository-name', REPO, '--image-ids', 'imageTag=v1',
    ]);
    expect(out.failures ?? []).toEqual([]);
    expect(out.imageIds).toEqual([{ imageDigest: pushedV1.digest, imageTag: 'v1' }]);

    const details = await describeImages();
    expect(details.map((d) => d.imageDigest)).toEqual([skopeoImage.manifestDigest]);
    const byTag = await fails(aws(['describe-images', '--repository-name', REPO, '--image-ids', 'imageTag=v1']));
    expect(byTag.stderr).toMatch(/ImageNotFoundException/);
    const res = await fetch(`${berth.url}/v2/${REPO}/manifests/${pushedV1.digest}`, {
      headers: { Authorization: `Basic ${Buffer.from(`AWS:${password}`).toString('base64')}` },
    });
    expect(res.status, await res.text()).toBe(404);
  }, TIMEOUT);

  it('a push to a repository that was never created fails with NAME_UNKNOWN and creates nothing', async () => {
    const paths = podmanPaths();
    const r = await fails(podman([
      'push', '--tls-verify=false', '--authfile', paths.authFile,
      `${berth.host}/${REPO}:v1`, `docker://${berth.host}/${NEVER_CREATED}:v1`,
    ]));
    expect(r.stderr, describeRun(r)).toMatch(/NAME_UNKNOWN|name unknown/i);
    const described = await fails(aws(['describe-repositories', '--repository-names', NEVER_CREATED]));
    expect(described.stderr).toMatch(/RepositoryNotFoundException/);
  }, TIMEOUT);

  it('aws ecr describe-repositories with a wrong secret fails the signature check', async () => {
    const s = berth.secretAccessKey;
    const wrong = `${s.slice(0, -1)}${s.endsWith('x') ? 'y' : 'x'}`;
    const r = await fails(aws(['describe-repositories'], { secret: wrong }));
    expect(r.stderr).toMatch(/InvalidSignatureException/);
    expect(r.stderr).toMatch(/signature we calculated does not match the signature you provided/);
    // The same call with the right secret works, so the failure above is the secret's.
    const right = await awsJson<{ repositories?: { repositoryName?: string }[] }>(['describe-repositories']);
    expect(right.repositories?.map((repo) => repo.repositoryName)).toEqual([REPO]);
  }, TIMEOUT);

  it('aws ecr delete-repository --force deletes the repository with its remaining image', async () => {
    const out = await awsJson<{ repository?: { repositoryName?: string } }>(['delete-repository', '--repository-name', REPO, '--force']);
    expect(out.repository?.repositoryName).toBe(REPO);
    const after = await fails(aws(['describe-repositories', '--repository-names', REPO]));
    expect(after.stderr).toMatch(/RepositoryNotFoundException/);
    const images = await fails(aws(['describe-images', '--repository-name', REPO]));
    expect(images.stderr).toMatch(/RepositoryNotFoundException/);
  }, TIMEOUT);
});
