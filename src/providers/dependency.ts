import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { request } from 'undici';
import { ToxiproxyClient } from '../chaos/client';
import { ensureToxiproxy, startToxiproxy, stopToxiproxy, toxiproxyAnswers } from '../chaos/toxiproxy';
import {
  findProcesses,
  PROCESS_ROLE_ENV,
  PROCESS_TOKEN_ENV,
  type ProcessIdentity,
  processAlive,
  processStartTime,
  signalProcessTree,
  stopVerified,
  tsxLoaderUrl,
  verifyProcess,
} from '../tools/processes';
import { childEnvironment, INHERITED_VARIABLES, type RunAs } from './sandbox';

/** An environment's dependency: the feature-lookup process and the Toxiproxy proxy in front of it. */
export interface DependencyState {
  featurePid: number;
  featurePort: number;
  proxyPid: number;
  /** Toxiproxy's HTTP API port. */
  proxyApiPort: number;
  /** Where the candidate reaches the feature service: the proxy's listen port. */
  proxyPort: number;
  /**
   * /proc start times of the two processes, so a reused pid is never taken for them (absent in
   * state written before processes carried the environment's token: then the pid alone is trusted).
   */
  featureStartTime?: number | null;
  proxyStartTime?: number | null;
}

/** The roles of an environment's dependency processes (STRATA_PROCESS_ROLE). */
export const FEATURE_SERVICE_ROLE = 'feature-service';
export const PROXY_ROLE = 'proxy';

/** Who an environment's processes belong to: its token and its directory (both in their environment). */
export interface EnvironmentOwner {
  token: string;
  /** The environment's directory, as STRATA_ENV_DIR. */
  dir: string;
}

/** The variables that mark a process as the environment's, in the given role. */
export function ownerVariables(owner: EnvironmentOwner, role: string): Record<string, string> {
  return { [PROCESS_TOKEN_ENV]: owner.token, [PROCESS_ROLE_ENV]: role, STRATA_ENV_DIR: owner.dir };
}

/**
 * The live processes Strata started for this environment (any role, or the roles given): those
 * carrying its token, or its directory when the token was lost with state.json.
 */
export function environmentProcesses(
  owner: Partial<EnvironmentOwner> & { dir: string },
  roles?: string[],
): ProcessIdentity[] {
  return findProcesses(
    (env) =>
      env.has(PROCESS_ROLE_ENV) &&
      (!roles || roles.includes(env.get(PROCESS_ROLE_ENV)!)) &&
      ((!!owner.token && env.get(PROCESS_TOKEN_ENV) === owner.token) || env.get('STRATA_ENV_DIR') === owner.dir),
  );
}

/** Whether the recorded process is still the one started: verified by token and start time when recorded. */
function recordedAlive(
  pid: number,
  startTime: number | null | undefined,
  owner: EnvironmentOwner,
  role: string,
): boolean {
  if (!pid) return false;
  if (startTime == null) return processAlive(pid); // state from before tokens: the pid is all there is
  return verifyProcess({ pid, startTime, token: owner.token, role });
}

export const FEATURES_PROXY = 'features';
const FEATURE_SERVICE = path.join(__dirname, 'feature-service.ts');
/** The worker's settings of what the feature service serves, passed on to it when set. */
const FEATURE_SERVICE_SETTINGS = ['FEATURE_TABLE', 'FEATURE_KEY', 'FEATURE_COLUMNS'] as const;

export function featuresUrl(dep: DependencyState): string {
  return `http://127.0.0.1:${dep.proxyPort}`;
}

export function proxyApiUrl(dep: DependencyState): string {
  return `http://127.0.0.1:${dep.proxyApiPort}`;
}

export async function httpOk(url: string, timeoutMs = 1000): Promise<boolean> {
  try {
    const res = await request(url, { headersTimeout: timeoutMs, bodyTimeout: timeoutMs });
    await res.body.dump();
    return res.statusCode === 200;
  } catch {
    return false;
  }
}

async function waitFor(check: () => Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  do {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 100));
  } while (Date.now() < deadline);
  return false;
}

/** Starts the feature-lookup process detached (it outlives the worker), reading the environment's database. */
export async function startFeatureService(opts: {
  dbPath: string;
  port: number;
  logFile: string;
  /** The unprivileged user it runs as (when Strata runs as root). */
  runAs: RunAs | null;
  /** Its HOME. */
  home: string;
  /** The environment it belongs to, carried in its environment variables. */
  owner: EnvironmentOwner;
}): Promise<number> {
  const out = fs.openSync(opts.logFile, 'a');
  const given: Record<string, string> = {
    PORT: String(opts.port),
    STRATA_DB_PATH: opts.dbPath,
    ...ownerVariables(opts.owner, FEATURE_SERVICE_ROLE),
  };
  for (const name of FEATURE_SERVICE_SETTINGS) {
    const value = process.env[name];
    if (value !== undefined) given[name] = value;
  }
  const child = spawn(process.execPath, ['--import', tsxLoaderUrl(), FEATURE_SERVICE], {
    detached: true,
    stdio: ['ignore', out, out],
    ...(opts.runAs ? { uid: opts.runAs.uid, gid: opts.runAs.gid } : {}),
    env: childEnvironment(process.env, opts.home, given),
  });
  fs.closeSync(out);
  child.unref();
  if (!(await waitFor(() => httpOk(`http://127.0.0.1:${opts.port}/health`), 20_000))) {
    signalProcessTree(child.pid!, 'SIGTERM');
    throw new Error(`the feature-lookup service did not answer on 127.0.0.1:${opts.port}; see ${opts.logFile}`);
  }
  return child.pid!;
}

/** Makes sure the dependency runs (starting what is missing) and the proxy points at it. */
export async function ensureDependency(opts: {
  current: DependencyState | null | undefined;
  dbPath: string;
  dir: string;
  freePort: () => Promise<number>;
  runAs: RunAs | null;
  home: string;
  /** The environment's token; its processes carry it with `dir`. */
  token: string;
}): Promise<{ dep: DependencyState; started: string[] }> {
  const started: string[] = [];
  const owner: EnvironmentOwner = { token: opts.token, dir: opts.dir };
  const prev = opts.current ?? undefined;
  let featurePid = prev?.featurePid ?? 0;
  let featurePort = prev?.featurePort ?? 0;
  let featureStartTime = prev?.featureStartTime ?? null;
  if (!(
    recordedAlive(featurePid, featureStartTime, owner, FEATURE_SERVICE_ROLE) &&
    (await httpOk(`http://127.0.0.1:${featurePort}/health`))
  )) {
    await stopRole(
      owner,
      FEATURE_SERVICE_ROLE,
      prev ? { pid: prev.featurePid, startTime: featureStartTime } : undefined,
    );
    featurePort = await opts.freePort();
    featurePid = await startFeatureService({
      dbPath: opts.dbPath,
      port: featurePort,
      logFile: path.join(opts.dir, 'features.log'),
      runAs: opts.runAs,
      home: opts.home,
      owner,
    });
    featureStartTime = processStartTime(featurePid) ?? null;
    started.push('feature-service');
  }
  let proxyPid = prev?.proxyPid ?? 0;
  let proxyApiPort = prev?.proxyApiPort ?? 0;
  let proxyStartTime = prev?.proxyStartTime ?? null;
  if (!(
    recordedAlive(proxyPid, proxyStartTime, owner, PROXY_ROLE) &&
    (await toxiproxyAnswers(`http://127.0.0.1:${proxyApiPort}`))
  )) {
    await stopRole(owner, PROXY_ROLE, prev ? { pid: prev.proxyPid, startTime: proxyStartTime } : undefined);
    proxyApiPort = await opts.freePort();
    // The worker's own environment is not the proxy's: only the allow-listed basics and its owner.
    const env: Record<string, string> = {};
    for (const name of INHERITED_VARIABLES) if (process.env[name] !== undefined) env[name] = process.env[name]!;
    const proxy = await startToxiproxy({
      port: proxyApiPort,
      logFile: path.join(opts.dir, 'toxiproxy.log'),
      detached: true,
      binary: await ensureToxiproxy(),
      env: { ...env, ...ownerVariables(owner, PROXY_ROLE) },
    });
    proxyPid = proxy.pid;
    proxyStartTime = processStartTime(proxyPid) ?? null;
    started.push('toxiproxy');
  }
  const client = new ToxiproxyClient(`http://127.0.0.1:${proxyApiPort}`);
  const existing = await client.getProxy(FEATURES_PROXY);
  const proxyPort = existing ? Number(existing.listen.split(':').pop()) : await opts.freePort();
  await client.createProxy({
    name: FEATURES_PROXY,
    listen: `127.0.0.1:${proxyPort}`,
    upstream: `127.0.0.1:${featurePort}`,
    enabled: true,
  });
  return {
    dep: { featurePid, featurePort, proxyPid, proxyApiPort, proxyPort, featureStartTime, proxyStartTime },
    started,
  };
}

/**
 * Stops the environment's processes of one role: the recorded one when it is verified (or, for
 * state from before tokens, alive), and every process carrying the environment's token or
 * directory in that role. A pid that is someone else's now is never signalled.
 */
async function stopRole(
  owner: EnvironmentOwner,
  role: string,
  recorded: { pid: number; startTime: number | null | undefined } | undefined,
): Promise<void> {
  const targets = environmentProcesses(owner, [role]);
  if (recorded?.pid && recorded.startTime == null && processAlive(recorded.pid)) {
    // Legacy state: no start time was recorded. Signalled as before, by pid.
    if (role === PROXY_ROLE) await stopToxiproxy(recorded.pid);
    else signalProcessTree(recorded.pid, 'SIGTERM');
  }
  await Promise.all(targets.map((id) => stopVerified(id)));
}

/**
 * Stops the environment's feature-lookup service and proxy: those recorded in `dep`, and any
 * process carrying the environment's token or directory in those roles (so a lost or damaged
 * state.json leaves none running).
 */
export async function stopDependency(dep: DependencyState | null | undefined, owner: EnvironmentOwner): Promise<void> {
  await stopRole(
    owner,
    FEATURE_SERVICE_ROLE,
    dep ? { pid: dep.featurePid, startTime: dep.featureStartTime } : undefined,
  );
  await stopRole(owner, PROXY_ROLE, dep ? { pid: dep.proxyPid, startTime: dep.proxyStartTime } : undefined);
}
