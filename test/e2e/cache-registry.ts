import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { runCommand } from '../helpers/berth-process.js';

/**
 * Debian's `docker-registry` (CNCF Distribution 2.8) on a loopback port, with htpasswd Basic
 * auth and its own config and storage under `dir`: the reference upstream of the pull-through
 * cache tests. Needs the `docker-registry` and `apache2-utils` (htpasswd) packages.
 */
export interface DistributionRegistry {
  url: string;
  host: string;
  user: string;
  password: string;
  stop(): Promise<void>;
}

export async function startDistribution(dir: string, user = 'cacheuser', password = 'cachepass'): Promise<DistributionRegistry> {
  await mkdir(join(dir, 'storage'), { recursive: true });
  const { stdout } = await runCommand('htpasswd', ['-Bbn', user, password]);
  await writeFile(join(dir, 'htpasswd'), stdout);
  const port = await freePort();
  const config = [
    'version: 0.1',
    'log:',
    '  level: error',
    '  accesslog:',
    '    disabled: true',
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${join(dir, 'storage')}`,
    '  delete:',
    '    enabled: true',
    'http:',
    `  addr: 127.0.0.1:${port}`,
    'auth:',
    '  htpasswd:',
    '    realm: cache-test',
    `    path: ${join(dir, 'htpasswd')}`,
    '',
  ].join('\n');
  await writeFile(join(dir, 'config.yml'), config);
  const child: ChildProcess = spawn('docker-registry', ['serve', join(dir, 'config.yml')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    if (child.exitCode !== null) throw new Error(`docker-registry exited: ${stderr}`);
    try {
      const res = await fetch(`${url}/v2/`);
      if (res.status === 401) break;
    } catch {
      // not listening yet
    }
    if (i > 100) throw new Error(`docker-registry did not start: ${stderr}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    host: `127.0.0.1:${port}`,
    user,
    password,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}
