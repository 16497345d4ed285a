// Minimal closed-loop HTTP/1.1 load generator: keep-alive connections spread over worker threads,
// each connection sending one request, reading the whole response, then sending the next.
//
// run.js uses it for manifest HEAD, which wrk 4.1.0 (Debian's) cannot measure: its parser expects
// the Content-Length bytes of a HEAD response to follow as a body, so every connection stalls after
// its first request (wg/wrk issue #198). Standard library only.

import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import net from 'node:net';
import { performance } from 'node:perf_hooks';

/**
 * Runs `connections` connections over `threads` workers for `durationMs`.
 * Returns { requests, seconds, rps, statuses: {code: count}, non2xx, errors, timeouts,
 * latencyAvgMs, firstBad } where firstBad is the head of the first non-2xx response, if any.
 */
export async function runLoad({ host, port, path, method = 'GET', headers = {}, connections = 32, threads = 2, durationMs = 10000 }) {
  const per = Array.from({ length: threads }, (_, i) => Math.floor(connections / threads) + (i < connections % threads ? 1 : 0));
  const runs = per.filter((n) => n > 0).map((n) => new Promise((resolve, reject) => {
    const w = new Worker(new URL(import.meta.url), {
      workerData: { berthLoadgen: true, host, port, path, method, headers, connections: n, durationMs },
    });
    w.once('message', resolve);
    w.once('error', reject);
    w.once('exit', (code) => code !== 0 && reject(new Error(`load worker exited with ${code}`)));
  }));
  const parts = await Promise.all(runs);
  const out = { requests: 0, seconds: 0, statuses: {}, non2xx: 0, errors: 0, timeouts: 0, latencySum: 0, firstBad: null, errorSample: null };
  for (const p of parts) {
    out.requests += p.requests;
    out.seconds = Math.max(out.seconds, p.seconds);
    out.non2xx += p.non2xx;
    out.errors += p.errors;
    out.timeouts += p.timeouts;
    out.latencySum += p.latencySum;
    out.firstBad ??= p.firstBad;
    out.errorSample ??= p.errorSample;
    for (const [k, v] of Object.entries(p.statuses)) out.statuses[k] = (out.statuses[k] || 0) + v;
  }
  out.rps = out.seconds > 0 ? out.requests / out.seconds : 0;
  out.latencyAvgMs = out.requests ? out.latencySum / out.requests : NaN;
  delete out.latencySum;
  return out;
}

function workerMain({ host, port, path, method, headers, connections, durationMs }) {
  const lines = [`${method} ${path} HTTP/1.1`, `Host: ${host}:${port}`];
  for (const [k, v] of Object.entries(headers)) lines.push(`${k}: ${v}`);
  const request = Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1');
  const start = performance.now();
  const end = start + durationMs;
  const stats = { requests: 0, statuses: {}, non2xx: 0, errors: 0, timeouts: 0, latencySum: 0, firstBad: null, errorSample: null };
  let lastDone = start;
  let open = 0;
  let finished = false;

  const finish = () => {
    if (finished) return;
    finished = true;
    clearTimeout(guard);
    parentPort.postMessage({ ...stats, seconds: (lastDone - start) / 1000 });
    setImmediate(() => process.exit(0));
  };
  // Responses still missing well after the end count as timeouts.
  const guard = setTimeout(() => {
    stats.timeouts += open;
    finish();
  }, durationMs + 10000);

  function connect() {
    open++;
    const sock = net.connect({ host, port });
    sock.setNoDelay(true);
    let buf = Buffer.alloc(0);
    let bodyLeft = null; // null: reading the head; a number: body bytes still to skip
    let closeAfter = false;
    let sentAt = 0;
    let closed = false;

    const send = () => {
      if (performance.now() >= end) {
        closed = true;
        sock.destroy();
        if (--open === 0) finish();
        return;
      }
      sentAt = performance.now();
      sock.write(request);
    };
    const fail = (err) => {
      if (closed) return;
      closed = true;
      stats.errors++;
      stats.errorSample ??= String(err && err.message ? err.message : err);
      sock.destroy();
      open--;
      if (performance.now() < end) connect();
      else if (open === 0) finish();
    };

    sock.on('connect', send);
    sock.on('error', fail);
    sock.on('close', () => fail(new Error('connection closed by server')));
    sock.on('data', (chunk) => {
      buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
      for (;;) {
        if (bodyLeft === null) {
          const idx = buf.indexOf('\r\n\r\n');
          if (idx < 0) return;
          const head = buf.toString('latin1', 0, idx);
          const status = Number(head.slice(9, 12));
          stats.statuses[status] = (stats.statuses[status] || 0) + 1;
          if (status < 200 || status > 299) {
            stats.non2xx++;
            stats.firstBad ??= head;
          }
          if (/\r\ntransfer-encoding:\s*chunked/i.test(head) && method !== 'HEAD') {
            fail(new Error('chunked responses are not supported by bench/load.js'));
            return;
          }
          const cl = /\r\ncontent-length:\s*(\d+)/i.exec(head);
          bodyLeft = method === 'HEAD' || status === 204 || status === 304 || !cl ? 0 : Number(cl[1]);
          closeAfter = /\r\nconnection:\s*close/i.test(head);
          buf = buf.subarray(idx + 4);
        }
        if (buf.length < bodyLeft) {
          bodyLeft -= buf.length;
          buf = Buffer.alloc(0);
          return;
        }
        buf = buf.subarray(bodyLeft);
        bodyLeft = null;
        const now = performance.now();
        stats.requests++;
        stats.latencySum += now - sentAt;
        lastDone = now;
        if (closeAfter) {
          closed = true;
          sock.destroy();
          open--;
          if (now < end) connect();
          else if (open === 0) finish();
          return;
        }
        send();
        if (closed) return;
      }
    });
  }

  for (let i = 0; i < connections; i++) connect();
}

if (!isMainThread && workerData && workerData.berthLoadgen) workerMain(workerData);
