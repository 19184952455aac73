// Toxiproxy (https://github.com/Shopify/toxiproxy), the fault-injection TCP proxy placed between the
// candidate and its dependency: finding or building the server once per machine, and starting it.

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { request } from 'undici';
import {
  cachedToolPath,
  type GoInstallOptions,
  type GoTool,
  goInstallCached,
  findGoTool,
  processAlive,
} from '../tools/go-install';
import { ToxiproxyError } from './toxiproxy-error';

export const TOXIPROXY_VERSION = '2.5.0';

export { ToxiproxyError };

const INSTALL_HINT =
  `Install Toxiproxy v${TOXIPROXY_VERSION} (https://github.com/Shopify/toxiproxy/releases) and put ` +
  '`toxiproxy-server` on PATH, or set TOXIPROXY_SERVER to its path, or install Go (https://go.dev/dl/) ' +
  `so Strata can build it with \`go install github.com/Shopify/toxiproxy/v2/cmd/server@v${TOXIPROXY_VERSION}\`.`;

const TOXIPROXY: GoTool = {
  tool: 'toxiproxy',
  label: 'Toxiproxy',
  version: TOXIPROXY_VERSION,
  pkg: 'github.com/Shopify/toxiproxy/v2/cmd/server',
  binary: 'server', // what `go install …/cmd/server` writes
  installHint: INSTALL_HINT,
  makeError: (message) => new ToxiproxyError(message),
  overrideVar: 'TOXIPROXY_SERVER',
  onPathName: 'toxiproxy-server',
};

/** Where Strata's own build lives: ~/.cache/strata/toxiproxy/<version>/server. */
export function cachedToxiproxyPath(env: NodeJS.ProcessEnv = process.env): string {
  return cachedToolPath(TOXIPROXY, env);
}

/** The Toxiproxy server if one is already here: TOXIPROXY_SERVER, then `toxiproxy-server` on PATH, then the cache. */
export function findToxiproxy(env: NodeJS.ProcessEnv = process.env): string | undefined {
  return findGoTool(TOXIPROXY, env);
}

/** Finds the Toxiproxy server, building it once with `go install` (pinned) into the cache when there is none. */
export async function ensureToxiproxy(opts: GoInstallOptions = {}): Promise<string> {
  return findToxiproxy(opts.env ?? process.env) ?? goInstallCached(TOXIPROXY, opts);
}

export interface StartToxiproxyOptions {
  /** Interface of the HTTP API (and the usual interface of its proxies). Default 127.0.0.1. */
  host?: string;
  /** Port of the HTTP API. */
  port: number;
  /** Server output is appended here. */
  logFile: string;
  /**
   * In its own process group, not tied to this process: it outlives the caller, which records the
   * pid (stopToxiproxy(pid) ends it later). Default false: stop() or this process ending ends it.
   */
  detached?: boolean;
  /** The server binary; default ensureToxiproxy(). */
  binary?: string;
  /** Seed for the randomness of toxics (jitter, toxicity), for reproducible runs. */
  seed?: number;
  /** How long to wait for GET /version to answer. Default 15 s. */
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
}

export interface RunningToxiproxy {
  /** The API base URL, http://host:port. */
  url: string;
  pid: number;
  /** SIGTERM (its group when detached), SIGKILL after 5 s; resolves once the process is gone. */
  stop(): Promise<void>;
}

/** Starts the Toxiproxy server and waits until its HTTP API answers GET /version. */
export async function startToxiproxy(opts: StartToxiproxyOptions): Promise<RunningToxiproxy> {
  const host = opts.host ?? '127.0.0.1';
  const env = opts.env ?? process.env;
  const binary = opts.binary ?? (await ensureToxiproxy({ env }));
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${opts.port}`;
  // Else a server already there would answer for ours, which then fails to bind and exits.
  if (await answers(url))
    throw new ToxiproxyError(`something already answers at ${url}/version: port ${opts.port} is in use`);
  fs.mkdirSync(path.dirname(opts.logFile), { recursive: true });
  const args = ['-host', host, '-port', String(opts.port)];
  if (opts.seed !== undefined) args.push('-seed', String(opts.seed));
  const log = fs.openSync(opts.logFile, 'a');
  const child = spawn(binary, args, { detached: opts.detached ?? false, stdio: ['ignore', log, log], env });
  fs.closeSync(log);
  let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  let spawnError: Error | undefined;
  const exited = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      exit = { code, signal };
      resolve();
    });
    child.once('error', (err) => {
      spawnError = err;
      resolve();
    });
  });
  if (opts.detached) child.unref();

  const pid = child.pid;
  const stop = async (): Promise<void> => {
    if (exit || spawnError || pid === undefined) return;
    await stopProcess(pid, { group: opts.detached ?? false, exited });
  };

  const deadline = Date.now() + (opts.timeoutMs ?? 15_000);
  for (;;) {
    if (spawnError) throw new ToxiproxyError(`cannot start Toxiproxy (${binary}): ${spawnError.message}`);
    if (exit) {
      throw new ToxiproxyError(
        `Toxiproxy exited (${exit.signal ?? `code ${exit.code}`}) before its API answered at ${url}; ` +
          `is port ${opts.port} already in use? Last lines of ${opts.logFile}:\n${tail(opts.logFile)}`,
      );
    }
    if (await answers(url)) return { url, pid: pid!, stop };
    if (Date.now() > deadline) {
      await stop();
      throw new ToxiproxyError(
        `Toxiproxy did not answer at ${url}/version within ${opts.timeoutMs ?? 15_000} ms; see ${opts.logFile}`,
      );
    }
    await sleep(50);
  }
}

/** Ends a Toxiproxy started detached (by pid, e.g. one recorded by a provider): SIGTERM to its group, SIGKILL after 5 s. */
export async function stopToxiproxy(pid: number): Promise<void> {
  await stopProcess(pid, { group: true });
}

/** True when a Toxiproxy API answers GET /version at url. */
export async function toxiproxyAnswers(url: string): Promise<boolean> {
  return answers(url);
}

async function answers(url: string): Promise<boolean> {
  try {
    const res = await request(`${url}/version`, { headersTimeout: 1000, bodyTimeout: 1000 });
    await res.body.text();
    return res.statusCode === 200;
  } catch {
    return false;
  }
}

async function stopProcess(pid: number, opts: { group: boolean; exited?: Promise<void> }): Promise<void> {
  const gone = () => !processAlive(pid);
  if (gone()) return;
  signal(pid, 'SIGTERM', opts.group);
  const waitFor = async (ms: number): Promise<boolean> => {
    const deadline = Date.now() + ms;
    let exited = false;
    void opts.exited?.then(() => (exited = true));
    while (Date.now() < deadline) {
      if (exited || gone()) return true;
      await sleep(25);
    }
    return exited || gone();
  };
  if (await waitFor(5_000)) {
    await opts.exited; // reaped: no zombie left behind
    return;
  }
  signal(pid, 'SIGKILL', opts.group);
  await waitFor(5_000);
  await opts.exited;
}

function signal(pid: number, sig: NodeJS.Signals, group: boolean): void {
  try {
    process.kill(group ? -pid : pid, sig);
  } catch {
    try {
      process.kill(pid, sig);
    } catch {
      // already gone
    }
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function tail(file: string, lines = 15): string {
  try {
    return fs.readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}
