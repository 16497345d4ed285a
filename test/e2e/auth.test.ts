/**
 * Without (valid) credentials, clients get nothing: the /v2/ base endpoint challenges with Basic
 * (distribution-spec v1.1 "Determining Support", RFC 7235), and skopeo fails on an image that
 * exists, while the same command with the right credentials succeeds (so the failure is the auth).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeImage, type ImageResult } from '../fixtures/oci-layout.js';
import { runCommand, runCommandExpectingFailure, startBerth, type BerthProcess } from '../helpers/berth-process.js';

const TIMEOUT = 120_000;
const REPO = 'e2e/private';

let berth: BerthProcess;
let work: string;
let emptyAuthFile: string;
let image: ImageResult;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'berth-e2e-auth-'));
  emptyAuthFile = join(work, 'empty-auth.json');
  await writeFile(emptyAuthFile, '{}');
  image = await writeImage(join(work, 'layout'), { seed: 'auth', tag: 'v1', layers: 1 });
  berth = await startBerth();
  await skopeo([
    'copy', '--dest-tls-verify=false', '--dest-creds', `${berth.accessKeyId}:${berth.secretAccessKey}`,
    `oci:${join(work, 'layout')}:v1`, `docker://${berth.host}/${REPO}:v1`,
  ]);
}, TIMEOUT);

afterAll(async () => {
  try {
    await berth?.cleanup();
  } finally {
    if (work) await rm(work, { recursive: true, force: true });
  }
}, TIMEOUT);

function skopeo(args: string[]) {
  return runCommand('skopeo', args, { env: { REGISTRY_AUTH_FILE: emptyAuthFile } });
}

const basic = (id: string, secret: string): string => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;

describe('the /v2/ base endpoint', () => {
  it('answers 401 with a Basic challenge and an UNAUTHORIZED error without credentials', async () => {
    const res = await fetch(`${berth.url}/v2/`);
    const body = await res.text();
    expect(res.status, body).toBe(401);
    expect(res.headers.get('www-authenticate')).toMatch(/^Basic realm="[^"]+"/);
    expect(JSON.parse(body)).toMatchObject({ errors: [{ code: 'UNAUTHORIZED' }] });
  }, TIMEOUT);

  it('answers 401 to a wrong secret and 200 to the right one', async () => {
    const wrong = await fetch(`${berth.url}/v2/`, {
      // Change the last character to one it is not, so the secret is always wrong.
      headers: { Authorization: basic(berth.accessKeyId, `${berth.secretAccessKey.slice(0, -1)}${berth.secretAccessKey.endsWith('x') ? 'y' : 'x'}`) },
    });
    expect(wrong.status, await wrong.text()).toBe(401);
    expect(wrong.headers.get('www-authenticate')).toMatch(/^Basic realm="[^"]+"/);

    const unknownKey = await fetch(`${berth.url}/v2/`, {
      headers: { Authorization: basic('AKIAAAAAAAAAAAAAAAAA', berth.secretAccessKey) },
    });
    expect(unknownKey.status, await unknownKey.text()).toBe(401);

    const right = await fetch(`${berth.url}/v2/`, { headers: { Authorization: berth.authHeader } });
    expect(right.status, await right.text()).toBe(200);
  }, TIMEOUT);

  it('does not serve a manifest without credentials', async () => {
    const res = await fetch(`${berth.url}/v2/${REPO}/manifests/${image.manifestDigest}`, {
      headers: { Accept: 'application/vnd.oci.image.manifest.v1+json' },
    });
    expect(res.status, await res.text()).toBe(401);
    expect(res.headers.get('www-authenticate')).toMatch(/^Basic realm="[^"]+"/);
  }, TIMEOUT);
});

describe('skopeo', () => {
  const ref = (): string => `docker://${berth.host}/${REPO}:v1`;

  it('reads the image with credentials', async () => {
    const { stdout } = await skopeo([
      'inspect', '--raw', '--tls-verify=false', '--creds', `${berth.accessKeyId}:${berth.secretAccessKey}`, ref(),
    ]);
    expect(JSON.parse(stdout)).toMatchObject({ config: { digest: image.configDigest } });
  }, TIMEOUT);

  it('fails to inspect without credentials', async () => {
    const failure = await runCommandExpectingFailure(
      'skopeo', ['inspect', '--raw', '--tls-verify=false', '--no-creds', ref()],
      { env: { REGISTRY_AUTH_FILE: emptyAuthFile } },
    );
    expect(failure.stderr).toMatch(/unauthorized|authentication required|401/i);
  }, TIMEOUT);

  it('fails to inspect with a wrong secret', async () => {
    const failure = await runCommandExpectingFailure(
      'skopeo', ['inspect', '--raw', '--tls-verify=false', '--creds', `${berth.accessKeyId}:wrong-secret`, ref()],
      { env: { REGISTRY_AUTH_FILE: emptyAuthFile } },
    );
    expect(failure.stderr).toMatch(/unauthorized|authentication required|401/i);
  }, TIMEOUT);

  it('fails to push without credentials', async () => {
    const failure = await runCommandExpectingFailure(
      'skopeo', [
        'copy', '--dest-tls-verify=false', '--dest-no-creds',
        `oci:${join(work, 'layout')}:v1`, `docker://${berth.host}/${REPO}:anonymous`,
      ],
      { env: { REGISTRY_AUTH_FILE: emptyAuthFile } },
    );
    expect(failure.stderr).toMatch(/unauthorized|authentication required|401/i);

    // Nothing was tagged.
    const res = await fetch(`${berth.url}/v2/${REPO}/manifests/anonymous`, {
      headers: { Authorization: berth.authHeader, Accept: 'application/vnd.oci.image.manifest.v1+json' },
    });
    expect(res.status, await res.text()).toBe(404);
  }, TIMEOUT);
});
