/**
 * Access control with the real client: skopeo pulls and pushes as IAM users whose rights come
 * from AWS's managed ECR policies, and as a user of another account, against a real berth process
 * (docs/access-control.md; the request-by-request matrix is test/integration/access-matrix.test.ts).
 *
 *   reader   AmazonEC2ContainerRegistryReadOnly: inspects, lists and copies from a repository,
 *            cannot push to it (ecr:InitiateLayerUpload / ecr:PutImage are refused)
 *   pusher   AmazonEC2ContainerRegistryPowerUser: pushes new images, cannot delete them
 *            (no ecr:BatchDeleteImage)
 *   partner  a user of another account (made with `berth account create`, as an operator would)
 *            with ReadOnly in its own account: cannot pull from account A's repository until that
 *            repository's policy grants account B the pull actions; then pulls, also with a
 *            registry token from its own GetAuthorizationToken (`aws ecr get-login-password`).
 *
 * Needs skopeo on PATH and `npm run build` (the server runs from bin/berth.js). Nothing leaves
 * the loopback interface.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  CreateRepositoryCommand,
  DescribeImagesCommand,
  GetAuthorizationTokenCommand,
  SetRepositoryPolicyCommand,
  type ECRClient,
} from '@aws-sdk/client-ecr';
import { DetachUserPolicyCommand } from '@aws-sdk/client-iam';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeImage, resolveLayoutTag, type ImageResult } from '../fixtures/oci-layout.js';
import { ecrClient, iamClient, userWithPolicies } from '../helpers/aws-clients.js';
import { BERTH_BIN, PROJECT_ROOT, runCommand, runCommandExpectingFailure, startBerth, type BerthProcess } from '../helpers/berth-process.js';
import { sha256 } from '../helpers/oci-client.js';

const TIMEOUT = 120_000;
const READ_ONLY = 'arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly';
const POWER_USER = 'arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryPowerUser';
const A = '000000000000'; // berth's default account
const B = '111122223333';
const REPO = 'e2e/access/app';
const SHARED = 'e2e/access/shared';

interface Key {
  accessKeyId: string;
  secretAccessKey: string;
}

let berth: BerthProcess;
let work: string;
let emptyAuthFile: string;
let base: ImageResult;
let fresh: ImageResult;
let rootEcr: ECRClient;
let reader: Key;
let pusher: Key;
let partner: Key;
let rootB: Key;
let pulls = 0;

const creds = (key: Key): string => `${key.accessKeyId}:${key.secretAccessKey}`;

/** skopeo, isolated from any credentials stored for the user running the tests. */
function skopeo(args: string[]) {
  return runCommand('skopeo', args, { env: { REGISTRY_AUTH_FILE: emptyAuthFile } });
}
function skopeoFails(args: string[]) {
  return runCommandExpectingFailure('skopeo', args, { env: { REGISTRY_AUTH_FILE: emptyAuthFile } });
}

const layout = (name: string, tag: string): string => `oci:${join(work, name)}:${tag}`;
const push = (credentials: string, from: string, ref: string): string[] => ['copy', '--dest-tls-verify=false', '--dest-creds', credentials, from, `docker://${berth.host}/${ref}`];
const pull = (credentials: string, ref: string, dir: string): string[] => ['copy', '--src-tls-verify=false', '--src-creds', credentials, `docker://${berth.host}/${ref}`, `oci:${dir}:pulled`];

/** Pull `ref` into a new layout and return the manifest digest skopeo recorded for it. */
async function pulledDigest(credentials: string, ref: string): Promise<string> {
  const dir = join(work, `pull-${++pulls}`);
  await skopeo(pull(credentials, ref, dir));
  return (await resolveLayoutTag(dir, 'pulled')).digest;
}

/** The manifest bytes as served (skopeo inspect --raw), so their sha256 is the manifest digest. */
async function rawDigest(credentials: string, ref: string): Promise<string> {
  const { stdout } = await skopeo(['inspect', '--raw', '--tls-verify=false', '--creds', credentials, `docker://${berth.host}/${ref}`]);
  return sha256(stdout);
}

/** A refusal as skopeo reports the registry's 403 DENIED: AWS's wording, naming the user and the action. */
function expectDenied(stderr: string, userArn: string, action: string): void {
  expect(stderr).toMatch(/denied/i);
  expect(stderr).toContain(`User: ${userArn} is not authorized to perform: ${action}`);
}

/** `berth account create`, run on the server's data folder while it runs, as an operator would. */
async function createAccount(accountId: string): Promise<Key> {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('BERTH_')) env[k] = v;
  const { stdout } = await promisify(execFile)(process.execPath, [BERTH_BIN, 'account', 'create', accountId], {
    cwd: PROJECT_ROOT,
    env: { ...env, BERTH_DATA_DIR: berth.dataDir },
    encoding: 'utf8',
    timeout: 30_000,
  });
  const id = /access key id:\s+(AKIA[A-Z0-9]{16})\s*$/m.exec(stdout);
  const secret = /secret access key:\s+(\S{40})\s*$/m.exec(stdout);
  if (!id || !secret) throw new Error(`berth account create printed no key:\n${stdout}`);
  return { accessKeyId: id[1]!, secretAccessKey: secret[1]! };
}

async function imageTags(repositoryName: string): Promise<string[]> {
  const out = await rootEcr.send(new DescribeImagesCommand({ repositoryName }));
  return (out.imageDetails ?? []).flatMap((d) => d.imageTags ?? []).sort();
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'berth-e2e-access-'));
  emptyAuthFile = join(work, 'empty-auth.json');
  await writeFile(emptyAuthFile, '{}');
  base = await writeImage(join(work, 'base'), { seed: 'access-base', tag: 'v1', layers: 2 });
  fresh = await writeImage(join(work, 'fresh'), { seed: 'access-fresh', tag: 'v1', layers: 2 });
  // As ECR: repositories exist only once CreateRepository made them.
  berth = await startBerth({ env: { BERTH_CREATE_ON_PUSH: 'false' } });
  rootEcr = ecrClient(berth);
  for (const repositoryName of [REPO, SHARED]) await rootEcr.send(new CreateRepositoryCommand({ repositoryName }));
  const root = creds(berth);
  await skopeo(push(root, layout('base', 'v1'), `${REPO}:v1`));
  await skopeo(push(root, layout('base', 'v1'), `${SHARED}:v1`));

  reader = await userWithPolicies(berth, 'reader', [READ_ONLY]);
  pusher = await userWithPolicies(berth, 'pusher', [POWER_USER]);
  rootB = await createAccount(B);
  partner = await userWithPolicies({ url: berth.url, ...rootB }, 'partner', [READ_ONLY]);
}, TIMEOUT);

afterAll(async () => {
  try {
    await berth?.cleanup();
  } finally {
    if (work) await rm(work, { recursive: true, force: true });
  }
}, TIMEOUT);

describe('a ReadOnly user (AmazonEC2ContainerRegistryReadOnly)', () => {
  it('inspects, lists the tags of and copies from the repository, with the pushed digest', async () => {
    const { stdout } = await skopeo(['inspect', '--tls-verify=false', '--creds', creds(reader), `docker://${berth.host}/${REPO}:v1`]);
    expect(JSON.parse(stdout)).toMatchObject({ Digest: base.manifestDigest, RepoTags: ['v1'] });
    expect(await rawDigest(creds(reader), `${REPO}:v1`)).toBe(base.manifestDigest);
    expect(await pulledDigest(creds(reader), `${REPO}:v1`)).toBe(base.manifestDigest);
  }, TIMEOUT);

  it('cannot push: a new image is refused at ecr:InitiateLayerUpload, a new tag of stored blobs at ecr:PutImage', async () => {
    const userArn = `arn:aws:iam::${A}:user/reader`;
    const newImage = await skopeoFails(push(creds(reader), layout('fresh', 'v1'), `${REPO}:by-reader`));
    expectDenied(newImage.stderr, userArn, 'ecr:InitiateLayerUpload');
    // Every blob of the base image is in the repository already: only the manifest PUT is left to refuse.
    const newTag = await skopeoFails(push(creds(reader), layout('base', 'v1'), `${REPO}:by-reader`));
    expectDenied(newTag.stderr, userArn, 'ecr:PutImage');
    expect(await imageTags(REPO)).toEqual(['v1']);
  }, TIMEOUT);
});

describe('a PowerUser (AmazonEC2ContainerRegistryPowerUser)', () => {
  it('pushes a new image (blob uploads and manifest) that pulls back with the same digest', async () => {
    await skopeo(push(creds(pusher), layout('fresh', 'v1'), `${REPO}:by-pusher`));
    expect(await rawDigest(creds(pusher), `${REPO}:by-pusher`)).toBe(fresh.manifestDigest);
    expect(await pulledDigest(creds(reader), `${REPO}:by-pusher`)).toBe(fresh.manifestDigest);
    expect(await imageTags(REPO)).toEqual(['by-pusher', 'v1']);
  }, TIMEOUT);

  it('cannot delete an image: the policy has no ecr:BatchDeleteImage', async () => {
    const refused = await skopeoFails(['delete', '--tls-verify=false', '--creds', creds(pusher), `docker://${berth.host}/${REPO}@${fresh.manifestDigest}`]);
    expectDenied(refused.stderr, `arn:aws:iam::${A}:user/pusher`, 'ecr:BatchDeleteImage');
    expect(await imageTags(REPO)).toEqual(['by-pusher', 'v1']);
  }, TIMEOUT);
});

describe('a user of another account (ReadOnly in its own account)', () => {
  const userArn = `arn:aws:iam::${B}:user/partner`;

  it('cannot pull until the repository policy grants its account; then pulls, with its key and with a registry token', async () => {
    const before = await skopeoFails(pull(creds(partner), `${SHARED}:v1`, join(work, 'partner-refused')));
    expectDenied(before.stderr, userArn, 'ecr:BatchGetImage');
    expect(before.stderr).toContain(`cross-account request for ecr:BatchGetImage on arn:aws:ecr:us-east-1:${A}:repository/${SHARED}`);

    // The cross-account pull grant of ECR's documentation, naming only the account: B's own
    // identity policies (ReadOnly here) decide which of its users may use it.
    const grant = {
      Version: '2012-10-17',
      Statement: [{
        Sid: 'AllowPullFromAccountB',
        Effect: 'Allow',
        Principal: { AWS: `arn:aws:iam::${B}:root` },
        Action: ['ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer', 'ecr:BatchCheckLayerAvailability'],
      }],
    };
    await rootEcr.send(new SetRepositoryPolicyCommand({ repositoryName: SHARED, policyText: JSON.stringify(grant) }));

    // The account is named by the path (`<host>/<account>/<repository>`), or left to the default.
    expect(await pulledDigest(creds(partner), `${A}/${SHARED}:v1`)).toBe(base.manifestDigest);
    expect(await pulledDigest(creds(partner), `${SHARED}:v1`)).toBe(base.manifestDigest);

    // `docker login -u AWS -p $(aws ecr get-login-password)` in account B: the token is B's user.
    const { authorizationData } = await ecrClient(berth, partner).send(new GetAuthorizationTokenCommand({}));
    const login = Buffer.from(authorizationData![0]!.authorizationToken!, 'base64').toString();
    expect(login).toMatch(/^AWS:/);
    expect(await pulledDigest(login, `${A}/${SHARED}@${base.manifestDigest}`)).toBe(base.manifestDigest);

    // The grant opens that repository only, and for pulling only.
    const other = await skopeoFails(pull(creds(partner), `${REPO}:v1`, join(work, 'partner-other-repo')));
    expectDenied(other.stderr, userArn, 'ecr:BatchGetImage');
    const pushBack = await skopeoFails(push(login, layout('fresh', 'v1'), `${A}/${SHARED}:by-partner`));
    expectDenied(pushBack.stderr, userArn, 'ecr:InitiateLayerUpload');
    expect(await imageTags(SHARED)).toEqual(['v1']);
  }, TIMEOUT);

  it('is refused again once its own account takes the permission away (cross-account needs both sides)', async () => {
    await iamClient({ url: berth.url, ...rootB }).send(new DetachUserPolicyCommand({ UserName: 'partner', PolicyArn: READ_ONLY }));
    const refused = await skopeoFails(pull(creds(partner), `${A}/${SHARED}:v1`, join(work, 'partner-detached')));
    expectDenied(refused.stderr, userArn, 'ecr:BatchGetImage');
    expect(refused.stderr).toContain(`no identity-based policy of account ${B} allows it`);
  }, TIMEOUT);
});

