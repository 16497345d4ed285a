/**
 * Run the built berth server (`bin/berth.js serve`) as a child process, the way an operator
 * would, on an ephemeral loopback port with its own data directory and root credentials.
 * Also: `runCommand`, for the real clients (skopeo, podman) the e2e tests drive.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

/** The repository root: this file lives in <root>/test/helpers/. */
export const PROJECT_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const BERTH_BIN = join(PROJECT_ROOT, 'bin', 'berth.js');

const READY_LINE = /berth listening on (http:\/\/127\.0\.0\.1:(\d+))/;
const START_TIMEOUT_MS = 20_000;
const STOP_TIMEOUT_MS = 15_000;
const OUTPUT_LIMIT = 1 << 20;

export interface StartBerthOptions {
  /** Reuse a data directory (e.g. to restart on what a previous process left); a new temp dir otherwise. */
  dataDir?: string;
  /** Root credentials; generated when absent. Pass the previous process's to restart "the same" server. */
  accessKeyId?: string;
  secretAccessKey?: string;
  /** Extra environment, applied last (it may override the defaults above). */
  env?: Record<string, string>;
}

export interface ExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface BerthProcess {
  /** `http://127.0.0.1:<port>` */
  url: string;
  /** `127.0.0.1:<port>`, the registry host as clients spell it in image references. */
  host: string;
  port: number;
  accessKeyId: string;
  secretAccessKey: string;
  /** `Basic base64(accessKeyId:secretAccessKey)` */
  authHeader: string;
  dataDir: string;
  pid: number;
  /** Settles when the process exits, however it exits. */
  exited: Promise<ExitStatus>;
  /** SIGTERM, then wait for exit (SIGKILL and an error if it takes longer than 15 s). */
  stop(): Promise<ExitStatus>;
  /** SIGKILL, then wait for exit. */
  kill(): Promise<ExitStatus>;
  /** stop() if still running, then remove the data directory if startBerth created it. */
  cleanup(): Promise<void>;
  /** Everything the process printed so far, stdout and stderr interleaved, for diagnostics. */
  output(): string;
}

const ALNUM_UPPER = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
const ALNUM = `${ALNUM_UPPER}abcdefghijklmnopqrstuvwxyz`;

function randomString(alphabet: string, length: number): string {
  let out = '';
  for (let i = 0; i < length; i++) out += alphabet[randomInt(alphabet.length)];
  return out;
}

/** An access key id shaped like AWS's: AKIA + 16 upper-case alphanumerics. */
export function generateAccessKeyId(): string {
  return `AKIA${randomString(ALNUM_UPPER, 16)}`;
}

/** 40 alphanumerics: no ':' (Basic auth and the aws CLI split on it) and no '/' or '+'. */
export function generateSecretAccessKey(): string {
  return randomString(ALNUM, 40);
}

export async function startBerth(opts: StartBerthOptions = {}): Promise<BerthProcess> {
  const ownsDataDir = opts.dataDir === undefined;
  const dataDir = opts.dataDir ?? (await mkdtemp(join(tmpdir(), 'berth-e2e-data-')));
  const accessKeyId = opts.accessKeyId ?? generateAccessKeyId();
  const secretAccessKey = opts.secretAccessKey ?? generateSecretAccessKey();

  // Start from the caller's environment without any BERTH_* setting, so that a developer's shell
  // can't change what the tests run against.
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!key.startsWith('BERTH_')) env[key] = value;
  }
  Object.assign(env, {
    BERTH_LISTEN: '127.0.0.1:0',
    BERTH_DATA_DIR: dataDir,
    BERTH_ROOT_ACCESS_KEY_ID: accessKeyId,
    BERTH_ROOT_SECRET_ACCESS_KEY: secretAccessKey,
    BERTH_CREATE_ON_PUSH: 'true',
    BERTH_LOG_LEVEL: 'warn',
    // ECR's request-rate quotas (PutImage 10/s) would throttle tests that push fast.
    BERTH_LIMITS_RATE_LIMITING: 'false',
    ...opts.env,
  });

  const child = spawn(process.execPath, [BERTH_BIN, 'serve'], {
    cwd: PROJECT_ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });

  let output = '';
  let truncated = false;
  const append = (chunk: Buffer): void => {
    if (output.length >= OUTPUT_LIMIT) {
      truncated = true;
      return;
    }
    output += chunk.toString('utf8');
  };
  const collected = (): string => (truncated ? `${output}\n[output truncated]` : output);

  const exited = new Promise<ExitStatus>((resolveExit) => {
    // 'close' rather than 'exit': it comes after stdout/stderr are drained, so output() is complete.
    child.once('close', (code, signal) => resolveExit({ code, signal }));
    // A spawn failure emits 'error' without 'exit'.
    child.once('error', (error) => {
      append(Buffer.from(`\n[spawn error] ${error.message}\n`));
      resolveExit({ code: null, signal: null });
    });
  });

  const ready = new Promise<{ url: string; port: number }>((resolveReady, rejectReady) => {
    let stdoutLine = '';
    let settled = false;
    const fail = (why: string): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      rejectReady(new Error(`berth did not start: ${why}\n--- output ---\n${collected()}`));
    };
    const timer = setTimeout(() => {
      fail(`no "berth listening on" line within ${START_TIMEOUT_MS / 1000} s`);
      child.kill('SIGKILL');
    }, START_TIMEOUT_MS);
    child.stdout!.on('data', (chunk: Buffer) => {
      append(chunk);
      if (settled) return;
      stdoutLine += chunk.toString('utf8');
      const match = READY_LINE.exec(stdoutLine);
      if (match) {
        settled = true;
        clearTimeout(timer);
        resolveReady({ url: match[1]!, port: Number(match[2]) });
      } else if (stdoutLine.length > 64 * 1024) {
        stdoutLine = stdoutLine.slice(-1024);
      }
    });
    child.stderr!.on('data', append);
    void exited.then(({ code, signal }) => fail(`process exited first (code ${code}, signal ${signal})`));
  });
  let url: string;
  let port: number;
  try {
    ({ url, port } = await ready);
  } catch (error) {
    await exited;
    if (ownsDataDir) await rm(dataDir, { recursive: true, force: true });
    throw error;
  }

  const waitExit = async (proc: ChildProcess, signal: NodeJS.Signals, timeoutMs: number): Promise<ExitStatus> => {
    if (proc.exitCode !== null || proc.signalCode !== null) return exited;
    proc.kill(signal);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((r) => {
      timer = setTimeout(() => r('timeout'), timeoutMs);
    });
    const result = await Promise.race([exited, timeout]);
    clearTimeout(timer);
    if (result !== 'timeout') return result;
    proc.kill('SIGKILL');
    await exited;
    throw new Error(`berth (pid ${proc.pid}) did not exit within ${timeoutMs / 1000} s of ${signal}\n${collected()}`);
  };

  const berth: BerthProcess = {
    url,
    host: `127.0.0.1:${port}`,
    port,
    accessKeyId,
    secretAccessKey,
    authHeader: `Basic ${Buffer.from(`${accessKeyId}:${secretAccessKey}`).toString('base64')}`,
    dataDir,
    pid: child.pid!,
    exited,
    stop: () => waitExit(child, 'SIGTERM', STOP_TIMEOUT_MS),
    kill: () => waitExit(child, 'SIGKILL', STOP_TIMEOUT_MS),
    async cleanup() {
      try {
        await berth.stop();
      } finally {
        if (ownsDataDir) await rm(dataDir, { recursive: true, force: true });
      }
    },
    output: collected,
  };
  return berth;
}

// --- running client commands -------------------------------------------------------------------

const execFileAsync = promisify(execFile);

export interface CommandResult {
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  env?: Record<string, string>;
  cwd?: string;
  /** Milliseconds; 120 s by default. */
  timeout?: number;
}

/** The error of a command that failed, carrying what it printed. */
export class CommandError extends Error {
  constructor(
    readonly command: string,
    readonly exitCode: number | string | null,
    readonly stdout: string,
    readonly stderr: string,
    options?: ErrorOptions,
  ) {
    super(`command failed (exit ${exitCode}): ${command}\n--- stderr ---\n${stderr}\n--- stdout ---\n${stdout}`, options);
    this.name = 'CommandError';
  }
}

/** Quote for display only: commands are run with execFile, never through a shell. */
function displayCommand(file: string, args: readonly string[]): string {
  return [file, ...args].map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
}

/** Run a program (no shell); on a non-zero exit, throw a CommandError that includes its stderr. */
export async function runCommand(file: string, args: readonly string[], opts: RunOptions = {}): Promise<CommandResult> {
  try {
    const { stdout, stderr } = await execFileAsync(file, args, {
      cwd: opts.cwd,
      env: { ...process.env, ...opts.env },
      timeout: opts.timeout ?? 120_000,
      maxBuffer: 64 * 1024 * 1024,
      encoding: 'utf8',
    });
    return { stdout, stderr };
  } catch (error) {
    const e = error as NodeJS.ErrnoException & { stdout?: string; stderr?: string; code?: number | string; signal?: string };
    throw new CommandError(
      displayCommand(file, args),
      e.code ?? e.signal ?? null,
      e.stdout ?? '',
      e.stderr ?? e.message,
      { cause: error },
    );
  }
}

/** Like runCommand, but resolves with the failure instead of throwing (for commands expected to fail). */
export async function runCommandExpectingFailure(
  file: string,
  args: readonly string[],
  opts: RunOptions = {},
): Promise<CommandError> {
  try {
    const { stdout, stderr } = await runCommand(file, args, opts);
    throw new Error(`expected a failure, but it succeeded: ${displayCommand(file, args)}\n${stderr}\n${stdout}`);
  } catch (error) {
    if (error instanceof CommandError) return error;
    throw error;
  }
}
