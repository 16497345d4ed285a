// Starting and stopping a berth server for the berth-only benchmark parts (bench/ecr.js,
// bench/policy.js): one copy of the spawn, output capture and port discovery.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Spawns `node bin/berth.js serve` from `root` with `settings` (BERTH_* variables; any BERTH_*
 * of the calling environment is dropped so no stray setting changes a run), waits for its
 * "berth listening on" line and returns the process, its port and its captured output. Errors
 * are thrown as `new ErrorClass(message)`.
 */
export async function spawnBerth({ root, settings, verbose = false, ErrorClass = Error }) {
  const entry = path.join(root, 'bin', 'berth.js');
  if (!fs.existsSync(path.join(root, 'dist', 'cli', 'main.js'))) {
    throw new ErrorClass('dist/ is missing: run `npm run build` first (`npm run bench` does)');
  }
  const env = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('BERTH_')) env[k] = v;
  Object.assign(env, { BERTH_LISTEN: '127.0.0.1:0' }, settings);
  const proc = spawn(process.execPath, [entry, 'serve'], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  let lines = 0;
  const collect = (d) => {
    const t = d.toString();
    lines += (t.match(/\n/g) || []).length;
    output = (output + t).slice(-32 * 1024);
    if (verbose) process.stdout.write(t.replace(/^(?=.)/gm, '[berth] '));
  };
  proc.stdout.on('data', collect);
  proc.stderr.on('data', collect);
  const port = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => finish(new ErrorClass(`berth: no "berth listening on" line within 30 s; output:\n${output}`)), 30000);
    const onData = () => {
      const m = /berth listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(output);
      if (m) finish(null, Number(m[1]));
    };
    const onExit = (code, signal) => finish(new ErrorClass(`berth exited during startup (${code ?? signal}); output:\n${output}`));
    const onError = (err) => finish(new ErrorClass(`berth: cannot start node: ${err.message}`));
    function finish(err, p) {
      clearTimeout(timer);
      proc.stdout.off('data', onData);
      proc.off('exit', onExit);
      proc.off('error', onError);
      if (err) reject(err);
      else resolve(p);
    }
    proc.stdout.on('data', onData);
    proc.once('exit', onExit);
    proc.once('error', onError);
  });
  const startupLines = lines;
  return {
    proc,
    port,
    output: () => output,
    linesSinceStart: () => lines - startupLines,
    alive: () => proc.exitCode === null && proc.signalCode === null,
  };
}

/** SIGTERM, then SIGKILL after 5 s. */
export async function stopChild(child) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  const t = await Promise.race([exited.then(() => 'exited'), sleep(5000).then(() => 'timeout')]);
  if (t === 'timeout') {
    child.kill('SIGKILL');
    await exited;
  }
}

/**
 * One request to the berth started by `spawnBerth` (loopback only: any other target is refused),
 * with a Buffer body or none; resolves with status, headers and the whole body.
 */
export function loopbackRequest(server, agent, authorization, method, target, { headers = {}, body = null, ErrorClass = Error, timeoutMs = 120000 } = {}) {
  const u = new URL(target, server.base);
  if (u.hostname !== '127.0.0.1' || Number(u.port) !== server.port) {
    return Promise.reject(new ErrorClass(`refusing to follow ${target}: not this loopback server`));
  }
  return new Promise((resolve, reject) => {
    const req = http.request({
      host: '127.0.0.1',
      port: server.port,
      method,
      path: u.pathname + u.search,
      agent,
      headers: { authorization, 'content-length': String(body ? body.length : 0), ...headers },
    });
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`no activity for ${timeoutMs / 1000} s`)));
    req.on('response', (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ method, path: u.pathname + u.search, status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', (err) => reject(new ErrorClass(`${method} ${u.pathname}: ${err.message}`)));
    req.end(body ?? undefined);
  });
}
