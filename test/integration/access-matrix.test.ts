/**
 * The access-control matrix through the real server (docs/access-control.md, issue #4): every row
 * of the doc's two tables (each OCI route, each ECR operation) is called by each kind of caller,
 * with @aws-sdk/client-ecr on the ECR door and plain HTTP (OciTestClient) on the OCI door:
 *
 *   root                 the account's root user, in its own account: allowed
 *   allowed              a user whose one inline policy allows exactly the row's action on the
 *                        row's repository (`*` for registry-level actions): allowed
 *   nobody               a user with no policies: refused, "no identity-based or resource-based
 *                        policy allows ..."
 *   denied               a user allowed `ecr:*` on `*` with an explicit Deny of the row's action:
 *                        refused, and the message names the deny
 *   partner (account B)  a user of another account whose identity policy allows the action on
 *                        the repository in account A: refused without a repository policy that
 *                        grants it; allowed once the repository policy names account B or the
 *                        user; refused again without its own identity policy (both sides).
 *
 * A refusal is 403 DENIED on the OCI door and AccessDeniedException (HTTP 400) on the ECR door,
 * with AWS's wording `User: <arn> is not authorized to perform: <action> on resource: <arn>
 * because <reason>`. The OCI rows run twice: with the access key pair in HTTP Basic, and with a
 * registry token from GetAuthorizationToken, which must carry the same identity.
 *
 * Registry-level actions (GetAuthorizationToken, DescribeRegistry, DescribeRepositories and the
 * catalog, account settings, pull-time update exclusions, registry policy, registry scanning and
 * replication configuration, replication backfills, pull-through cache rules, repository creation
 * templates) are decided on `*` in the caller's own registry, where no repository policy can grant
 * anything: they have no cross-account column. CreateRepository has only the cross-account case
 * without a repository policy (a repository that does not exist yet has none).
 * BatchGetRepositoryScanningConfiguration is decided on each repository but takes no registryId
 * (as in ECR): a caller can only name repositories of its own registry, so it has no
 * cross-account column either.
 *
 * One in-process server for the file; each case sets its callers' policies, the repository's
 * policy and what the call acts on (as root) just before the call.
 */
import { randomBytes } from 'node:crypto';
import {
  BatchCheckLayerAvailabilityCommand,
  BatchDeleteImageCommand,
  BatchGetImageCommand,
  BatchGetRepositoryScanningConfigurationCommand,
  CompleteLayerUploadCommand,
  CreatePullThroughCacheRuleCommand,
  CreateRepositoryCommand,
  CreateRepositoryCreationTemplateCommand,
  DeleteLifecyclePolicyCommand,
  DeletePullThroughCacheRuleCommand,
  DeleteRegistryPolicyCommand,
  DeleteRepositoryCommand,
  DeleteRepositoryCreationTemplateCommand,
  DeleteRepositoryPolicyCommand,
  DeregisterPullTimeUpdateExclusionCommand,
  DescribeImageReplicationStatusCommand,
  DescribeImageScanFindingsCommand,
  DescribeImagesCommand,
  DescribePullThroughCacheRulesCommand,
  DescribeRegistryCommand,
  DescribeReplicationBackfillResultsCommand,
  DescribeRepositoriesCommand,
  DescribeRepositoryCreationTemplatesCommand,
  GetAccountSettingCommand,
  GetAuthorizationTokenCommand,
  GetDownloadUrlForLayerCommand,
  GetLifecyclePolicyCommand,
  GetLifecyclePolicyPreviewCommand,
  GetRegistryPolicyCommand,
  GetRegistryScanningConfigurationCommand,
  GetRepositoryPolicyCommand,
  InitiateLayerUploadCommand,
  ListImageReferrersCommand,
  ListImagesCommand,
  ListPullTimeUpdateExclusionsCommand,
  ListReplicationBackfillsCommand,
  ListTagsForResourceCommand,
  PutAccountSettingCommand,
  PutImageCommand,
  PutImageScanningConfigurationCommand,
  PutImageTagMutabilityCommand,
  PutLifecyclePolicyCommand,
  PutRegistryPolicyCommand,
  PutRegistryScanningConfigurationCommand,
  PutReplicationConfigurationCommand,
  RegisterPullTimeUpdateExclusionCommand,
  SetRepositoryPolicyCommand,
  StartImageScanCommand,
  StartLifecyclePolicyPreviewCommand,
  StartReplicationBackfillCommand,
  StopReplicationBackfillCommand,
  TagResourceCommand,
  UntagResourceCommand,
  UpdateImageStorageClassCommand,
  UpdatePullThroughCacheRuleCommand,
  UpdateRepositoryCreationTemplateCommand,
  UploadLayerPartCommand,
  ValidatePullThroughCacheRuleCommand,
  type ECRClient,
  type RegistryScanningConfiguration,
  type ReplicationConfiguration,
} from '@aws-sdk/client-ecr';
import { CreateAccessKeyCommand, CreateUserCommand, DeleteUserPolicyCommand, PutUserPolicyCommand, type IAMClient } from '@aws-sdk/client-iam';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SecretBox } from '../../src/iam/index.js';
import { ecrClient, iamClient } from '../helpers/aws-clients.js';
import { OciTestClient, sha256 } from '../helpers/oci-client.js';
import { basicAuth, startTestServer, type TestServer } from '../helpers/test-server.js';

const A = '000000000000'; // the test server's default account: every repository of the matrix is here
const B = '111122223333'; // the other account
const THIRD = '999988887777'; // named by unrelated statements only
const REGION = 'us-east-1';
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';

const repoArn = (name: string): string => `arn:aws:ecr:${REGION}:${A}:repository/${name}`;
const userArn = (account: string, name: string): string => `arn:aws:iam::${account}:user/${name}`;
const doc = (statements: object[]): string => JSON.stringify({ Version: '2012-10-17', Statement: statements });

interface Credentials {
  accessKeyId: string;
  secretAccessKey: string;
}

/** How an OCI caller authenticates: its access key pair in HTTP Basic, or a registry token (`AWS:<token>`). */
type OciAuth = 'key' | 'token';

interface Caller {
  arn: string;
  ecr: ECRClient;
  oci: Record<OciAuth, OciTestClient>;
}

/** What a call came to: allowed, or refused with a status, an error code (OCI) or name (ECR) and a message. */
type Outcome = { ok: true; status: number } | { ok: false; status: number; code: string; message: string; bodyless?: true };

/** What the root prepared for one call: digests, upload sessions, a manifest to push. */
interface Ready {
  digest?: string;
  layer?: string;
  location?: string;
  uploadId?: string;
  manifest?: Buffer;
  data?: Buffer;
  /** What else the call names: a replication backfill's id. */
  id?: string;
}

interface Row {
  /** As the doc's table names it. */
  name: string;
  door: 'oci' | 'ecr';
  action: string;
  /** `registry`: decided on `*` in the caller's own registry (no cross-account column). */
  scope: 'repository' | 'registry';
  /** The repository the row acts on (unused for registry-level rows). */
  repo: string;
  /** More that a caller must be allowed, on another repository (the source of a mount), or on `*` without one. */
  extra?: { repo?: string; actions: string[] };
  /** The repository's policy always holds an unrelated statement (the rows about repository policies). */
  basePolicy?: boolean;
  /** Why there is no cross-account case with a granting repository policy. */
  noGrant?: string;
  /** Why a repository-level row has no cross-account column at all (the operation cannot name another registry). */
  ownRegistryOnly?: string;
  /** The root prepares what the call acts on; run before every call, after the policies are set. */
  setup?(row: Row): Promise<Ready>;
  call(caller: Caller, ready: Ready, row: Row, auth: OciAuth): Promise<Outcome>;
}

let server: TestServer;
let rootEcr: ECRClient;
let rootOci: OciTestClient;
let iamA: IAMClient;
let iamB: IAMClient;
let rootBKey: Credentials;
const callers = {} as Record<'root' | 'allowed' | 'nobody' | 'denied' | 'partner', Caller>;

// --- outcomes ------------------------------------------------------------------------------------

/** An OCI response as an outcome; a 2xx must be the status the route answers on success. */
async function oci(response: Promise<Response>, success: number, opts: { head?: boolean } = {}): Promise<Outcome> {
  const res = await response;
  const text = await res.text();
  if (res.status >= 200 && res.status < 300) {
    expect(res.status, text).toBe(success);
    return { ok: true, status: res.status };
  }
  // A HEAD answer has no body (RFC 9110): its status is all there is to see.
  if (opts.head) {
    expect(text).toBe('');
    return { ok: false, status: res.status, code: '', message: '', bodyless: true };
  }
  const body = (text ? JSON.parse(text) : {}) as { errors?: { code: string; message: string }[] };
  return { ok: false, status: res.status, code: body.errors?.[0]?.code ?? '', message: body.errors?.[0]?.message ?? text };
}

/** An AWS SDK call as an outcome; `check` looks at a successful answer. */
async function ecr<T>(send: Promise<T>, check?: (out: T) => void): Promise<Outcome> {
  let out: T;
  try {
    out = await send;
  } catch (err) {
    if (err instanceof Error && '$metadata' in err) {
      return { ok: false, status: (err as { $metadata: { httpStatusCode?: number } }).$metadata.httpStatusCode ?? 0, code: err.name, message: err.message };
    }
    throw err;
  }
  check?.(out);
  return { ok: true, status: 200 };
}

function expectAllowed(outcome: Outcome): void {
  expect(outcome, outcome.ok ? '' : `${outcome.status} ${outcome.code}: ${outcome.message}`).toMatchObject({ ok: true });
}

/** A refusal in AWS's words, from the door's own error: 403 DENIED (OCI) or AccessDeniedException (ECR, 400). */
function expectRefused(outcome: Outcome, row: Row, caller: Caller, because: RegExp): void {
  expect(outcome.ok, `expected a refusal, got ${outcome.status}`).toBe(false);
  if (outcome.ok) return;
  if (outcome.bodyless) {
    expect(outcome.status).toBe(row.door === 'oci' ? 403 : 400);
    return;
  }
  expect({ status: outcome.status, code: outcome.code }).toEqual(row.door === 'oci' ? { status: 403, code: 'DENIED' } : { status: 400, code: 'AccessDeniedException' });
  const resource = row.scope === 'registry' ? '*' : repoArn(row.repo);
  const prefix = `User: ${caller.arn} is not authorized to perform: ${row.action} on resource: ${resource} because `;
  expect(outcome.message.startsWith(prefix), `${outcome.message}\ndoes not start with\n${prefix}`).toBe(true);
  expect(outcome.message.slice(prefix.length)).toMatch(because);
}

// --- setting the stage ------------------------------------------------------------------------

const isAwsError = (err: unknown, name: string): boolean => err instanceof Error && err.name === name;

async function ignoring(names: string[], send: Promise<unknown>): Promise<void> {
  try {
    await send;
  } catch (err) {
    if (!names.some((n) => isAwsError(err, n))) throw err;
  }
}

const ensureRepository = (name: string) => ignoring(['RepositoryAlreadyExistsException'], rootEcr.send(new CreateRepositoryCommand({ repositoryName: name })));

/** The repository policy: the row's unrelated statement, if any, and a grant to `principal`, if any. */
async function setRepositoryPolicy(repo: string, actions: string[], base: boolean, principal: string | undefined): Promise<void> {
  const statements = [
    ...(base ? [{ Sid: 'Unrelated', Effect: 'Allow', Principal: { AWS: THIRD }, Action: ['ecr:BatchGetImage'] }] : []),
    ...(principal ? [{ Sid: 'Grant', Effect: 'Allow', Principal: { AWS: principal }, Action: actions }] : []),
  ];
  if (statements.length === 0) {
    await ignoring(['RepositoryPolicyNotFoundException'], rootEcr.send(new DeleteRepositoryPolicyCommand({ repositoryName: repo })));
  } else {
    await rootEcr.send(new SetRepositoryPolicyCommand({ repositoryName: repo, policyText: doc(statements) }));
  }
}

/** The allowing statements of a row: its action on its repository (or `*`), and the extra grant. */
function allowStatements(row: Row): object[] {
  return [
    { Sid: 'Row', Effect: 'Allow', Action: row.action, Resource: row.scope === 'registry' ? '*' : repoArn(row.repo) },
    ...(row.extra ? [{ Sid: 'Extra', Effect: 'Allow', Action: row.extra.actions, Resource: row.extra.repo !== undefined ? repoArn(row.extra.repo) : '*' }] : []),
  ];
}

type Case = 'root' | 'allowed' | 'nobody' | 'denied' | 'partner-no-policy' | 'partner-account-grant' | 'partner-user-grant' | 'partner-no-identity';

/** Put policies in place for `kase`, let the root prepare, call, and return the outcome. */
async function attempt(row: Row, kase: Case, auth: OciAuth = 'key'): Promise<{ outcome: Outcome; caller: Caller }> {
  const partnerGrant = kase === 'partner-account-grant' ? B : kase === 'partner-user-grant' || kase === 'partner-no-identity' ? userArn(B, 'partner') : undefined;
  if (row.scope === 'repository') {
    await ensureRepository(row.repo);
    await setRepositoryPolicy(row.repo, [row.action], row.basePolicy ?? false, partnerGrant);
    if (row.extra?.repo !== undefined) {
      await ensureRepository(row.extra.repo);
      await setRepositoryPolicy(row.extra.repo, row.extra.actions, false, partnerGrant);
    }
  }
  switch (kase) {
    case 'allowed':
      await iamA.send(new PutUserPolicyCommand({ UserName: 'allowed', PolicyName: 'Row', PolicyDocument: doc(allowStatements(row)) }));
      break;
    case 'denied': {
      const resource = row.scope === 'registry' ? '*' : repoArn(row.repo);
      const deny = doc([{ Sid: 'DenyRow', Effect: 'Deny', Action: row.action, Resource: resource }]);
      await iamA.send(new PutUserPolicyCommand({ UserName: 'denied', PolicyName: 'DenyRow', PolicyDocument: deny }));
      break;
    }
    case 'partner-no-policy':
    case 'partner-account-grant':
    case 'partner-user-grant':
      await iamB.send(new PutUserPolicyCommand({ UserName: 'partner', PolicyName: 'Row', PolicyDocument: doc(allowStatements(row)) }));
      break;
    case 'partner-no-identity':
      await ignoring(['NoSuchEntityException'], iamB.send(new DeleteUserPolicyCommand({ UserName: 'partner', PolicyName: 'Row' })));
      break;
  }
  const ready = row.setup ? await row.setup(row) : {};
  const caller = callers[kase.startsWith('partner') ? 'partner' : (kase as 'root' | 'allowed' | 'nobody' | 'denied')];
  return { outcome: await row.call(caller, ready, row, auth), caller };
}

// --- what the root prepares -------------------------------------------------------------------

let tagCounter = 0;
const nextTag = (): string => `t${++tagCounter}`;

async function pushImage(repo: string): Promise<Ready> {
  const tag = nextTag();
  const image = await rootOci.pushImage(repo, tag);
  return { digest: image.digest, layer: image.layers[0]!, manifest: image.body };
}

/** A config and a layer pushed, and an image manifest over them that is not pushed yet. */
async function blobsForManifest(repo: string): Promise<Ready> {
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] }, nonce: randomBytes(8).toString('hex') }));
  const layer = randomBytes(512);
  const configDigest = await rootOci.pushBlob(repo, config);
  const layerDigest = await rootOci.pushBlob(repo, layer);
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: configDigest, size: config.length },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: layerDigest, size: layer.length }],
    }),
  );
  return { manifest, digest: sha256(manifest) };
}

async function startOciUpload(repo: string, data?: Buffer): Promise<Ready> {
  const res = await rootOci.request('POST', `/v2/${repo}/blobs/uploads/`);
  expect(res.status, await res.text()).toBe(202);
  const location = res.headers.get('location')!;
  if (data) {
    const patch = await rootOci.request('PATCH', location, { body: data, headers: { 'content-type': 'application/octet-stream', 'content-range': `0-${data.length - 1}` } });
    expect(patch.status, await patch.text()).toBe(202);
  }
  return { location, ...(data ? { data, digest: sha256(data) } : {}) };
}

async function startEcrUpload(repo: string, data?: Buffer): Promise<Ready> {
  const { uploadId } = await rootEcr.send(new InitiateLayerUploadCommand({ repositoryName: repo }));
  if (data) await rootEcr.send(new UploadLayerPartCommand({ repositoryName: repo, uploadId, partFirstByte: 0, partLastByte: data.length - 1, layerPartBlob: data }));
  return { uploadId: uploadId!, ...(data ? { data, digest: sha256(data) } : {}) };
}

/** A lifecycle policy that expires nothing the matrix pushes (at least 100 characters, as ECR requires). */
const LIFECYCLE_POLICY = JSON.stringify({
  rules: [
    {
      rulePriority: 1,
      description: 'matrix: keep the 100 newest untagged images',
      selection: { tagStatus: 'untagged', countType: 'imageCountMoreThan', countNumber: 100 },
      action: { type: 'expire' },
    },
  ],
});

/** The repository's lifecycle policy in place, and no preview in progress (one per repository at a time). */
async function withLifecyclePolicy(repo: string): Promise<void> {
  await rootEcr.send(new PutLifecyclePolicyCommand({ repositoryName: repo, lifecyclePolicyText: LIFECYCLE_POLICY }));
  await server.app.jobs.drain(['lifecycle.preview'], { timeoutMs: 60_000 });
}

/**
 * BASIC scanning, with a scan-on-push rule that matches no repository of the matrix: StartImageScan
 * must stay possible (one basic scan per image per day, counting the scan on push; none under ENHANCED).
 */
const SCANNING_CONFIGURATION: RegistryScanningConfiguration = {
  scanType: 'BASIC',
  rules: [{ scanFrequency: 'SCAN_ON_PUSH', repositoryFilters: [{ filter: 'matrix-nothing-scans-on-push', filterType: 'WILDCARD' }] }],
};

/** Where the matrix replicates: account B in this region (a destination must be this region or a configured peer's). */
const REPLICATED_TO = { region: REGION, registryId: B };
const BACKFILLED = 'matrix/backfilled';
/**
 * Two repositories go to account B, whose registry policy does not accept them: each copy ends
 * FAILED (REGISTRY_POLICY_DENIED) at once, and nothing is created in account B.
 */
const REPLICATION_CONFIGURATION: ReplicationConfiguration = {
  rules: [
    {
      destinations: [REPLICATED_TO],
      repositoryFilters: [
        { filterType: 'PREFIX_MATCH', filter: 'matrix/ecr-describeimagereplicationstatus' },
        { filterType: 'PREFIX_MATCH', filter: BACKFILLED },
      ],
    },
  ],
};
let backfilledImages: Promise<void> | undefined;

/**
 * The replication rules in place and no backfill in progress (one per destination region at a
 * time, and there is one region); then, if `start`, a backfill started by the root.
 */
async function backfillStage(start: boolean): Promise<Ready> {
  await rootEcr.send(new PutReplicationConfigurationCommand({ replicationConfiguration: REPLICATION_CONFIGURATION }));
  // Images to copy, so that a backfill runs for a while (100 ms between two): StopReplicationBackfill finds it running.
  backfilledImages ??= (async () => {
    for (let i = 0; i < 8; i++) await pushImage(BACKFILLED);
  })();
  await backfilledImages;
  const { backfills } = await rootEcr.send(new ListReplicationBackfillsCommand({ maxResults: 50 }));
  for (const b of backfills ?? []) {
    if (b.status !== 'PREPARING' && b.status !== 'IN_PROGRESS') continue;
    await ignoring(['ReplicationBackfillInvalidStatusException'], rootEcr.send(new StopReplicationBackfillCommand({ replicationBackfillId: b.replicationBackfillId! })));
  }
  await server.app.jobs.drain(['replication.backfill', 'replication.copy'], { timeoutMs: 60_000 });
  if (!start) return {};
  const { replicationBackfillId } = await rootEcr.send(new StartReplicationBackfillCommand({ destination: REPLICATED_TO }));
  return { id: replicationBackfillId! };
}

/** A pull-through cache rule (ECR Public by default: no credentials, and nothing upstream is contacted to create it). */
async function ensureCacheRule(ecrRepositoryPrefix: string, upstreamRegistryUrl = 'public.ecr.aws'): Promise<Ready> {
  await ignoring(['PullThroughCacheRuleAlreadyExistsException'], rootEcr.send(new CreatePullThroughCacheRuleCommand({ ecrRepositoryPrefix, upstreamRegistryUrl })));
  return {};
}

/** A repository creation template that sets neither a lifecycle nor a repository policy. */
async function ensureTemplate(prefix: string): Promise<Ready> {
  await ignoring(['TemplateAlreadyExistsException'], rootEcr.send(new CreateRepositoryCreationTemplateCommand({ prefix, appliedFor: ['CREATE_ON_PUSH'] })));
  return {};
}

/** ECR's IAM reference: a template that may create repositories needs ecr:CreateRepository (on `*`) besides its own action. */
const TEMPLATE_EXTRA = { actions: ['ecr:CreateRepository'] };

const sameJson = (a: string | undefined, b: string): void => expect(JSON.parse(a ?? 'null')).toEqual(JSON.parse(b));

// --- the tables --------------------------------------------------------------------------------

const MOUNT_SOURCE = 'matrix/oci-mount-source';
const EXCLUDED = userArn(A, 'excluded-from-pull-times');
const REGISTRY_POLICY = doc([
  { Sid: 'Replication', Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${THIRD}:root` }, Action: ['ecr:CreateRepository', 'ecr:ReplicateImage'], Resource: `arn:aws:ecr:${REGION}:${A}:repository/*` },
]);

/** docs/access-control.md, "OCI Distribution door" (GET /v2/ and the download URL are tested on their own below). */
const OCI_ROWS: Row[] = [
  {
    name: 'GET /v2/_catalog',
    door: 'oci',
    action: 'ecr:DescribeRepositories',
    scope: 'registry',
    repo: '',
    call: (c, _r, _row, auth) => oci(c.oci[auth].request('GET', '/v2/_catalog'), 200),
  },
  {
    name: 'GET /v2/<name>/manifests/<ref>',
    door: 'oci',
    action: 'ecr:BatchGetImage',
    scope: 'repository',
    repo: 'matrix/oci-manifest-get',
    setup: (row) => pushImage(row.repo),
    call: (c, r, row, auth) => oci(c.oci[auth].request('GET', `/v2/${row.repo}/manifests/${r.digest}`, { headers: { accept: OCI_MANIFEST } }), 200),
  },
  {
    name: 'HEAD /v2/<name>/manifests/<ref>',
    door: 'oci',
    action: 'ecr:BatchGetImage',
    scope: 'repository',
    repo: 'matrix/oci-manifest-head',
    setup: (row) => pushImage(row.repo),
    call: (c, r, row, auth) => oci(c.oci[auth].request('HEAD', `/v2/${row.repo}/manifests/${r.digest}`, { headers: { accept: OCI_MANIFEST } }), 200, { head: true }),
  },
  {
    name: 'PUT /v2/<name>/manifests/<ref>',
    door: 'oci',
    action: 'ecr:PutImage',
    scope: 'repository',
    repo: 'matrix/oci-manifest-put',
    setup: (row) => blobsForManifest(row.repo),
    call: (c, r, row, auth) => oci(c.oci[auth].putManifest(row.repo, 'v1', r.manifest!, OCI_MANIFEST), 201),
  },
  {
    name: 'DELETE /v2/<name>/manifests/<ref>',
    door: 'oci',
    action: 'ecr:BatchDeleteImage',
    scope: 'repository',
    repo: 'matrix/oci-manifest-delete',
    setup: (row) => pushImage(row.repo),
    call: (c, r, row, auth) => oci(c.oci[auth].request('DELETE', `/v2/${row.repo}/manifests/${r.digest}`), 202),
  },
  {
    name: 'GET /v2/<name>/blobs/<digest>',
    door: 'oci',
    action: 'ecr:GetDownloadUrlForLayer',
    scope: 'repository',
    repo: 'matrix/oci-blob-get',
    setup: (row) => pushImage(row.repo),
    call: (c, r, row, auth) => oci(c.oci[auth].request('GET', `/v2/${row.repo}/blobs/${r.layer}`), 200),
  },
  {
    name: 'HEAD /v2/<name>/blobs/<digest>',
    door: 'oci',
    action: 'ecr:BatchCheckLayerAvailability',
    scope: 'repository',
    repo: 'matrix/oci-blob-head',
    setup: (row) => pushImage(row.repo),
    call: (c, r, row, auth) => oci(c.oci[auth].request('HEAD', `/v2/${row.repo}/blobs/${r.layer}`), 200, { head: true }),
  },
  {
    name: 'DELETE /v2/<name>/blobs/<digest>',
    door: 'oci',
    action: 'ecr:BatchDeleteImage',
    scope: 'repository',
    repo: 'matrix/oci-blob-delete',
    setup: async (row) => ({ layer: await rootOci.pushBlob(row.repo, randomBytes(256)) }),
    call: (c, r, row, auth) => oci(c.oci[auth].request('DELETE', `/v2/${row.repo}/blobs/${r.layer}`), 202),
  },
  {
    name: 'POST /v2/<name>/blobs/uploads/ (new session)',
    door: 'oci',
    action: 'ecr:InitiateLayerUpload',
    scope: 'repository',
    repo: 'matrix/oci-upload-start',
    call: (c, _r, row, auth) => oci(c.oci[auth].request('POST', `/v2/${row.repo}/blobs/uploads/`), 202),
  },
  {
    name: 'POST /v2/<name>/blobs/uploads/?digest= (monolithic)',
    door: 'oci',
    action: 'ecr:InitiateLayerUpload',
    scope: 'repository',
    repo: 'matrix/oci-upload-monolithic',
    setup: async () => {
      const data = randomBytes(300);
      return { data, digest: sha256(data) };
    },
    call: (c, r, row, auth) =>
      oci(c.oci[auth].request('POST', `/v2/${row.repo}/blobs/uploads/?digest=${r.digest}`, { body: r.data!, headers: { 'content-type': 'application/octet-stream' } }), 201),
  },
  {
    name: 'POST /v2/<name>/blobs/uploads/?mount=<digest>&from=<source>',
    door: 'oci',
    action: 'ecr:InitiateLayerUpload',
    scope: 'repository',
    repo: 'matrix/oci-mount',
    extra: { repo: MOUNT_SOURCE, actions: ['ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer'] },
    setup: () => pushImage(MOUNT_SOURCE),
    // 201: mounted. Without the source's permissions the answer would be a 202 session (tested below).
    call: (c, r, row, auth) => oci(c.oci[auth].request('POST', `/v2/${row.repo}/blobs/uploads/?mount=${r.layer}&from=${MOUNT_SOURCE}`), 201),
  },
  {
    name: 'GET /v2/<name>/blobs/uploads/<id>',
    door: 'oci',
    action: 'ecr:UploadLayerPart',
    scope: 'repository',
    repo: 'matrix/oci-upload-status',
    setup: (row) => startOciUpload(row.repo),
    call: (c, r, _row, auth) => oci(c.oci[auth].request('GET', r.location!), 204),
  },
  {
    name: 'PATCH /v2/<name>/blobs/uploads/<id>',
    door: 'oci',
    action: 'ecr:UploadLayerPart',
    scope: 'repository',
    repo: 'matrix/oci-upload-patch',
    setup: (row) => startOciUpload(row.repo),
    call: (c, r, _row, auth) => {
      const data = randomBytes(200);
      return oci(c.oci[auth].request('PATCH', r.location!, { body: data, headers: { 'content-type': 'application/octet-stream', 'content-range': `0-${data.length - 1}` } }), 202);
    },
  },
  {
    name: 'DELETE /v2/<name>/blobs/uploads/<id>',
    door: 'oci',
    action: 'ecr:UploadLayerPart',
    scope: 'repository',
    repo: 'matrix/oci-upload-cancel',
    setup: (row) => startOciUpload(row.repo),
    call: (c, r, _row, auth) => oci(c.oci[auth].request('DELETE', r.location!), 204),
  },
  {
    name: 'PUT /v2/<name>/blobs/uploads/<id>?digest=',
    door: 'oci',
    action: 'ecr:CompleteLayerUpload',
    scope: 'repository',
    repo: 'matrix/oci-upload-complete',
    setup: (row) => startOciUpload(row.repo, randomBytes(200)),
    call: (c, r, _row, auth) => oci(c.oci[auth].request('PUT', `${r.location!}?digest=${r.digest}`), 201),
  },
  {
    name: 'GET /v2/<name>/tags/list',
    door: 'oci',
    action: 'ecr:ListImages',
    scope: 'repository',
    repo: 'matrix/oci-tags',
    call: (c, _r, row, auth) => oci(c.oci[auth].request('GET', `/v2/${row.repo}/tags/list`), 200),
  },
  {
    name: 'GET /v2/<name>/referrers/<digest>',
    door: 'oci',
    action: 'ecr:BatchGetImage',
    scope: 'repository',
    repo: 'matrix/oci-referrers',
    setup: (row) => pushImage(row.repo),
    call: (c, r, row, auth) => oci(c.oci[auth].request('GET', `/v2/${row.repo}/referrers/${r.digest}`), 200),
  },
];

/** One ECR-door row: the operation's name is its action's, unless `action` says otherwise. */
function ecrRow(
  name: string,
  scope: Row['scope'],
  call: (e: ECRClient, r: Ready, repo: string) => Promise<Outcome>,
  opts: Partial<Pick<Row, 'setup' | 'basePolicy' | 'noGrant' | 'ownRegistryOnly' | 'extra' | 'action'>> = {},
): Row {
  return {
    name,
    door: 'ecr',
    action: opts.action ?? `ecr:${name}`,
    scope,
    repo: scope === 'repository' ? `matrix/ecr-${name.toLowerCase()}` : '',
    ...opts,
    call: (c, r, row) => call(c.ecr, r, row.repo),
  };
}

const at = (repositoryName: string) => ({ registryId: A, repositoryName });

/** docs/access-control.md, "ECR door": all 58 operations. */
const ECR_ROWS: Row[] = [
  ecrRow('BatchCheckLayerAvailability', 'repository', (e, r, repo) =>
    ecr(e.send(new BatchCheckLayerAvailabilityCommand({ ...at(repo), layerDigests: [r.layer!] })), (out) => expect(out.layers?.[0]?.layerAvailability).toBe('AVAILABLE')),
    { setup: (row) => pushImage(row.repo) },
  ),
  ecrRow('BatchDeleteImage', 'repository', (e, r, repo) =>
    ecr(e.send(new BatchDeleteImageCommand({ ...at(repo), imageIds: [{ imageDigest: r.digest! }] })), (out) => expect(out).toMatchObject({ imageIds: [{ imageDigest: r.digest }], failures: [] })),
    { setup: (row) => pushImage(row.repo) },
  ),
  ecrRow('BatchGetImage', 'repository', (e, r, repo) =>
    ecr(e.send(new BatchGetImageCommand({ ...at(repo), imageIds: [{ imageDigest: r.digest! }] })), (out) => expect(out.images?.[0]?.imageManifest).toBe(r.manifest!.toString())),
    { setup: (row) => pushImage(row.repo) },
  ),
  ecrRow('BatchGetRepositoryScanningConfiguration', 'repository', (e, _r, repo) =>
    ecr(e.send(new BatchGetRepositoryScanningConfigurationCommand({ repositoryNames: [repo] })), (out) => {
      expect(out.failures).toEqual([]);
      expect(out.scanningConfigurations).toMatchObject([{ repositoryArn: repoArn(repo), repositoryName: repo, scanOnPush: false, scanFrequency: 'MANUAL' }]);
    }),
    { ownRegistryOnly: 'the operation takes no registryId (as in ECR): account B could only name repositories of its own registry' },
  ),
  ecrRow('CompleteLayerUpload', 'repository', (e, r, repo) =>
    ecr(e.send(new CompleteLayerUploadCommand({ ...at(repo), uploadId: r.uploadId!, layerDigests: [r.digest!] })), (out) => expect(out.layerDigest).toBe(r.digest)),
    { setup: (row) => startEcrUpload(row.repo, randomBytes(200)) },
  ),
  ecrRow('CreatePullThroughCacheRule', 'registry', (e) =>
    ecr(e.send(new CreatePullThroughCacheRuleCommand({ ecrRepositoryPrefix: 'matrix-cache-created', upstreamRegistryUrl: 'public.ecr.aws' })), (out) =>
      expect(out).toMatchObject({ ecrRepositoryPrefix: 'matrix-cache-created', upstreamRegistryUrl: 'public.ecr.aws', upstreamRegistry: 'ecr-public', registryId: A }),
    ),
    {
      setup: async () => {
        await ignoring(['PullThroughCacheRuleNotFoundException'], rootEcr.send(new DeletePullThroughCacheRuleCommand({ ecrRepositoryPrefix: 'matrix-cache-created' })));
        return {};
      },
    },
  ),
  ecrRow('CreateRepository', 'repository', (e, _r, repo) =>
    ecr(e.send(new CreateRepositoryCommand(at(repo))), (out) => expect(out.repository?.repositoryArn).toBe(repoArn(repo))),
    {
      // The repository must not exist yet: so it has no policy that could grant another account anything.
      setup: async (row) => {
        await rootEcr.send(new DeleteRepositoryCommand({ repositoryName: row.repo, force: true }));
        return {};
      },
      noGrant: 'a repository that does not exist has no repository policy',
    },
  ),
  ecrRow('CreateRepositoryCreationTemplate', 'registry', (e) =>
    ecr(e.send(new CreateRepositoryCreationTemplateCommand({ prefix: 'matrix-template-created', appliedFor: ['CREATE_ON_PUSH'] })), (out) =>
      expect(out.repositoryCreationTemplate).toMatchObject({ prefix: 'matrix-template-created', appliedFor: ['CREATE_ON_PUSH'], imageTagMutability: 'MUTABLE' }),
    ),
    {
      extra: TEMPLATE_EXTRA,
      setup: async () => {
        await ignoring(['TemplateNotFoundException'], rootEcr.send(new DeleteRepositoryCreationTemplateCommand({ prefix: 'matrix-template-created' })));
        return {};
      },
    },
  ),
  ecrRow('DeleteLifecyclePolicy', 'repository', (e, _r, repo) => ecr(e.send(new DeleteLifecyclePolicyCommand(at(repo))), (out) => sameJson(out.lifecyclePolicyText, LIFECYCLE_POLICY)), {
    setup: async (row) => {
      await withLifecyclePolicy(row.repo);
      return {};
    },
  }),
  ecrRow('DeletePullThroughCacheRule', 'registry', (e) =>
    ecr(e.send(new DeletePullThroughCacheRuleCommand({ ecrRepositoryPrefix: 'matrix-cache-deleted' })), (out) =>
      expect(out).toMatchObject({ ecrRepositoryPrefix: 'matrix-cache-deleted', upstreamRegistryUrl: 'public.ecr.aws', registryId: A }),
    ),
    { setup: () => ensureCacheRule('matrix-cache-deleted') },
  ),
  ecrRow('DeleteRegistryPolicy', 'registry', (e) => ecr(e.send(new DeleteRegistryPolicyCommand({})), (out) => expect(out.registryId).toBe(A)), {
    setup: async () => {
      await rootEcr.send(new PutRegistryPolicyCommand({ policyText: REGISTRY_POLICY }));
      return {};
    },
  }),
  ecrRow('DeleteRepository', 'repository', (e, _r, repo) => ecr(e.send(new DeleteRepositoryCommand(at(repo))), (out) => expect(out.repository?.repositoryName).toBe(repo))),
  ecrRow('DeleteRepositoryCreationTemplate', 'registry', (e) =>
    ecr(e.send(new DeleteRepositoryCreationTemplateCommand({ prefix: 'matrix-template-deleted' })), (out) =>
      expect(out).toMatchObject({ registryId: A, repositoryCreationTemplate: { prefix: 'matrix-template-deleted', appliedFor: ['CREATE_ON_PUSH'] } }),
    ),
    { setup: () => ensureTemplate('matrix-template-deleted') },
  ),
  ecrRow('DeleteRepositoryPolicy', 'repository', (e, _r, repo) => ecr(e.send(new DeleteRepositoryPolicyCommand(at(repo))), (out) => expect(out.policyText).toContain('Unrelated')), {
    basePolicy: true,
  }),
  ecrRow('DeregisterPullTimeUpdateExclusion', 'registry', (e) => ecr(e.send(new DeregisterPullTimeUpdateExclusionCommand({ principalArn: EXCLUDED }))), {
    setup: async () => {
      await ignoring(['ExclusionAlreadyExistsException'], rootEcr.send(new RegisterPullTimeUpdateExclusionCommand({ principalArn: EXCLUDED })));
      return {};
    },
  }),
  ecrRow('DescribeImageReplicationStatus', 'repository', (e, r, repo) =>
    ecr(e.send(new DescribeImageReplicationStatusCommand({ ...at(repo), imageId: { imageDigest: r.digest! } })), (out) => {
      expect(out.imageId?.imageDigest).toBe(r.digest);
      expect(out.replicationStatuses).toEqual([{ region: REGION, registryId: B, status: 'FAILED', failureCode: 'REGISTRY_POLICY_DENIED' }]);
    }),
    {
      // A fresh image, sent to account B by the rules and refused there (B's registry policy allows nothing).
      setup: async (row) => {
        await rootEcr.send(new PutReplicationConfigurationCommand({ replicationConfiguration: REPLICATION_CONFIGURATION }));
        const ready = await pushImage(row.repo);
        await server.app.jobs.drain(['replication.copy'], { timeoutMs: 60_000 });
        return ready;
      },
    },
  ),
  ecrRow('DescribeImageScanFindings', 'repository', (e, r, repo) =>
    ecr(e.send(new DescribeImageScanFindingsCommand({ ...at(repo), imageId: { imageDigest: r.digest! } })), (out) => {
      // The matrix's images hold random bytes: no operating system, no package manager.
      expect(out).toMatchObject({ repositoryName: repo, imageId: { imageDigest: r.digest }, imageScanStatus: { status: 'UNSUPPORTED_IMAGE' } });
      expect(out.imageScanFindings).toBeUndefined();
    }),
    {
      // A fresh image, scanned once by the root (one basic scan per image per day).
      setup: async (row) => {
        const ready = await pushImage(row.repo);
        await rootEcr.send(new StartImageScanCommand({ repositoryName: row.repo, imageId: { imageDigest: ready.digest! } }));
        await server.app.jobs.drain(['scan.image'], { timeoutMs: 60_000 });
        return ready;
      },
    },
  ),
  ecrRow('DescribeImages', 'repository', (e, r, repo) =>
    ecr(e.send(new DescribeImagesCommand({ ...at(repo), imageIds: [{ imageDigest: r.digest! }] })), (out) => expect(out.imageDetails?.[0]?.imageDigest).toBe(r.digest)),
    { setup: (row) => pushImage(row.repo) },
  ),
  ecrRow('DescribePullThroughCacheRules', 'registry', (e) =>
    ecr(e.send(new DescribePullThroughCacheRulesCommand({ ecrRepositoryPrefixes: ['matrix-cache-described'] })), (out) =>
      expect(out.pullThroughCacheRules).toMatchObject([{ ecrRepositoryPrefix: 'matrix-cache-described', upstreamRegistryUrl: 'public.ecr.aws', upstreamRegistry: 'ecr-public', registryId: A }]),
    ),
    { setup: () => ensureCacheRule('matrix-cache-described') },
  ),
  ecrRow('DescribeRegistry', 'registry', (e) => ecr(e.send(new DescribeRegistryCommand({})), (out) => expect(out.registryId).toBe(A))),
  ecrRow('DescribeReplicationBackfillResults', 'registry', (e, r) =>
    ecr(e.send(new DescribeReplicationBackfillResultsCommand({ replicationBackfillId: r.id! })), (out) =>
      expect(out).toMatchObject({ registryId: A, replicationBackfillId: r.id, destination: REPLICATED_TO }),
    ),
    { setup: () => backfillStage(true) },
  ),
  ecrRow('DescribeRepositories', 'registry', (e) => ecr(e.send(new DescribeRepositoriesCommand({ maxResults: 5 })), (out) => expect(out.repositories?.length).toBeGreaterThan(0))),
  ecrRow('DescribeRepositoryCreationTemplates', 'registry', (e) =>
    ecr(e.send(new DescribeRepositoryCreationTemplatesCommand({ prefixes: ['matrix-template-described'] })), (out) =>
      expect(out.repositoryCreationTemplates?.map((t) => t.prefix)).toEqual(['matrix-template-described']),
    ),
    { setup: () => ensureTemplate('matrix-template-described') },
  ),
  ecrRow('GetAccountSetting', 'registry', (e) => ecr(e.send(new GetAccountSettingCommand({ name: 'BLOB_MOUNTING' })), (out) => expect(out.value).toBe('ENABLED'))),
  ecrRow('GetAuthorizationToken', 'registry', (e) => ecr(e.send(new GetAuthorizationTokenCommand({})), (out) => expect(out.authorizationData).toHaveLength(1))),
  ecrRow('GetDownloadUrlForLayer', 'repository', (e, r, repo) =>
    ecr(e.send(new GetDownloadUrlForLayerCommand({ ...at(repo), layerDigest: r.layer! })), (out) => expect(out.downloadUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/_berth\/blobs\//)),
    { setup: (row) => pushImage(row.repo) },
  ),
  ecrRow('GetLifecyclePolicy', 'repository', (e, _r, repo) =>
    ecr(e.send(new GetLifecyclePolicyCommand(at(repo))), (out) => {
      expect(out.repositoryName).toBe(repo);
      sameJson(out.lifecyclePolicyText, LIFECYCLE_POLICY);
    }),
    {
      setup: async (row) => {
        await withLifecyclePolicy(row.repo);
        return {};
      },
    },
  ),
  ecrRow('GetLifecyclePolicyPreview', 'repository', (e, _r, repo) =>
    ecr(e.send(new GetLifecyclePolicyPreviewCommand(at(repo))), (out) => {
      expect(out).toMatchObject({ repositoryName: repo, status: 'COMPLETE', previewResults: [], summary: { expiringImageTotalCount: 0 } });
      sameJson(out.lifecyclePolicyText, LIFECYCLE_POLICY);
    }),
    {
      // A finished preview of the stored policy.
      setup: async (row) => {
        await withLifecyclePolicy(row.repo);
        await rootEcr.send(new StartLifecyclePolicyPreviewCommand({ repositoryName: row.repo }));
        await server.app.jobs.drain(['lifecycle.preview'], { timeoutMs: 60_000 });
        return {};
      },
    },
  ),
  ecrRow('GetRegistryPolicy', 'registry', (e) => ecr(e.send(new GetRegistryPolicyCommand({})), (out) => expect(out.policyText).toBe(REGISTRY_POLICY)), {
    setup: async () => {
      await rootEcr.send(new PutRegistryPolicyCommand({ policyText: REGISTRY_POLICY }));
      return {};
    },
  }),
  ecrRow('GetRegistryScanningConfiguration', 'registry', (e) =>
    ecr(e.send(new GetRegistryScanningConfigurationCommand({})), (out) => expect(out).toMatchObject({ registryId: A, scanningConfiguration: { scanType: 'BASIC' } })),
  ),
  ecrRow('GetRepositoryPolicy', 'repository', (e, _r, repo) => ecr(e.send(new GetRepositoryPolicyCommand(at(repo))), (out) => expect(out.policyText).toContain('Unrelated')), {
    basePolicy: true,
  }),
  ecrRow('InitiateLayerUpload', 'repository', (e, _r, repo) => ecr(e.send(new InitiateLayerUploadCommand(at(repo))), (out) => expect(out.uploadId).toBeTruthy())),
  ecrRow('ListImageReferrers', 'repository', (e, r, repo) => ecr(e.send(new ListImageReferrersCommand({ ...at(repo), subjectId: { imageDigest: r.digest! } })), (out) => expect(out.referrers).toEqual([])), {
    action: 'ecr:BatchGetImage',
    setup: (row) => pushImage(row.repo),
  }),
  ecrRow('ListImages', 'repository', (e, r, repo) =>
    ecr(e.send(new ListImagesCommand(at(repo))), (out) => expect(out.imageIds?.map((i) => i.imageDigest)).toContain(r.digest)),
    { setup: (row) => pushImage(row.repo) },
  ),
  ecrRow('ListPullTimeUpdateExclusions', 'registry', (e) => ecr(e.send(new ListPullTimeUpdateExclusionsCommand({})))),
  ecrRow('ListReplicationBackfills', 'registry', (e, r) =>
    ecr(e.send(new ListReplicationBackfillsCommand({})), (out) => expect(out.backfills?.[0]).toMatchObject({ replicationBackfillId: r.id, destination: REPLICATED_TO })),
    { setup: () => backfillStage(true) },
  ),
  ecrRow('ListTagsForResource', 'repository', (e, _r, repo) => ecr(e.send(new ListTagsForResourceCommand({ resourceArn: repoArn(repo) })), (out) => expect(out.tags).toBeDefined())),
  ecrRow('PutAccountSetting', 'registry', (e) =>
    ecr(e.send(new PutAccountSettingCommand({ name: 'BLOB_MOUNTING', value: 'ENABLED' })), (out) => expect(out).toMatchObject({ name: 'BLOB_MOUNTING', value: 'ENABLED' })),
  ),
  ecrRow('PutImage', 'repository', (e, r, repo) =>
    ecr(e.send(new PutImageCommand({ ...at(repo), imageManifest: r.manifest!.toString(), imageManifestMediaType: OCI_MANIFEST, imageTag: 'v1' })), (out) =>
      expect(out.image?.imageId?.imageDigest).toBe(r.digest),
    ),
    { setup: (row) => blobsForManifest(row.repo) },
  ),
  ecrRow('PutImageScanningConfiguration', 'repository', (e, _r, repo) =>
    ecr(e.send(new PutImageScanningConfigurationCommand({ ...at(repo), imageScanningConfiguration: { scanOnPush: true } })), (out) =>
      expect(out.imageScanningConfiguration?.scanOnPush).toBe(true),
    ),
  ),
  ecrRow('PutImageTagMutability', 'repository', (e, _r, repo) =>
    ecr(e.send(new PutImageTagMutabilityCommand({ ...at(repo), imageTagMutability: 'MUTABLE' })), (out) => expect(out.imageTagMutability).toBe('MUTABLE')),
  ),
  ecrRow('PutLifecyclePolicy', 'repository', (e, _r, repo) =>
    ecr(e.send(new PutLifecyclePolicyCommand({ ...at(repo), lifecyclePolicyText: LIFECYCLE_POLICY })), (out) => {
      expect(out.repositoryName).toBe(repo);
      sameJson(out.lifecyclePolicyText, LIFECYCLE_POLICY);
    }),
  ),
  ecrRow('PutRegistryPolicy', 'registry', (e) => ecr(e.send(new PutRegistryPolicyCommand({ policyText: REGISTRY_POLICY })), (out) => expect(out.registryId).toBe(A))),
  ecrRow('PutRegistryScanningConfiguration', 'registry', (e) =>
    ecr(e.send(new PutRegistryScanningConfigurationCommand(SCANNING_CONFIGURATION)), (out) => expect(out.registryScanningConfiguration).toEqual(SCANNING_CONFIGURATION)),
  ),
  ecrRow('PutReplicationConfiguration', 'registry', (e) =>
    ecr(e.send(new PutReplicationConfigurationCommand({ replicationConfiguration: REPLICATION_CONFIGURATION })), (out) =>
      expect(out.replicationConfiguration).toEqual(REPLICATION_CONFIGURATION),
    ),
  ),
  ecrRow('RegisterPullTimeUpdateExclusion', 'registry', (e) => ecr(e.send(new RegisterPullTimeUpdateExclusionCommand({ principalArn: EXCLUDED })), (out) => expect(out.principalArn).toBe(EXCLUDED)), {
    setup: async () => {
      await ignoring(['ExclusionNotFoundException'], rootEcr.send(new DeregisterPullTimeUpdateExclusionCommand({ principalArn: EXCLUDED })));
      return {};
    },
  }),
  {
    // The caller sets a policy that keeps its own right to set the next one (no lock-out, no force).
    ...ecrRow('SetRepositoryPolicy', 'repository', () => Promise.reject(new Error('replaced below')), { basePolicy: true }),
    call: (c, _r, row) => {
      const policyText = doc([
        { Sid: 'Unrelated', Effect: 'Allow', Principal: { AWS: THIRD }, Action: ['ecr:BatchGetImage'] },
        { Sid: 'Caller', Effect: 'Allow', Principal: { AWS: c.arn }, Action: ['ecr:SetRepositoryPolicy'] },
      ]);
      return ecr(c.ecr.send(new SetRepositoryPolicyCommand({ ...at(row.repo), policyText })), (out) => expect(out.policyText).toBe(policyText));
    },
  },
  ecrRow('StartImageScan', 'repository', (e, r, repo) =>
    ecr(e.send(new StartImageScanCommand({ ...at(repo), imageId: { imageDigest: r.digest! } })), (out) =>
      expect(out).toMatchObject({ registryId: A, repositoryName: repo, imageId: { imageDigest: r.digest }, imageScanStatus: { status: 'IN_PROGRESS' } }),
    ),
    // A fresh image for every attempt: one basic scan per image per day.
    { setup: (row) => pushImage(row.repo) },
  ),
  ecrRow('StartLifecyclePolicyPreview', 'repository', (e, _r, repo) =>
    ecr(e.send(new StartLifecyclePolicyPreviewCommand(at(repo))), (out) => {
      expect(out).toMatchObject({ repositoryName: repo, status: 'IN_PROGRESS' });
      sameJson(out.lifecyclePolicyText, LIFECYCLE_POLICY);
    }),
    {
      setup: async (row) => {
        await withLifecyclePolicy(row.repo);
        return {};
      },
    },
  ),
  ecrRow('StartReplicationBackfill', 'registry', (e) =>
    ecr(e.send(new StartReplicationBackfillCommand({ destination: REPLICATED_TO })), (out) => {
      expect(out).toMatchObject({ registryId: A, destination: REPLICATED_TO, status: 'PREPARING' });
      expect(out.replicationBackfillId).toBeTruthy();
    }),
    { setup: () => backfillStage(false) },
  ),
  ecrRow('StopReplicationBackfill', 'registry', (e, r) =>
    ecr(e.send(new StopReplicationBackfillCommand({ replicationBackfillId: r.id! })), (out) =>
      expect(out).toMatchObject({ registryId: A, replicationBackfillId: r.id, destination: REPLICATED_TO, status: 'STOPPING' }),
    ),
    { setup: () => backfillStage(true) },
  ),
  ecrRow('TagResource', 'repository', (e, _r, repo) => ecr(e.send(new TagResourceCommand({ resourceArn: repoArn(repo), tags: [{ Key: 'team', Value: 'matrix' }] })))),
  ecrRow('UntagResource', 'repository', (e, _r, repo) => ecr(e.send(new UntagResourceCommand({ resourceArn: repoArn(repo), tagKeys: ['team'] })))),
  ecrRow('UpdateImageStorageClass', 'repository', (e, r, repo) =>
    ecr(e.send(new UpdateImageStorageClassCommand({ ...at(repo), imageId: { imageDigest: r.digest! }, targetStorageClass: 'ARCHIVE' })), (out) =>
      expect(out).toMatchObject({ repositoryName: repo, imageId: { imageDigest: r.digest }, imageStatus: 'ARCHIVED' }),
    ),
    { setup: (row) => pushImage(row.repo) },
  ),
  ecrRow('UpdatePullThroughCacheRule', 'registry', (e) =>
    ecr(e.send(new UpdatePullThroughCacheRuleCommand({ ecrRepositoryPrefix: 'matrix-cache-updated', customRoleArn: `arn:aws:iam::${A}:role/matrix-cache` })), (out) =>
      expect(out).toMatchObject({ ecrRepositoryPrefix: 'matrix-cache-updated', registryId: A, customRoleArn: `arn:aws:iam::${A}:role/matrix-cache` }),
    ),
    { setup: () => ensureCacheRule('matrix-cache-updated') },
  ),
  ecrRow('UpdateRepositoryCreationTemplate', 'registry', (e) =>
    ecr(e.send(new UpdateRepositoryCreationTemplateCommand({ prefix: 'matrix-template-updated', description: 'updated by the matrix' })), (out) =>
      expect(out.repositoryCreationTemplate).toMatchObject({ prefix: 'matrix-template-updated', description: 'updated by the matrix' }),
    ),
    { extra: TEMPLATE_EXTRA, setup: () => ensureTemplate('matrix-template-updated') },
  ),
  ecrRow('UploadLayerPart', 'repository', (e, r, repo) => {
    const data = randomBytes(200);
    return ecr(e.send(new UploadLayerPartCommand({ ...at(repo), uploadId: r.uploadId!, partFirstByte: 0, partLastByte: data.length - 1, layerPartBlob: data })), (out) =>
      expect(out.lastByteReceived).toBe(data.length - 1),
    );
  }, { setup: (row) => startEcrUpload(row.repo) }),
  ecrRow('ValidatePullThroughCacheRule', 'registry', (e) =>
    ecr(e.send(new ValidatePullThroughCacheRuleCommand({ ecrRepositoryPrefix: 'matrix-cache-validated' })), (out) => {
      // The upstream (a closed port) cannot be reached: reported in the answer, not as an exception.
      expect(out).toMatchObject({ ecrRepositoryPrefix: 'matrix-cache-validated', registryId: A, upstreamRegistryUrl: 'https://127.0.0.1:1', isValid: false });
      expect(out.failure).toBeTruthy();
    }),
    { setup: () => ensureCacheRule('matrix-cache-validated', 'https://127.0.0.1:1') },
  ),
];

// --- the server and the callers ------------------------------------------------------------------

/** Another account, as `berth account create` makes one: the account row and a root key sealed with the server's box. */
async function createAccount(accountId: string): Promise<Credentials> {
  const key = { accessKeyId: `AKIAMATRIX${accountId.slice(0, 10)}`, secretAccessKey: randomBytes(30).toString('base64url') };
  const box = SecretBox.load(server.dataDir);
  await server.app.meta.accounts.ensure(accountId, Date.now());
  await server.app.meta.accessKeys.create({ ...key, accountId, userName: null, secretEnc: box.seal(key.secretAccessKey), status: 'Active', createdAt: Date.now() });
  return key;
}

async function createUser(iam: IAMClient, userName: string): Promise<Credentials> {
  await iam.send(new CreateUserCommand({ UserName: userName }));
  const { AccessKey } = await iam.send(new CreateAccessKeyCommand({ UserName: userName }));
  return { accessKeyId: AccessKey!.AccessKeyId!, secretAccessKey: AccessKey!.SecretAccessKey! };
}

/** A registry token (`docker login` password), asked for while the user may ask for one; it outlives the permission. */
async function registryToken(iam: IAMClient | undefined, userName: string | undefined, credentials: Credentials): Promise<string> {
  const login = doc([{ Effect: 'Allow', Action: 'ecr:GetAuthorizationToken', Resource: '*' }]);
  if (iam && userName) await iam.send(new PutUserPolicyCommand({ UserName: userName, PolicyName: 'Login', PolicyDocument: login }));
  const out = await ecrClient(server, credentials).send(new GetAuthorizationTokenCommand({}));
  if (iam && userName) await iam.send(new DeleteUserPolicyCommand({ UserName: userName, PolicyName: 'Login' }));
  const token = out.authorizationData![0]!.authorizationToken!;
  expect(Buffer.from(token, 'base64').toString()).toMatch(/^AWS:/);
  return `Basic ${token}`;
}

async function caller(arn: string, credentials: Credentials, iam?: IAMClient, userName?: string): Promise<Caller> {
  return {
    arn,
    ecr: ecrClient(server, credentials),
    oci: {
      key: new OciTestClient(server.url, basicAuth(credentials.accessKeyId, credentials.secretAccessKey)),
      token: new OciTestClient(server.url, await registryToken(iam, userName, credentials)),
    },
  };
}

beforeAll(async () => {
  server = await startTestServer();
  rootEcr = ecrClient(server);
  rootOci = new OciTestClient(server.url, server.authHeader);
  iamA = iamClient(server);
  rootBKey = await createAccount(B);
  iamB = iamClient({ url: server.url, ...rootBKey });

  callers.root = await caller(`arn:aws:iam::${A}:root`, { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey });
  for (const name of ['allowed', 'nobody', 'denied'] as const) {
    callers[name] = await caller(userArn(A, name), await createUser(iamA, name), iamA, name);
  }
  await iamA.send(new PutUserPolicyCommand({ UserName: 'denied', PolicyName: 'AllowAll', PolicyDocument: doc([{ Effect: 'Allow', Action: 'ecr:*', Resource: '*' }]) }));
  callers.partner = await caller(userArn(B, 'partner'), await createUser(iamB, 'partner'), iamB, 'partner');
});
afterAll(() => server?.close());

// --- the matrix ----------------------------------------------------------------------------------

const NO_ALLOW = /^no identity-based or resource-based policy allows (ecr:\w+) on (\S+)$/;
const EXPLICIT_DENY = new RegExp(`^explicit deny in ${userArn(A, 'denied').replace(/[/.]/g, '\\$&')}/inline/DenyRow statement 'DenyRow'$`);
const CROSS_NO_RESOURCE_SIDE = new RegExp(`^cross-account request for ecr:\\w+ on \\S+: (account ${A} has no resource-based policy that allows it|repository policy does not allow it)$`);
const CROSS_NO_IDENTITY_SIDE = new RegExp(`^cross-account request for ecr:\\w+ on \\S+: no identity-based policy of account ${B} allows it$`);

function matrix(row: Row, auth: OciAuth): void {
  const title =
    row.scope === 'registry'
      ? `${row.name} [${row.action} on *; registry-level: no cross-account column]`
      : row.ownRegistryOnly
        ? `${row.name} [${row.action}; own registry only: no cross-account column]`
        : `${row.name} [${row.action}]`;
  describe(title, () => {
    it('root, in its own account: allowed', async () => {
      expectAllowed((await attempt(row, 'root', auth)).outcome);
    });
    it(`user "allowed", whose policy allows exactly ${row.action}: allowed`, async () => {
      expectAllowed((await attempt(row, 'allowed', auth)).outcome);
    });
    it('user "nobody", without policies: refused, no statement allows it', async () => {
      const { outcome, caller } = await attempt(row, 'nobody', auth);
      expectRefused(outcome, row, caller, NO_ALLOW);
    });
    it(`user "denied", allowed ecr:* but denied ${row.action}: refused, naming the explicit deny`, async () => {
      const { outcome, caller } = await attempt(row, 'denied', auth);
      expectRefused(outcome, row, caller, EXPLICIT_DENY);
    });
    if (row.scope === 'registry' || row.ownRegistryOnly) return;

    it('account B\'s user, allowed by its identity policy, without a repository policy that grants it: refused', async () => {
      const { outcome, caller } = await attempt(row, 'partner-no-policy', auth);
      expectRefused(outcome, row, caller, CROSS_NO_RESOURCE_SIDE);
    });
    if (row.noGrant) return;
    it('account B\'s user, once the repository policy grants account B: allowed', async () => {
      expectAllowed((await attempt(row, 'partner-account-grant', auth)).outcome);
    });
    it('account B\'s user, once the repository policy grants that user: allowed', async () => {
      expectAllowed((await attempt(row, 'partner-user-grant', auth)).outcome);
    });
    it('account B\'s user granted by the repository policy, without an identity policy of its own: refused (both sides must allow)', async () => {
      const { outcome, caller } = await attempt(row, 'partner-no-identity', auth);
      expectRefused(outcome, row, caller, CROSS_NO_IDENTITY_SIDE);
    });
  });
}

describe.each<[string, OciAuth]>([
  ['HTTP Basic with the access key pair', 'key'],
  ['HTTP Basic with a registry token from GetAuthorizationToken', 'token'],
])('OCI door, %s', (_what, auth) => {
  for (const row of OCI_ROWS) matrix(row, auth);

  it('GET /v2/ needs no permission: every caller that authenticates gets 200', async () => {
    for (const c of Object.values(callers)) {
      const res = await c.oci[auth].request('GET', '/v2/');
      expect(res.status, `${c.arn}: ${await res.text()}`).toBe(200);
    }
  });
});

describe('ECR door (@aws-sdk/client-ecr)', () => {
  it('covers every operation berth answers, with the action the operation declares', async () => {
    const { ECR_OPERATIONS } = await import('../../src/ecr/operations/index.js');
    expect(ECR_ROWS.map((r) => r.name).sort()).toEqual(Object.keys(ECR_OPERATIONS).sort());
    for (const row of ECR_ROWS) expect(row.action, row.name).toBe(ECR_OPERATIONS[row.name]!.action);
  });
  for (const row of ECR_ROWS) matrix(row, 'key');
});

// --- the special cases ---------------------------------------------------------------------------

describe('blob mount (POST ...?mount=&from=)', () => {
  const target = 'matrix/oci-mount-fallback';

  it('falls back to a new session (202) for a caller allowed on the target but not on the source', async () => {
    await ensureRepository(target);
    await iamA.send(
      new PutUserPolicyCommand({ UserName: 'allowed', PolicyName: 'Row', PolicyDocument: doc([{ Effect: 'Allow', Action: 'ecr:InitiateLayerUpload', Resource: repoArn(target) }]) }),
    );
    const { layer } = await pushImage(MOUNT_SOURCE);
    const res = await callers.allowed.oci.key.request('POST', `/v2/${target}/blobs/uploads/?mount=${layer}&from=${MOUNT_SOURCE}`);
    expect(res.status, await res.text()).toBe(202);
    expect(res.headers.get('location')).toMatch(new RegExp(`^/v2/${target}/blobs/uploads/`));
  });

  it('falls back to a new session when an explicit deny on the source takes away GetDownloadUrlForLayer', async () => {
    await ensureRepository(target);
    await setRepositoryPolicy(MOUNT_SOURCE, [], false, undefined);
    const { layer } = await pushImage(MOUNT_SOURCE);
    // "denied" may do ecr:*; deny it the layer download on the source only.
    const deny = doc([{ Sid: 'DenyRow', Effect: 'Deny', Action: 'ecr:GetDownloadUrlForLayer', Resource: repoArn(MOUNT_SOURCE) }]);
    await iamA.send(new PutUserPolicyCommand({ UserName: 'denied', PolicyName: 'DenyRow', PolicyDocument: deny }));
    const fallback = await callers.denied.oci.key.request('POST', `/v2/${target}/blobs/uploads/?mount=${layer}&from=${MOUNT_SOURCE}`);
    expect(fallback.status, await fallback.text()).toBe(202);
    // Without the deny, the same request mounts.
    await iamA.send(new DeleteUserPolicyCommand({ UserName: 'denied', PolicyName: 'DenyRow' }));
    const mounted = await callers.denied.oci.key.request('POST', `/v2/${target}/blobs/uploads/?mount=${layer}&from=${MOUNT_SOURCE}`);
    expect(mounted.status, await mounted.text()).toBe(201);
  });
});

describe('GET /_berth/blobs/<digest>?... (the URL of GetDownloadUrlForLayer)', () => {
  it('needs no permission: the URL is the grant, made when it was issued; an altered URL is refused', async () => {
    const repo = 'matrix/download-url';
    await ensureRepository(repo);
    const { layer } = await pushImage(repo);
    await iamA.send(
      new PutUserPolicyCommand({ UserName: 'allowed', PolicyName: 'Row', PolicyDocument: doc([{ Effect: 'Allow', Action: 'ecr:GetDownloadUrlForLayer', Resource: repoArn(repo) }]) }),
    );
    const { downloadUrl } = await callers.allowed.ecr.send(new GetDownloadUrlForLayerCommand({ repositoryName: repo, layerDigest: layer! }));
    const url = new URL(downloadUrl!);
    expect(url.hostname).toBe('127.0.0.1');

    // Without credentials, and with the credentials of a user who may do nothing: the same bytes.
    for (const authorization of [undefined, basicAuth('AKIANOSUCHKEY0000000', 'x'), callers.nobody.oci.key.authorization]) {
      const res = await fetch(url, { headers: authorization ? { authorization } : {} });
      const body = Buffer.from(await res.arrayBuffer());
      expect(res.status, body.toString()).toBe(200);
      expect(sha256(body)).toBe(layer);
    }
    // The signature covers the URL: another digest in it is refused.
    const altered = new URL(url);
    altered.pathname = altered.pathname.replace(/[0-9a-f]{8}$/, '00000000');
    const res = await fetch(altered);
    expect(res.status, await res.text()).toBe(403);
  });
});

describe('explicit deny beats the root user', () => {
  it("a repository policy Deny for Principal \"*\" refuses the account's own root on both doors; the root may still remove the policy", async () => {
    const repo = 'matrix/deny-root';
    await ensureRepository(repo);
    const { digest } = await pushImage(repo);
    const denyAll = doc([{ Sid: 'NoPulls', Effect: 'Deny', Principal: '*', Action: ['ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer'] }]);
    await rootEcr.send(new SetRepositoryPolicyCommand({ repositoryName: repo, policyText: denyAll }));
    const because = `because explicit deny in repository policy statement 'NoPulls'`;
    const expected = `User: arn:aws:iam::${A}:root is not authorized to perform: ecr:BatchGetImage on resource: ${repoArn(repo)} ${because}`;

    const get = await rootOci.request('GET', `/v2/${repo}/manifests/${digest}`, { headers: { accept: OCI_MANIFEST } });
    expect(get.status).toBe(403);
    expect(await get.json()).toEqual({ errors: [{ code: 'DENIED', message: expected, detail: { action: 'ecr:BatchGetImage' } }] });

    for (const [name, c] of [['root key', callers.root.oci.key], ['root registry token', callers.root.oci.token]] as const) {
      const head = await c.request('HEAD', `/v2/${repo}/manifests/${digest}`);
      expect(head.status, name).toBe(403);
    }
    const viaEcr = await ecr(rootEcr.send(new BatchGetImageCommand({ repositoryName: repo, imageIds: [{ imageDigest: digest! }] })));
    expect(viaEcr).toEqual({ ok: false, status: 400, code: 'AccessDeniedException', message: expected });

    // A user allowed ecr:* is refused the same way; what the policy does not deny still works.
    const user = await callers.denied.oci.key.request('GET', `/v2/${repo}/manifests/${digest}`, { headers: { accept: OCI_MANIFEST } });
    expect(user.status).toBe(403);
    expect(((await user.json()) as { errors: { message: string }[] }).errors[0]!.message).toContain(because);
    const tags = await rootOci.request('GET', `/v2/${repo}/tags/list`);
    expect(tags.status, await tags.text()).toBe(200);

    await rootEcr.send(new DeleteRepositoryPolicyCommand({ repositoryName: repo }));
    const again = await rootOci.request('GET', `/v2/${repo}/manifests/${digest}`, { headers: { accept: OCI_MANIFEST } });
    expect(again.status, await again.text()).toBe(200);
  });

  it('the root of another account is a cross-account caller like any other: refused without a grant, allowed with one', async () => {
    const repo = 'matrix/other-root';
    await ensureRepository(repo);
    const { digest } = await pushImage(repo);
    const rootB = ecrClient(server, rootBKey);
    const get = () => ecr(rootB.send(new BatchGetImageCommand({ registryId: A, repositoryName: repo, imageIds: [{ imageDigest: digest! }] })));
    const refused = await get();
    expect(refused).toMatchObject({ ok: false, code: 'AccessDeniedException' });
    expect(refused.ok ? '' : refused.message).toBe(
      `User: arn:aws:iam::${B}:root is not authorized to perform: ecr:BatchGetImage on resource: ${repoArn(repo)} because cross-account request for ecr:BatchGetImage on ${repoArn(repo)}: account ${A} has no resource-based policy that allows it`,
    );
    await setRepositoryPolicy(repo, ['ecr:BatchGetImage'], false, B);
    expectAllowed(await get());
  });
});

describe('authorization comes before existence', () => {
  it('a caller without access hears DENIED / AccessDeniedException about a repository that does not exist, not that it is missing', async () => {
    const missing = 'matrix/does-not-exist';
    // Account B's user may do anything there as far as its own account is concerned.
    await iamB.send(new PutUserPolicyCommand({ UserName: 'partner', PolicyName: 'Row', PolicyDocument: doc([{ Effect: 'Allow', Action: 'ecr:*', Resource: repoArn('matrix/*') }]) }));
    for (const c of [callers.nobody, callers.partner]) {
      const res = await c.oci.key.request('GET', `/v2/${missing}/manifests/latest`, { headers: { accept: OCI_MANIFEST } });
      const body = (await res.json()) as { errors: { code: string; message: string }[] };
      expect(res.status, JSON.stringify(body)).toBe(403);
      expect(body.errors[0]).toMatchObject({ code: 'DENIED', message: expect.stringContaining(`on resource: ${repoArn(missing)} because`) });
      const viaEcr = await ecr(c.ecr.send(new DescribeImagesCommand(at(missing))));
      expect(viaEcr).toMatchObject({ ok: false, code: 'AccessDeniedException' });
    }
    // The root is allowed, and so learns that it is missing.
    const res = await rootOci.request('GET', `/v2/${missing}/manifests/latest`, { headers: { accept: OCI_MANIFEST } });
    expect(res.status, await res.text()).toBe(404);
  });

  it("the other account's user may name the repository with its account in the path, as ECR's docker login host does", async () => {
    const repo = 'matrix/by-account-path';
    await ensureRepository(repo);
    const { digest } = await pushImage(repo);
    await setRepositoryPolicy(repo, ['ecr:BatchGetImage'], false, userArn(B, 'partner'));
    await iamB.send(
      new PutUserPolicyCommand({ UserName: 'partner', PolicyName: 'Row', PolicyDocument: doc([{ Effect: 'Allow', Action: 'ecr:BatchGetImage', Resource: repoArn(repo) }]) }),
    );
    for (const c of [callers.partner.oci.key, callers.partner.oci.token]) {
      const res = await c.request('GET', `/v2/${A}/${repo}/manifests/${digest}`, { headers: { accept: OCI_MANIFEST } });
      expect(res.status, await res.text()).toBe(200);
      expect(res.headers.get('docker-content-digest')).toBe(digest);
    }
    // Another repository of the same account, which no policy opens to account B, stays closed,
    // though the user's identity policy allows it there too.
    const closedRepo = 'matrix/closed-to-b';
    await ensureRepository(closedRepo);
    const closedImage = await pushImage(closedRepo);
    await iamB.send(
      new PutUserPolicyCommand({ UserName: 'partner', PolicyName: 'Row', PolicyDocument: doc([{ Effect: 'Allow', Action: 'ecr:BatchGetImage', Resource: repoArn('matrix/*') }]) }),
    );
    const closed = await callers.partner.oci.key.request('GET', `/v2/${A}/${closedRepo}/manifests/${closedImage.digest}`, { headers: { accept: OCI_MANIFEST } });
    const text = await closed.text();
    expect(closed.status, text).toBe(403);
    expect(text).toContain(`account ${A} has no resource-based policy that allows it`);
  });
});

describe('CreateRepository with tags also needs ecr:TagResource', () => {
  it('refuses a caller allowed only ecr:CreateRepository, naming ecr:TagResource, and creates nothing; allows it with both', async () => {
    const repo = 'matrix/created-with-tags';
    await iamA.send(
      new PutUserPolicyCommand({ UserName: 'allowed', PolicyName: 'Row', PolicyDocument: doc([{ Effect: 'Allow', Action: 'ecr:CreateRepository', Resource: repoArn(repo) }]) }),
    );
    const create = () => ecr(callers.allowed.ecr.send(new CreateRepositoryCommand({ repositoryName: repo, tags: [{ Key: 'team', Value: 'matrix' }] })));
    const refused = await create();
    expect(refused).toMatchObject({ ok: false, code: 'AccessDeniedException' });
    expect(refused.ok ? '' : refused.message).toBe(
      `User: ${userArn(A, 'allowed')} is not authorized to perform: ecr:TagResource on resource: ${repoArn(repo)} because no identity-based or resource-based policy allows ecr:TagResource on ${repoArn(repo)}`,
    );
    expect(await server.app.meta.repositories.get(A, repo)).toBeUndefined();

    // TagResource allowed only for that tag key (aws:TagKeys, a condition on the request's tags).
    await iamA.send(
      new PutUserPolicyCommand({
        UserName: 'allowed',
        PolicyName: 'Row',
        PolicyDocument: doc([
          { Effect: 'Allow', Action: 'ecr:CreateRepository', Resource: repoArn(repo) },
          { Effect: 'Allow', Action: 'ecr:TagResource', Resource: repoArn(repo), Condition: { 'ForAllValues:StringEquals': { 'aws:TagKeys': ['team'] } } },
        ]),
      }),
    );
    const withOtherKey = await ecr(callers.allowed.ecr.send(new CreateRepositoryCommand({ repositoryName: repo, tags: [{ Key: 'owner', Value: 'x' }] })));
    expect(withOtherKey).toMatchObject({ ok: false, code: 'AccessDeniedException' });
    expectAllowed(await create());
    const tags = await rootEcr.send(new ListTagsForResourceCommand({ resourceArn: repoArn(repo) }));
    expect(tags.tags).toEqual([{ Key: 'team', Value: 'matrix' }]);
  });
});
