// Policy evaluation cost, berth only (issue #4's benchmark). bench/run.js runs it after its other
// parts; `node bench/run.js --policy-only` runs only this part, and so does `node bench/policy.js`.
// Needs `npm run build` (it starts bin/berth.js and imports dist/iam/) and the devDependencies
// @aws-sdk/client-ecr and @aws-sdk/client-iam. See bench/README.md.
//
//   1. Start berth; CreateRepository bench/policy-none and bench/policy-ten; push one small image
//      (config + 4 KiB layer + OCI manifest) to each.
//   2. Give bench/policy-ten a repository policy of 10 statements, and make an IAM user whose one
//      attached customer managed policy has 10 statements (varied actions, resources, conditions;
//      one of them allows ecr:BatchGetImage on bench/policy-ten). Check that both are in force.
//   3. Manifest HEAD req/s with bench/load.js (32 keep-alive connections, 2 threads, 10 s), taking
//      turns 3 times: (i) the account root on bench/policy-none, where no policy exists at all,
//      and (ii) the user on bench/policy-ten (10 identity + 10 resource statements). Medians.
//      Cost = 1 - rate(ii) / rate(i); target: under 10 %.
//   4. In-process: µs per call of the engine's authorize() (dist/iam/policy) with the same two
//      documents and the request a HEAD makes, and of the Authorizer (dist/iam/authorizer.js), the
//      doors' entry point, with its policy sources answering from memory.

import http from 'node:http';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import crypto from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { runLoad } from './load.js';
import { loopbackRequest, spawnBerth, stopChild } from './berth-process.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const REGION = 'us-east-1';
const ACCOUNT = '000000000000'; // berth's default account
const OTHER = '444455556666'; // named by statements that do not apply to the benchmark's requests
const REPO_NONE = 'bench/policy-none';
const REPO_TEN = 'bench/policy-ten';
const USER = 'bench-policy-user';
const ACCESS_KEY_ID = 'AKIABENCHPOLICYBENCH';
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const OCI_CONFIG = 'application/vnd.oci.image.config.v1+json';
const OCI_LAYER = 'application/vnd.oci.image.layer.v1.tar+gzip';
const CONNECTIONS = 32;
const THREADS = 2;
const TARGET_COST = 0.1;
const ENGINE_ITERATIONS = 20_000;
const ENGINE_ROUNDS = 3;

export class PolicyBenchError extends Error {}

const arn = (name) => `arn:aws:ecr:${REGION}:${ACCOUNT}:repository/${name}`;
const sha256 = (buf) => `sha256:${crypto.createHash('sha256').update(buf).digest('hex')}`;

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function randomAlnum(n) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  let out = '';
  while (out.length < n) {
    for (const b of crypto.randomBytes(n * 2)) {
      if (b < 248 && out.length < n) out += alphabet[b % 62]; // 248 = 4*62: no modulo bias
    }
  }
  return out;
}

let clockTicks = 0;
/** CPU seconds (user + system) the process `pid` has used so far, from /proc/<pid>/stat. */
function procCpuSeconds(pid) {
  if (!clockTicks) {
    const r = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' });
    clockTicks = Number(r.stdout) > 0 ? Number(r.stdout) : 100;
  }
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / clockTicks;
}

// ---------------------------------------------------------------------------------------------
// the policies: 10 statements each

/**
 * The user's identity policy: what a team's CI user might carry. Statement 6 is the one that allows
 * the benchmark's request; several others name ecr:BatchGetImage too (by wildcard or NotAction) and
 * must be checked and found not to apply (resource, condition), as a Deny whose condition is false.
 */
export function identityPolicyDocument() {
  return {
    Version: '2012-10-17',
    Statement: [
      { Sid: 'Login', Effect: 'Allow', Action: 'ecr:GetAuthorizationToken', Resource: '*' },
      { Sid: 'ReadTeamRepos', Effect: 'Allow', Action: ['ecr:Describe*', 'ecr:List*'], Resource: arn('team-*/*'), Condition: { StringEquals: { 'aws:ResourceTag/team': 'platform' } } },
      { Sid: 'PushFromCi', Effect: 'Allow', Action: ['ecr:InitiateLayerUpload', 'ecr:UploadLayerPart', 'ecr:CompleteLayerUpload', 'ecr:PutImage'], Resource: arn('ci/*'), Condition: { IpAddress: { 'aws:SourceIp': ['10.0.0.0/8', '192.168.0.0/16'] } } },
      { Sid: 'PullOtherTeams', Effect: 'Allow', Action: 'ecr:BatchGet*', Resource: [arn('other/*'), arn('team-b/*')], Condition: { StringLike: { 'aws:username': 'ci-*' } } },
      { Sid: 'NoDeletes', Effect: 'Deny', Action: ['ecr:DeleteRepository', 'ecr:BatchDeleteImage', 'ecr:DeleteRepositoryPolicy'], Resource: '*' },
      { Sid: 'PullBench', Effect: 'Allow', Action: ['ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer', 'ecr:BatchCheckLayerAvailability'], Resource: arn(REPO_TEN), Condition: { StringEquals: { 'aws:PrincipalAccount': ACCOUNT } } },
      { Sid: 'OnlyFromKnownNetworks', Effect: 'Deny', Action: 'ecr:*', Resource: '*', Condition: { NotIpAddress: { 'aws:SourceIp': ['127.0.0.0/8', '10.0.0.0/8', '::1/128'] } } },
      { Sid: 'NotBeforeRollout', Effect: 'Deny', NotAction: ['ecr:GetAuthorizationToken', 'ecr:Describe*'], Resource: arn('bench/*'), Condition: { DateLessThan: { 'aws:CurrentTime': '2020-01-01T00:00:00Z' } } },
      { Sid: 'TagOwnRepos', Effect: 'Allow', Action: ['ecr:TagResource', 'ecr:UntagResource'], Resource: arn('${aws:username}/*') },
      { Sid: 'ScanSettings', Effect: 'Allow', Action: 'ecr:PutImageScanningConfiguration', Resource: '*', Condition: { Bool: { 'aws:SecureTransport': 'true' }, NumericLessThan: { 'aws:EpochTime': 4102444800 } } },
    ],
  };
}

/**
 * The repository policy: grants to other accounts and roles, and Denies whose conditions are false
 * for the benchmark's requests. None of them allows the user: within one account the identity
 * policy's allow suffices, and every statement here must still be looked at for a Deny.
 */
export function repositoryPolicyDocument() {
  return {
    Version: '2012-10-17',
    Statement: [
      { Sid: 'PullFromOtherAccount', Effect: 'Allow', Principal: { AWS: OTHER }, Action: ['ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer', 'ecr:BatchCheckLayerAvailability'] },
      { Sid: 'PushFromBuildRole', Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${OTHER}:role/builder` }, Action: ['ecr:PutImage', 'ecr:InitiateLayerUpload', 'ecr:UploadLayerPart', 'ecr:CompleteLayerUpload'] },
      { Sid: 'NoRepositoryDeletes', Effect: 'Deny', Principal: '*', Action: 'ecr:DeleteRepository' },
      { Sid: 'DenyOutsideNetworks', Effect: 'Deny', Principal: '*', Action: 'ecr:*', Condition: { NotIpAddress: { 'aws:SourceIp': ['127.0.0.0/8', '10.0.0.0/8', '::1/128'] } } },
      { Sid: 'AuditorsRead', Effect: 'Allow', Principal: { AWS: [`arn:aws:iam::${OTHER}:user/auditor`, `arn:aws:iam::${OTHER}:role/audit`] }, Action: ['ecr:DescribeImages', 'ecr:ListImages'] },
      { Sid: 'OrgPull', Effect: 'Allow', Principal: '*', Action: 'ecr:BatchGetImage', Condition: { StringEquals: { 'aws:PrincipalAccount': [OTHER, '777788889999'] } } },
      { Sid: 'NoUntrustedPull', Effect: 'Deny', Principal: '*', Action: ['ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer'], Condition: { StringEquals: { 'aws:PrincipalType': 'AssumedRole' }, StringLike: { 'aws:PrincipalArn': `arn:aws:sts::${OTHER}:assumed-role/untrusted-*` } } },
      { Sid: 'TagPolicy', Effect: 'Deny', Principal: '*', Action: 'ecr:TagResource', Condition: { 'ForAnyValue:StringEquals': { 'aws:TagKeys': ['owner', 'cost-center'] } } },
      { Sid: 'PolicyAdmins', Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${OTHER}:role/admin` }, Action: ['ecr:SetRepositoryPolicy', 'ecr:GetRepositoryPolicy'] },
      { Sid: 'NoLegacyClients', Effect: 'Deny', Principal: '*', NotAction: ['ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer', 'ecr:BatchCheckLayerAvailability', 'ecr:DescribeImages', 'ecr:ListImages'], Condition: { Null: { 'aws:userid': 'true' } } },
    ],
  };
}

// ---------------------------------------------------------------------------------------------
// the server

async function startBerth(tmp, verbose) {
  const dataDir = path.join(tmp, 'data');
  fs.mkdirSync(dataDir, { recursive: true });
  const secret = randomAlnum(40);
  const started = await spawnBerth({
    root: ROOT,
    verbose,
    ErrorClass: PolicyBenchError,
    settings: {
      BERTH_LISTEN: '127.0.0.1:0',
      BERTH_DATA_DIR: dataDir,
      BERTH_ROOT_ACCESS_KEY_ID: ACCESS_KEY_ID,
      BERTH_ROOT_SECRET_ACCESS_KEY: secret,
      BERTH_CREATE_ON_PUSH: 'false',
      BERTH_LOG_LEVEL: 'warn',
      BERTH_LIMITS_RATE_LIMITING: 'false', // a HEAD counts against ECR's BatchGetImage quota, which would cap the rate
    },
  });
  const { proc, port } = started;
  return {
    proc,
    pid: proc.pid,
    port,
    base: `http://127.0.0.1:${port}`,
    credentials: { accessKeyId: ACCESS_KEY_ID, secretAccessKey: secret },
    authHeader: `Basic ${Buffer.from(`${ACCESS_KEY_ID}:${secret}`).toString('base64')}`,
    output: started.output,
    linesSinceStart: started.linesSinceStart,
    alive: started.alive,
  };
}

/** One OCI request on `agent` with `authorization`; resolves with status, headers and body. */
function request(server, agent, authorization, method, target, opts = {}) {
  return loopbackRequest(server, agent, authorization, method, target, { ...opts, ErrorClass: PolicyBenchError, timeoutMs: 60000 });
}

function expectStatus(r, status, what) {
  if (r.status !== status) {
    const text = r.body.toString('utf8').slice(0, 2000);
    throw new PolicyBenchError(`${what}: ${r.method} ${r.path} expected ${status}, got ${r.status}${text ? `, body: ${text}` : ''}`);
  }
}

/** A config, a 4 KiB layer and an OCI manifest, pushed as the root; returns the manifest digest. */
async function pushSmallImage(server, agent, repo) {
  const layer = crypto.randomBytes(4096);
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', config: {}, rootfs: { type: 'layers', diff_ids: [sha256(layer)] } }));
  for (const blob of [config, layer]) {
    const r = await request(server, agent, server.authHeader, 'POST', `/v2/${repo}/blobs/uploads/?digest=${sha256(blob)}`, {
      headers: { 'content-type': 'application/octet-stream' },
      body: blob,
    });
    expectStatus(r, 201, 'blob upload');
  }
  const manifest = Buffer.from(JSON.stringify({
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: { mediaType: OCI_CONFIG, digest: sha256(config), size: config.length },
    layers: [{ mediaType: OCI_LAYER, digest: sha256(layer), size: layer.length }],
  }));
  const r = await request(server, agent, server.authHeader, 'PUT', `/v2/${repo}/manifests/v1`, { headers: { 'content-type': OCI_MANIFEST }, body: manifest });
  expectStatus(r, 201, 'manifest PUT');
  return sha256(manifest);
}

async function loadModule(rel, names) {
  const file = path.join(ROOT, rel);
  if (!fs.existsSync(file)) throw new PolicyBenchError(`${rel} is missing: run \`npm run build\` first`);
  const m = await import(pathToFileURL(file).href);
  for (const name of names) {
    if (typeof m[name] !== 'function') throw new PolicyBenchError(`${rel} does not export ${name}()`);
  }
  return m;
}

async function loadSdk(name) {
  try {
    return await import(name);
  } catch (err) {
    throw new PolicyBenchError(`cannot load ${name} (a devDependency: run \`npm install\`): ${err.message}`);
  }
}

function sdkError(err, what) {
  const status = err?.$metadata?.httpStatusCode;
  return new PolicyBenchError(`${what}: ${err?.name ?? 'Error'}${status ? ` (HTTP ${status})` : ''}: ${err?.message ?? err}`);
}

// ---------------------------------------------------------------------------------------------
// measurements

/** Manifest HEAD req/s as one caller, with load.js; any non-2xx answer stops the run. */
async function measureHead(server, authorization, repo, seconds) {
  const cpuBefore = procCpuSeconds(server.pid);
  const r = await runLoad({
    host: '127.0.0.1',
    port: server.port,
    path: `/v2/${repo}/manifests/v1`,
    method: 'HEAD',
    headers: { Accept: OCI_MANIFEST, Authorization: authorization },
    connections: CONNECTIONS,
    threads: THREADS,
    durationMs: seconds * 1000,
  });
  const cpuSeconds = procCpuSeconds(server.pid) - cpuBefore;
  const serverCpu = (cpuSeconds / r.seconds) * 100;
  if (r.non2xx > 0) throw new PolicyBenchError(`HEAD ${repo}: ${r.non2xx} of ${r.requests} answers were not 2xx (${JSON.stringify(r.statuses)}); first: ${JSON.stringify(r.firstBad)}`);
  if (r.requests === 0) throw new PolicyBenchError(`HEAD ${repo}: no requests completed (${r.errors} errors: ${r.errorSample})`);
  // The server's CPU time per request: less moved than req/s by other work on a shared host.
  return { ...r, serverCpu, cpuUsPerRequest: (cpuSeconds * 1e6) / r.requests };
}

/**
 * The engine alone: authorize() with the two parsed documents and the request context a manifest
 * HEAD builds (time keys, source address, transport), ENGINE_ITERATIONS calls per round, best of
 * ENGINE_ROUNDS. Also the root with no policies, and the Authorizer with in-memory sources.
 */
async function measureEngine() {
  const policy = await loadModule('dist/iam/policy/index.js', ['parsePolicy', 'authorize', 'requestTimeKeys']);
  const { Authorizer } = await loadModule('dist/iam/authorizer.js', ['Authorizer']);
  const identity = policy.parsePolicy(JSON.stringify(identityPolicyDocument()), 'identity', { maxLength: 6144, lengthExcludesWhitespace: true });
  const resource = policy.parsePolicy(JSON.stringify(repositoryPolicyDocument()), 'resource', { maxLength: 10240, resourceImplied: true });
  const userPrincipal = { arn: `arn:aws:iam::${ACCOUNT}:user/${USER}`, accountId: ACCOUNT, type: 'User', userName: USER, userId: 'AIDABENCHPOLICYUSER0' };
  const rootPrincipal = { arn: `arn:aws:iam::${ACCOUNT}:root`, accountId: ACCOUNT, type: 'Account', userId: ACCOUNT };
  const ctx = (principal, repo) => ({
    principal,
    action: 'ecr:BatchGetImage',
    resource: arn(repo),
    resourceAccount: ACCOUNT,
    keys: { ...policy.requestTimeKeys(new Date()), 'aws:SourceIp': '127.0.0.1', 'aws:SecureTransport': false },
  });
  const withPolicies = { identityPolicies: [{ name: `arn:aws:iam::${ACCOUNT}:policy/bench-ten`, doc: identity }], resourcePolicy: { name: 'repository policy', doc: resource }, ctx: ctx(userPrincipal, REPO_TEN) };
  const none = { identityPolicies: [], ctx: ctx(rootPrincipal, REPO_NONE) };
  const decisionWith = policy.authorize(withPolicies);
  if (decisionWith.effect !== 'Allow' || decisionWith.statement?.sid !== 'PullBench') {
    throw new PolicyBenchError(`engine: expected an Allow by statement PullBench, got ${JSON.stringify(decisionWith)}`);
  }
  const decisionNone = policy.authorize(none);
  if (decisionNone.effect !== 'Allow') throw new PolicyBenchError(`engine: the root was not allowed: ${JSON.stringify(decisionNone)}`);

  // The doors' entry point: principal resolution, the four sources (answered here from memory, as
  // the server's caches do on a hit), the request's keys, then the engine.
  const authorizer = (principalView, identityPolicies, repoPolicy) =>
    new Authorizer(
      {
        identityPolicies: async () => identityPolicies,
        requestPrincipal: async () => principalView,
        repositoryPolicy: async () => repoPolicy,
        repositoryTags: async () => [],
      },
      REGION,
    );
  const authWith = authorizer(userPrincipal, withPolicies.identityPolicies, resource);
  const authNone = authorizer(rootPrincipal, [], undefined);
  const userRef = { kind: 'user', accountId: ACCOUNT, arn: userPrincipal.arn, accessKeyId: 'AKIABENCH', userName: USER };
  const rootRef = { kind: 'root', accountId: ACCOUNT, arn: rootPrincipal.arn, accessKeyId: ACCESS_KEY_ID };
  const facts = { sourceIp: '127.0.0.1', secureTransport: false };

  const rounds = (fn) => {
    const us = [];
    for (let r = 0; r < ENGINE_ROUNDS; r++) {
      const t0 = performance.now();
      fn();
      us.push(((performance.now() - t0) * 1000) / ENGINE_ITERATIONS);
    }
    return { best: Math.min(...us), all: us };
  };
  const roundsAsync = async (fn) => {
    const us = [];
    for (let r = 0; r < ENGINE_ROUNDS; r++) {
      const t0 = performance.now();
      await fn();
      us.push(((performance.now() - t0) * 1000) / ENGINE_ITERATIONS);
    }
    return { best: Math.min(...us), all: us };
  };
  for (let i = 0; i < 5000; i++) {
    policy.authorize(withPolicies);
    policy.authorize(none);
  }
  const engineWith = rounds(() => {
    for (let i = 0; i < ENGINE_ITERATIONS; i++) policy.authorize(withPolicies);
  });
  const engineNone = rounds(() => {
    for (let i = 0; i < ENGINE_ITERATIONS; i++) policy.authorize(none);
  });
  for (let i = 0; i < 2000; i++) {
    await authWith.authorize(userRef, 'ecr:BatchGetImage', { accountId: ACCOUNT, repositoryName: REPO_TEN }, facts);
    await authNone.authorize(rootRef, 'ecr:BatchGetImage', { accountId: ACCOUNT, repositoryName: REPO_NONE }, facts);
  }
  const doorWith = await roundsAsync(async () => {
    for (let i = 0; i < ENGINE_ITERATIONS; i++) await authWith.authorize(userRef, 'ecr:BatchGetImage', { accountId: ACCOUNT, repositoryName: REPO_TEN }, facts);
  });
  const doorNone = await roundsAsync(async () => {
    for (let i = 0; i < ENGINE_ITERATIONS; i++) await authNone.authorize(rootRef, 'ecr:BatchGetImage', { accountId: ACCOUNT, repositoryName: REPO_NONE }, facts);
  });
  return { engineWith, engineNone, doorWith, doorNone, reason: decisionWith.reason };
}

// ---------------------------------------------------------------------------------------------
// main

/**
 * Runs the policy measurements against a berth of its own and prints a report. `quick`: 3 s runs,
 * one turn each. Resolves with the results; rejects with PolicyBenchError when something fails.
 */
export async function runPolicyBench({ verbose = false, quick = false } = {}) {
  const log = (...a) => console.log(...a);
  const progress = (text) => process.stdout.write(`${text} ... `);
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const seconds = quick ? 3 : 10;
  const turns = quick ? 1 : 3;
  const { ECRClient, CreateRepositoryCommand, SetRepositoryPolicyCommand } = await loadSdk('@aws-sdk/client-ecr');
  const { IAMClient, CreateUserCommand, CreatePolicyCommand, AttachUserPolicyCommand, CreateAccessKeyCommand } = await loadSdk('@aws-sdk/client-iam');

  log('');
  log(`Policy evaluation benchmark (berth only): manifest HEAD, load.js c=${CONNECTIONS} ${THREADS} threads ${seconds} s, ${turns} turn(s) each`);
  log(`host: ${os.cpus().length} x ${(os.cpus()[0] || {}).model || 'unknown CPU'}, node ${process.version}, load average ${os.loadavg()[0].toFixed(2)}`);
  if (os.loadavg()[0] > os.cpus().length / 2) {
    log(`note: the host is busy (load average ${os.loadavg()[0].toFixed(2)} on ${os.cpus().length} CPUs); req/s will move with the other work, the in-process figures less so`);
  }

  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-bench-policy-'));
  let server = null;
  const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
  const onExit = () => {
    if (server) server.proc.kill('SIGKILL');
    fs.rmSync(tmp, { recursive: true, force: true });
  };
  process.on('exit', onExit);
  const clients = [];
  try {
    progress('starting berth');
    server = await startBerth(tmp, verbose);
    log(`listening on ${server.base} (pid ${server.pid})`);
    const sdk = { endpoint: server.base, region: REGION, credentials: server.credentials, maxAttempts: 1 };
    const ecr = new ECRClient(sdk);
    const iam = new IAMClient(sdk);
    clients.push(ecr, iam);
    const send = async (client, command, what) => {
      try {
        return await client.send(command);
      } catch (err) {
        throw sdkError(err, what);
      }
    };

    progress(`CreateRepository ${REPO_NONE} and ${REPO_TEN}, one small image in each`);
    for (const repositoryName of [REPO_NONE, REPO_TEN]) {
      await send(ecr, new CreateRepositoryCommand({ repositoryName }), `CreateRepository ${repositoryName}`);
      await pushSmallImage(server, agent, repositoryName);
    }
    log('done');

    progress(`repository policy of ${REPO_TEN} (10 statements), user ${USER} with a 10-statement managed policy`);
    const repoPolicy = JSON.stringify(repositoryPolicyDocument());
    await send(ecr, new SetRepositoryPolicyCommand({ repositoryName: REPO_TEN, policyText: repoPolicy }), 'SetRepositoryPolicy');
    await send(iam, new CreateUserCommand({ UserName: USER }), 'CreateUser');
    const idPolicy = JSON.stringify(identityPolicyDocument());
    const created = await send(iam, new CreatePolicyCommand({ PolicyName: 'bench-ten', PolicyDocument: idPolicy }), 'CreatePolicy');
    await send(iam, new AttachUserPolicyCommand({ UserName: USER, PolicyArn: created.Policy.Arn }), 'AttachUserPolicy');
    const { AccessKey } = await send(iam, new CreateAccessKeyCommand({ UserName: USER }), 'CreateAccessKey');
    const userAuth = `Basic ${Buffer.from(`${AccessKey.AccessKeyId}:${AccessKey.SecretAccessKey}`).toString('base64')}`;
    log(`done (${repoPolicy.length} + ${idPolicy.length} characters)`);

    // The policies are in force: the user may HEAD on the policy repository only, the root on both.
    progress('checking the decisions');
    const head = (auth, repo) => request(server, agent, auth, 'HEAD', `/v2/${repo}/manifests/v1`, { headers: { accept: OCI_MANIFEST } });
    expectStatus(await head(userAuth, REPO_TEN), 200, `HEAD as ${USER} on ${REPO_TEN}`);
    expectStatus(await head(server.authHeader, REPO_NONE), 200, `HEAD as root on ${REPO_NONE}`);
    expectStatus(await head(userAuth, REPO_NONE), 403, `HEAD as ${USER} on ${REPO_NONE} (no statement allows it)`);
    log(`${USER} allowed on ${REPO_TEN} and refused on ${REPO_NONE}; root allowed`);

    const cases = [
      { key: 'none', label: '(i) root, no policies', auth: server.authHeader, repo: REPO_NONE },
      { key: 'ten', label: '(ii) user, 10 + 10 statements', auth: userAuth, repo: REPO_TEN },
    ];
    progress('warm-up, 2 s each');
    for (const c of cases) await measureHead(server, c.auth, c.repo, 2);
    log('done');
    const runs = { none: [], ten: [] };
    const cpu = { none: [], ten: [] };
    const cpuUs = { none: [], ten: [] };
    for (let turn = 0; turn < turns; turn++) {
      // Alternate which goes first, so a drift of the host's speed does not favour one side.
      for (const c of turn % 2 === 0 ? cases : [...cases].reverse()) {
        progress(`manifest HEAD ${c.label}, turn ${turn + 1}/${turns}`);
        const r = await measureHead(server, c.auth, c.repo, seconds);
        runs[c.key].push(r.rps);
        cpu[c.key].push(r.serverCpu);
        cpuUs[c.key].push(r.cpuUsPerRequest);
        log(`${r.rps.toFixed(0)} req/s (${r.requests} requests, latency avg ${r.latencyAvgMs.toFixed(2)} ms, server CPU ${r.serverCpu.toFixed(0)}%, ${r.cpuUsPerRequest.toFixed(0)} µs/request` +
          `${r.errors || r.timeouts ? `, ${r.errors} connection errors, ${r.timeouts} timeouts` : ''})`);
      }
    }

    progress(`in-process authorize(): best of ${ENGINE_ROUNDS} x ${ENGINE_ITERATIONS}`);
    const engine = await measureEngine();
    log('done');

    if (!server.alive()) throw new PolicyBenchError(`berth exited during the run; output:\n${server.output()}`);
    if (server.linesSinceStart() > 0) {
      log(`\nnote: berth printed ${server.linesSinceStart()} line(s) during the run; the last of them:`);
      log(server.output().split('\n').slice(-11).join('\n'));
    }
    const results = {
      rpsNone: median(runs.none),
      rpsTen: median(runs.ten),
      runs,
      cpu: { none: median(cpu.none), ten: median(cpu.ten) },
      cpuUs: { none: median(cpuUs.none), ten: median(cpuUs.ten) },
      engine,
      seconds,
      turns,
    };
    results.cost = 1 - results.rpsTen / results.rpsNone;
    printReport(results, log);
    return results;
  } catch (err) {
    if (server && server.output().trim()) console.error(`\n--- last output of berth ---\n${server.output().split('\n').slice(-30).join('\n')}`);
    throw err;
  } finally {
    for (const c of clients) c.destroy();
    agent.destroy();
    if (server) await stopChild(server.proc);
    server = null;
    fs.rmSync(tmp, { recursive: true, force: true });
    process.off('exit', onExit);
  }
}

function printReport(r, log) {
  const pad = (s, n) => String(s).padEnd(n);
  const us = (x) => `${x.best.toFixed(2)} µs`;
  const runsText = (xs) => xs.map((x) => x.toFixed(0)).join(', ');
  const pct = (x) => `${(x * 100).toFixed(1)}%`;
  const rows = [
    [`manifest HEAD req/s ${'(i) root, no policies'}`, r.rpsNone.toFixed(0), `runs ${runsText(r.runs.none)}; server CPU ${r.cpu.none.toFixed(0)}%`],
    ['manifest HEAD req/s (ii) user, 10+10 stmts', r.rpsTen.toFixed(0), `runs ${runsText(r.runs.ten)}; server CPU ${r.cpu.ten.toFixed(0)}%`],
    ['policy cost: 1 - (ii)/(i)', pct(r.cost), 'of the request rate'],
    ['server CPU per HEAD, (i) / (ii)', `${r.cpuUs.none.toFixed(0)} / ${r.cpuUs.ten.toFixed(0)} µs`, `(ii) / (i) - 1 = ${pct(r.cpuUs.ten / r.cpuUs.none - 1)} (informational)`],
    ['authorize() engine, 10+10 statements', us(r.engine.engineWith), `best of ${r.engine.engineWith.all.map((x) => x.toFixed(2)).join(', ')}`],
    ['authorize() engine, root, no policies', us(r.engine.engineNone), `best of ${r.engine.engineNone.all.map((x) => x.toFixed(2)).join(', ')}`],
    ['Authorizer.authorize(), 10+10 statements', us(r.engine.doorWith), 'sources answered from memory (a cache hit)'],
    ['Authorizer.authorize(), root, no policies', us(r.engine.doorNone), ''],
  ];
  log('');
  log(`Policy results (berth only; median of ${r.turns} turn(s) of ${r.seconds} s; load.js c=${CONNECTIONS}, ${THREADS} threads, same host)`);
  log(`${pad('measure', 46)}${pad('berth', 15)}notes`);
  for (const [label, value, note] of rows) log(`${pad(label, 46)}${pad(value, 15)}${note}`);
  const extra = (r.engine.doorWith.best - r.engine.doorNone.best) * r.rpsNone / 1e6;
  log(`the decision of (ii) costs ${(r.engine.doorWith.best - r.engine.doorNone.best).toFixed(2)} µs more than (i)'s in-process: ${pct(extra)} of one core at (i)'s rate`);
  const spread = (xs) => (Math.max(...xs) - Math.min(...xs)) / median(xs);
  const noise = Math.max(spread(r.runs.none), spread(r.runs.ten));
  if (r.turns > 1 && Math.abs(r.cost) < noise) {
    log(`note: the cost is within the run-to-run spread of req/s (up to ${pct(noise)} between turns of one case): this host cannot resolve it; rerun on a quiet host`);
  }
  log(`(ii) decided by: ${r.engine.reason}`);
  log(`load average (1 min) at the end: ${os.loadavg()[0].toFixed(2)} on ${os.cpus().length} CPUs; client and server share them.`);
  log('');
  log('targets');
  log(`  ${pad(`policies cost < ${TARGET_COST * 100}% of the HEAD rate`, 44)}${pad(pct(r.cost), 14)}${r.cost < TARGET_COST ? 'PASS' : 'MISS'}`);
}

// `node bench/policy.js` runs it alone.
if (process.argv[1] && pathToFileURL(path.resolve(process.argv[1])).href === import.meta.url) {
  for (const [sig, code] of [['SIGINT', 130], ['SIGTERM', 143], ['SIGHUP', 129]]) {
    process.on(sig, () => {
      console.error(`\n${sig}: stopping berth and removing temp files`);
      process.exit(code); // the 'exit' handler kills the server and removes the temp dir
    });
  }
  runPolicyBench({ verbose: process.argv.includes('--verbose') || process.argv.includes('-v'), quick: process.argv.includes('--quick') }).then(
    () => process.exit(0),
    (err) => {
      console.error(`\npolicy benchmark failed: ${err instanceof PolicyBenchError ? err.message : err.stack || err}`);
      process.exit(1);
    },
  );
}
