/**
 * Graceful shutdown of the real server process (`bin/berth.js serve`, run from dist: `npm run
 * build` first). On SIGTERM berth stops accepting connections, lets requests in flight finish,
 * cuts those still running at the shutdown timeout (an upload cut there stays resumable with the
 * bytes that reached the disk), writes the pull times it holds in memory, closes the database,
 * and exits with status 0.
 */
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { existsSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { randomBytes } from 'node:crypto';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { startBerth, type BerthProcess } from '../helpers/berth-process.js';
import { OciTestClient, sha256 } from '../helpers/oci-client.js';

const MiB = 1024 * 1024;
let started: BerthProcess[] = [];

afterEach(async () => {
  const procs = started.reverse();
  started = [];
  for (const p of procs) await p.cleanup().catch(() => undefined);
});

async function start(previous?: BerthProcess, env: Record<string, string> = {}): Promise<BerthProcess> {
  const p = await startBerth({
    ...(previous ? { dataDir: previous.dataDir, accessKeyId: previous.accessKeyId, secretAccessKey: previous.secretAccessKey } : {}),
    // A collection every second with no grace: shutdown must stop it too.
    env: { BERTH_SHUTDOWN_TIMEOUT: '2s', BERTH_GC_INTERVAL: '1s', BERTH_GC_GRACE: '0', BERTH_LOG_LEVEL: 'info', ...env },
  });
  started.push(p);
  return p;
}

/** A PATCH to an upload session whose body the test writes piece by piece. */
function streamingPatch(p: BerthProcess, location: string, offset: number, length: number) {
  const req = httpRequest({
    host: '127.0.0.1',
    port: p.port,
    method: 'PATCH',
    path: location,
    agent: false,
    headers: {
      authorization: p.authHeader,
      'content-type': 'application/octet-stream',
      'content-length': String(length),
      'content-range': `${offset}-${offset + length - 1}`,
    },
  });
  const outcome = new Promise<{ status: number; range?: string } | { error: string }>((resolve) => {
    req.on('response', (res) => {
      res.resume();
      resolve({ status: res.statusCode ?? 0, range: res.headers['range'] as string });
    });
    req.on('error', (err) => resolve({ error: err.message }));
  });
  req.flushHeaders();
  const write = (data: Buffer) => new Promise<void>((resolve, reject) => req.write(data, (err) => (err ? reject(err) : resolve())));
  return { req, outcome, write };
}

async function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

async function openSession(c: OciTestClient, repo: string): Promise<string> {
  const res = await c.request('POST', `/v2/${repo}/blobs/uploads/`);
  expect(res.status).toBe(202);
  return res.headers.get('location')!;
}

describe('SIGTERM', () => {
  it('stops accepting, lets an upload in flight finish, flushes pull times, closes the database and exits 0', async () => {
    const berth = await start();
    const c = new OciTestClient(berth.url, berth.authHeader);
    const image = await c.pushImage('shut/app', 'v1');
    // A pull, recorded in memory and written every 5 s: shutdown must write it.
    expect((await c.request('GET', '/v2/shut/app/manifests/v1')).status).toBe(200);

    const data = randomBytes(3 * MiB);
    const location = await openSession(c, 'shut/app');
    const patch = streamingPatch(berth, location, 0, data.length);
    await patch.write(data.subarray(0, MiB));
    await sleep(100);

    process.kill(berth.pid, 'SIGTERM');
    // No new connections: the listening socket closes at once.
    let refused = false;
    for (let i = 0; i < 50 && !refused; i++) {
      refused = !(await canConnect(berth.port));
      if (!refused) await sleep(20);
    }
    expect(refused, 'berth should stop accepting connections after SIGTERM').toBe(true);

    // The request in flight completes, well within the 2 s timeout.
    await patch.write(data.subarray(MiB));
    patch.req.end();
    expect(await patch.outcome).toEqual({ status: 202, range: `0-${data.length - 1}` });
    const status = await berth.exited;
    expect(status, berth.output()).toEqual({ code: 0, signal: null });
    expect(berth.output()).toMatch(/"msg":"shutting down"/);
    // The database was closed: SQLite checkpoints and removes its WAL on the last close.
    expect(existsSync(join(berth.dataDir, 'metadata.db-wal'))).toBe(false);
    const db = new Database(join(berth.dataDir, 'metadata.db'), { readonly: true });
    try {
      const row = db.prepare('SELECT last_pulled_at FROM manifests WHERE digest = ?').get(image.digest) as { last_pulled_at: number | null };
      expect(row.last_pulled_at, 'the pull time held in memory was written').not.toBeNull();
    } finally {
      db.close();
    }

    // The session holds the whole body and completes after a restart.
    const again = await start(berth);
    const c2 = new OciTestClient(again.url, again.authHeader);
    const put = await c2.request('PUT', `${location}?digest=${sha256(data)}`);
    expect(put.status).toBe(201);
    expect((await c2.request('GET', '/v2/shut/app/manifests/v1')).status).toBe(200);
  });

  it('cuts an upload that outlasts the shutdown timeout; its session resumes after a restart', async () => {
    const berth = await start();
    const c = new OciTestClient(berth.url, berth.authHeader);
    const data = randomBytes(6 * MiB);
    const location = await openSession(c, 'shut/slow');
    const id = location.slice(location.lastIndexOf('/') + 1);
    const patch = streamingPatch(berth, location, 0, data.length);
    await patch.write(data.subarray(0, 3 * MiB));
    // Wait until at least a batch is on disk.
    const file = join(berth.dataDir, 'uploads', id);
    for (let i = 0; i < 100 && ((await stat(file).catch(() => undefined))?.size ?? 0) < MiB; i++) await sleep(20);

    const killedAt = Date.now();
    process.kill(berth.pid, 'SIGTERM');
    // The client never sends the rest: berth waits out the 2 s timeout, then cuts the connection.
    const outcome = await patch.outcome;
    expect('error' in outcome, JSON.stringify(outcome)).toBe(true);
    const status = await berth.exited;
    const took = Date.now() - killedAt;
    expect(status, berth.output()).toEqual({ code: 0, signal: null });
    expect(took).toBeGreaterThanOrEqual(1900);
    expect(took).toBeLessThan(10_000);
    expect(berth.output()).toMatch(/requests still in flight at the shutdown timeout/);

    const again = await start(berth);
    const c2 = new OciTestClient(again.url, again.authHeader);
    const session = await c2.request('GET', location);
    expect(session.status).toBe(204);
    const n = Number(/^0-(\d+)$/.exec(session.headers.get('range') ?? '')?.[1]) + 1;
    expect(n).toBeGreaterThanOrEqual(MiB);
    expect(n).toBeLessThanOrEqual(3 * MiB);
    const rest = await c2.request('PATCH', location, {
      body: data.subarray(n),
      headers: { 'content-type': 'application/octet-stream', 'content-range': `${n}-${data.length - 1}` },
    });
    expect(rest.status).toBe(202);
    expect((await c2.request('PUT', `${location}?digest=${sha256(data)}`)).status).toBe(201);
    const blob = await c2.request('GET', `/v2/shut/slow/blobs/${sha256(data)}`);
    expect(sha256(Buffer.from(await blob.arrayBuffer()))).toBe(sha256(data));
  });
});
