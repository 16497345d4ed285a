import http from 'node:http';
import https from 'node:https';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { UpstreamError } from '../upstream/index.js';

/**
 * Upload one blob to a peer: `POST .../blobs/uploads/`, then one `PUT <location>?digest=` whose
 * body is piped from the local blob store with node:http. An adapter beside the registry client
 * (src/upstream/), which sends bodies through fetch's web streams: measured on loopback, that
 * path took 1.5 to 2 times as long for large layers, and layers are most of what replication
 * moves. Failures are UpstreamErrors, as the client's are (UNREACHABLE for connection errors,
 * 429 and 5xx; UNAUTHORIZED, DENIED, PROTOCOL otherwise).
 */
export async function uploadBlob(opts: {
  /** The client's base URL (`<peer>/_berth/replication/v1/from/<account>`). */
  baseUrl: string;
  repository: string;
  digest: string;
  size: number;
  open: () => Promise<Readable>;
  authorization: string;
  signal: AbortSignal;
}): Promise<void> {
  const what = `upload of ${opts.digest} to ${opts.repository}`;
  let start: Response;
  try {
    start = await fetch(`${opts.baseUrl}/v2/${opts.repository}/blobs/uploads/`, {
      method: 'POST',
      headers: { authorization: opts.authorization, 'content-length': '0' },
      signal: AbortSignal.any([opts.signal, AbortSignal.timeout(30_000)]),
    });
  } catch (err) {
    opts.signal.throwIfAborted();
    throw new UpstreamError('UNREACHABLE', `${what}: ${(err as Error).message}`, undefined, { cause: err });
  }
  const startText = await start.text().catch(() => '');
  if (start.status !== 202) throw statusError(start.status, what, startText);
  const location = start.headers.get('location');
  if (!location) throw new UpstreamError('PROTOCOL', `${what}: no Location header`);
  const target = new URL(location, `${opts.baseUrl}/`);
  target.searchParams.set('digest', opts.digest);

  const body = await opts.open();
  const { status, text } = await new Promise<{ status: number; text: string }>((resolve, reject) => {
    const req = (target.protocol === 'https:' ? https : http).request(
      target,
      {
        method: 'PUT',
        headers: { authorization: opts.authorization, 'content-type': 'application/octet-stream', 'content-length': String(opts.size) },
        signal: opts.signal,
      },
      (res) => {
        let answer = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          if (answer.length < 300) answer += chunk;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: answer }));
        res.on('error', reject);
      },
    );
    req.on('error', (err) => reject(new UpstreamError('UNREACHABLE', `${what}: ${err.message}`, undefined, { cause: err })));
    // A failed read of the local blob ends the request; its error is the one reported.
    pipeline(body, req).catch((err: unknown) => {
      req.destroy();
      reject(err);
    });
  });
  if (status !== 201) throw statusError(status, what, text);
}

function statusError(status: number, what: string, text: string): UpstreamError {
  const suffix = text ? `: ${text.slice(0, 300)}` : '';
  if (status === 401) return new UpstreamError('UNAUTHORIZED', `${what}: authentication failed${suffix}`, status);
  if (status === 403) return new UpstreamError('DENIED', `${what}: denied${suffix}`, status);
  if (status === 429 || status >= 500) return new UpstreamError('UNREACHABLE', `${what}: answered ${status}${suffix}`, status);
  return new UpstreamError('PROTOCOL', `${what}: answered ${status}${suffix}`, status);
}
