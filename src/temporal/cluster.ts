// `strata cluster`: the Temporal server itself (v1.29.1, built from the Go module proxy) on
// PostgreSQL, with the JWT authorizer, as a background process Strata starts, stops and reports on.
// Everything lives under $STRATA_HOME/cluster/:
//   cluster.json        what `up` started (pids, ports, the PostgreSQL URL), mode 600
//   signing-key.pem     the key Strata signs tokens with, mode 600; jwks.json its public half
//   config/strata.yaml  the server's config (rewritten on every up), mode 600
//   config/dynamic.yaml the server's dynamic config (kept: the operator's to edit)
//   tokens/worker.token the worker's token (write in the namespace), mode 600
//   ui-config/strata.yaml the Web UI server's config, with --ui-port (see cluster-ui.ts)
//   server.log, jwks.log, ui.log
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import type { Duration } from '@temporalio/common';
import { lastLines, writeFileAtomically } from '../tools/files';
import { freePort, portFree } from '../tools/ports';
import { processAlive, tsxLoaderUrl, waitForExit } from '../tools/processes';
import type { GoInstallOptions } from '../tools/go-install';
import { adminToken, ensureSigningKey, type ServiceIdentity, serviceToken } from './auth';
import {
  CLUSTER_SERVICES,
  type ClusterPorts,
  DEFAULT_DYNAMIC_CONFIG,
  INTERNAL_PORT_NAMES,
  parsePostgresUrl,
  redactedUrl,
  renderServerConfig,
} from './cluster-config';
import { ensureSchemas } from './cluster-schema';
import {
  ClusterError,
  ensureClusterTools,
  ensureUiServerTool,
  TEMPORAL_SERVER_VERSION,
  TEMPORAL_UI_SERVER_VERSION,
} from './cluster-tools';
import { type ClusterUiState, startClusterUi, stopClusterUi, uiRunning, uiServerUrl } from './cluster-ui';
import { authMetadata } from './connection';
import { prepareNamespace } from './namespace';

export { ClusterError };

/** What `cluster up` recorded; `down` and `status` read it. */
export interface ClusterState {
  version: string;
  /** The full URL (with its password): this file is mode 600, like the server's config. */
  postgresUrl: string;
  ip: string;
  ports: ClusterPorts;
  jwksPort: number;
  historyShards: number;
  namespace: string;
  serverPid?: number;
  jwksPid?: number;
  startedAt?: string;
  /** The Web UI server, when an up asked for one (--ui-port). */
  ui?: ClusterUiState;
}

export interface ClusterUpOptions {
  home: string;
  /** Required the first time; later ups reuse the recorded one. */
  postgresUrl?: string;
  port?: number;
  ip?: string;
  historyShards?: number;
  namespace: string;
  retentionDays: number;
  progress?: (line: string) => void;
  build?: GoInstallOptions;
  /** How long to wait for the frontend (default 120 s). */
  readyTimeoutMs?: number;
  /**
   * Run the Web UI server on this port of 127.0.0.1 (later ups keep the recorded one); false stops
   * it and forgets the port.
   */
  uiPort?: number | false;
}

export interface ClusterInfo {
  address: string;
  /** The frontend's HTTP API (what STRATA_TEMPORAL_HTTP takes: `strata status` reads it). */
  httpApi: string;
  namespace: string;
  /** The worker's token file (write in the namespace). */
  workerTokenFile: string;
  serverPid: number;
  /** True when `up` found the server running and only checked the namespace. */
  reused: boolean;
  logFile: string;
  /** The Web UI server, when one runs: its loopback URL (what `strata serve --temporal-ui` takes). */
  ui?: { url: string; pid: number; reused: boolean };
}

export const DEFAULT_HISTORY_SHARDS = 4;

export function clusterDir(home: string): string {
  return path.join(home, 'cluster');
}

const stateFile = (dir: string) => path.join(dir, 'cluster.json');

export function readClusterState(home: string): ClusterState | undefined {
  try {
    return JSON.parse(fs.readFileSync(stateFile(clusterDir(home)), 'utf8')) as ClusterState;
  } catch {
    return undefined;
  }
}

function writeState(dir: string, state: ClusterState): void {
  writeFileAtomically(stateFile(dir), `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
}

/**
 * The recorded ports when they are all free again, else free ones probed upwards from a base.
 * Temporal stores membership ports in a SMALLINT column, so every internal port stays below 32768
 * (the operating system's ephemeral ports are above it).
 */
async function choosePorts(frontend: number, previous?: ClusterPorts, uiPort?: number): Promise<ClusterPorts> {
  if (previous) {
    const free = await Promise.all(INTERNAL_PORT_NAMES.map((name) => portFree(previous[name])));
    if (free.every(Boolean) && !INTERNAL_PORT_NAMES.some((name) => previous[name] === uiPort))
      return { ...previous, frontend };
  }
  const ports = { frontend } as ClusterPorts;
  let candidate = frontend < 30_000 ? frontend + 1 : 20_000 + (frontend % 10_000);
  for (const name of INTERNAL_PORT_NAMES) {
    while (candidate === frontend || candidate === uiPort || !(await portFree(candidate))) {
      candidate++;
      if (candidate > MAX_MEMBERSHIP_PORT) candidate = 10_000;
    }
    ports[name] = candidate++;
  }
  return ports;
}

const MAX_MEMBERSHIP_PORT = 32_767;

/** A token file for a service identity, written once (mode 600) and kept across ups. */
export function ensureServiceTokenFile(home: string, identity: ServiceIdentity, namespace: string): string {
  const dir = clusterDir(home);
  const file = path.join(dir, 'tokens', `${identity}.token`);
  if (!fs.existsSync(file)) {
    const key = ensureSigningKey(dir);
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    writeFileAtomically(file, `${serviceToken(key, identity, namespace)}\n`, { mode: 0o600 });
  }
  return file;
}

/** True when the frontend answers (GetSystemInfo needs no token). */
export async function frontendAnswers(address: string, timeout: Duration = '1s'): Promise<boolean> {
  try {
    const connection = await Connection.connect({ address, connectTimeout: timeout });
    try {
      await connection.workflowService.getSystemInfo({});
      return true;
    } finally {
      await connection.close();
    }
  } catch {
    return false;
  }
}

async function startJwks(dir: string, state: ClusterState): Promise<number> {
  if (state.jwksPid && processAlive(state.jwksPid) && (await jwksAnswers(state.jwksPort))) return state.jwksPid;
  if (!(await portFree(state.jwksPort))) state.jwksPort = await freePort();
  const log = fs.openSync(path.join(dir, 'jwks.log'), 'a');
  const child = spawn(
    process.execPath,
    [
      '--import',
      tsxLoaderUrl(),
      path.join(__dirname, 'jwks-server.ts'),
      path.join(dir, 'jwks.json'),
      String(state.jwksPort),
    ],
    { detached: true, stdio: ['ignore', log, log], cwd: dir },
  );
  fs.closeSync(log);
  child.unref();
  const deadline = Date.now() + 20_000;
  while (!(await jwksAnswers(state.jwksPort))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      throw new ClusterError(
        `the JWKS endpoint did not start; see ${path.join(dir, 'jwks.log')}:\n${lastLines(path.join(dir, 'jwks.log'))}`,
      );
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return child.pid!;
}

async function jwksAnswers(port: number): Promise<boolean> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/health`, { signal: AbortSignal.timeout(1000) });
    return res.ok;
  } catch {
    return false;
  }
}

/**
 * Starts (or finds running) the Temporal server on PostgreSQL: builds it once, creates or
 * upgrades the schemas, writes its config, starts it in the background, and makes the namespace
 * ready (audit retention, search attributes) with a short-lived admin token. Idempotent.
 */
export async function clusterUp(opts: ClusterUpOptions): Promise<ClusterInfo> {
  const progress = opts.progress ?? ((line: string) => process.stderr.write(`${line}\n`));
  const dir = clusterDir(opts.home);
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const previous = readClusterState(opts.home);
  const postgresUrl = opts.postgresUrl ?? previous?.postgresUrl;
  if (!postgresUrl) {
    throw new ClusterError('--postgres: required the first time (postgres://user:password@host:5432/temporal)');
  }
  const pg = parsePostgresUrl(postgresUrl);
  const ip = opts.ip ?? previous?.ip ?? '127.0.0.1';
  const port = opts.port ?? previous?.ports.frontend ?? 7233;
  const historyShards = opts.historyShards ?? previous?.historyShards ?? DEFAULT_HISTORY_SHARDS;
  const address = `${ip}:${port}`;
  if (opts.uiPort !== undefined && opts.uiPort === port) {
    throw new ClusterError(`--ui-port ${opts.uiPort}: the frontend uses that port (--port); choose another`);
  }
  const logFile = path.join(dir, 'server.log');
  const workerTokenFile = ensureServiceTokenFile(opts.home, 'worker', opts.namespace);

  if (previous?.serverPid && processAlive(previous.serverPid)) {
    const same = previous.postgresUrl === postgresUrl && previous.ports.frontend === port && previous.ip === ip;
    if (!same) {
      throw new ClusterError(
        `a cluster is already running from ${dir} (pid ${previous.serverPid}, ${previous.ip}:${previous.ports.frontend}, ` +
          `${redactedUrl(parsePostgresUrl(previous.postgresUrl))}); run \`strata cluster down\` first`,
      );
    }
    await waitReady(address, previous.serverPid, logFile, opts.readyTimeoutMs);
    await prepare(dir, address, opts);
    const ui = await reconcileUi(dir, previous, address, opts, progress);
    return {
      address,
      httpApi: `http://${ip}:${previous.ports.frontendHttp}`,
      namespace: opts.namespace,
      workerTokenFile,
      serverPid: previous.serverPid,
      reused: true,
      logFile,
      ...(ui ? { ui } : {}),
    };
  }
  if (previous && previous.historyShards !== historyShards && previous.postgresUrl === postgresUrl) {
    throw new ClusterError(
      `--shards ${historyShards}: this database was set up with ${previous.historyShards} history shards, ` +
        'and Temporal cannot change the number of shards of an existing cluster',
    );
  }
  if (!(await portFree(port, ip === 'localhost' ? '127.0.0.1' : ip))) {
    throw new ClusterError(`--port ${port}: something already listens on ${address}; choose another --port`);
  }

  const tools = await ensureClusterTools({ progress, ...opts.build });
  ensureSigningKey(dir);
  progress(`strata: preparing the schemas on ${redactedUrl(pg)}`);
  await ensureSchemas(tools.sql, pg, progress);

  const state: ClusterState = {
    version: TEMPORAL_SERVER_VERSION,
    postgresUrl,
    ip,
    ports: await choosePorts(
      port,
      previous?.ports,
      opts.uiPort === false ? undefined : (opts.uiPort ?? previous?.ui?.port),
    ),
    jwksPort: previous?.jwksPort ?? (await freePort()),
    historyShards,
    namespace: opts.namespace,
    jwksPid: previous?.jwksPid,
    ...(previous?.ui ? { ui: previous.ui } : {}),
  };
  state.jwksPid = await startJwks(dir, state);
  writeState(dir, state);

  const configDir = path.join(dir, 'config');
  fs.mkdirSync(configDir, { recursive: true, mode: 0o700 });
  const dynamicConfigFile = path.join(configDir, 'dynamic.yaml');
  if (!fs.existsSync(dynamicConfigFile)) fs.writeFileSync(dynamicConfigFile, DEFAULT_DYNAMIC_CONFIG);
  writeFileAtomically(
    path.join(configDir, 'strata.yaml'),
    renderServerConfig({
      postgres: pg,
      ports: state.ports,
      ip,
      historyShards,
      jwksUrl: `http://127.0.0.1:${state.jwksPort}/jwks.json`,
      dynamicConfigFile,
    }),
    { mode: 0o600 },
  );

  const log = fs.openSync(logFile, 'a');
  const child = spawn(
    tools.server,
    [
      '--root',
      dir,
      '--config',
      'config',
      '--env',
      'strata',
      'start',
      ...CLUSTER_SERVICES.flatMap((s) => ['--service', s]),
    ],
    { detached: true, stdio: ['ignore', log, log], cwd: dir },
  );
  fs.closeSync(log);
  child.unref();
  state.serverPid = child.pid!;
  state.startedAt = new Date().toISOString();
  writeState(dir, state);
  progress(`strata: Temporal server v${TEMPORAL_SERVER_VERSION} starting (pid ${state.serverPid}, log ${logFile})`);

  await waitReady(address, state.serverPid, logFile, opts.readyTimeoutMs);
  await prepare(dir, address, opts);
  const ui = await reconcileUi(dir, state, address, opts, progress);
  return {
    address,
    httpApi: `http://${ip}:${state.ports.frontendHttp}`,
    namespace: opts.namespace,
    workerTokenFile,
    serverPid: state.serverPid,
    reused: false,
    logFile,
    ...(ui ? { ui } : {}),
  };
}

/**
 * Brings the Web UI server in line with the up's --ui-port (or the recorded port): keeps a running
 * one on that port, else (re)starts it, building it once; stops it with `uiPort: false`. Records it.
 */
async function reconcileUi(
  dir: string,
  state: ClusterState,
  address: string,
  opts: ClusterUpOptions,
  progress: (line: string) => void,
): Promise<ClusterInfo['ui']> {
  const port = opts.uiPort === false ? undefined : (opts.uiPort ?? state.ui?.port);
  if (
    port !== undefined &&
    uiRunning(state.ui) &&
    state.ui.port === port &&
    state.ui.version === TEMPORAL_UI_SERVER_VERSION
  ) {
    return { url: uiServerUrl(port), pid: state.ui.process.pid, reused: true };
  }
  await stopClusterUi(state.ui);
  if (port === undefined) {
    state.ui = undefined;
    writeState(dir, state);
    return undefined;
  }
  const binary = await ensureUiServerTool({ progress, ...opts.build });
  // The frontend as the UI server dials it: a wildcard listen address is reached on loopback.
  const temporalAddress = /^(0\.0\.0\.0|::|\[::\])$/.test(state.ip) ? `127.0.0.1:${state.ports.frontend}` : address;
  state.ui = await startClusterUi({
    dir,
    binary,
    temporalAddress,
    namespace: opts.namespace,
    port,
    onSpawned: (ui) => writeState(dir, { ...state, ui }),
  });
  writeState(dir, state);
  progress(
    `strata: Temporal Web UI server v${TEMPORAL_UI_SERVER_VERSION} on ${uiServerUrl(port)} ` +
      `(pid ${state.ui.process!.pid}, read-only, log ${path.join(dir, 'ui.log')})`,
  );
  return { url: uiServerUrl(port), pid: state.ui.process!.pid, reused: false };
}

async function waitReady(address: string, pid: number, logFile: string, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await frontendAnswers(address))) {
    if (!processAlive(pid)) {
      throw new ClusterError(
        `the Temporal server (pid ${pid}) exited before it was ready; last lines of ${logFile}:\n${lastLines(logFile)}`,
      );
    }
    if (Date.now() > deadline) {
      throw new ClusterError(
        `the Temporal server did not answer at ${address} within ${timeoutMs / 1000}s; see ${logFile}`,
      );
    }
    await new Promise((r) => setTimeout(r, 500));
  }
}

/**
 * Registers or updates the namespace as a short-lived cluster admin signed with the key in
 * $STRATA_HOME/cluster (retrying while the server settles). `cluster up` calls it; for a server
 * started otherwise (docker-compose.yml) `strata cluster prepare` does.
 */
export async function prepareClusterNamespace(
  home: string,
  address: string,
  opts: { namespace: string; retentionDays: number },
): Promise<void> {
  await prepare(clusterDir(home), address, opts);
}

async function prepare(
  dir: string,
  address: string,
  opts: { namespace: string; retentionDays: number },
): Promise<void> {
  const key = ensureSigningKey(dir);
  const deadline = Date.now() + 60_000;
  for (;;) {
    const connection = await Connection.connect({ address, ...authMetadata(adminToken(key)) });
    try {
      await prepareNamespace(connection, opts.namespace, opts.retentionDays);
      return;
    } catch (err) {
      // Right after a start the frontend may answer before the JWKS is fetched or the namespace
      // registry is ready; both settle within seconds.
      if (Date.now() > deadline) {
        throw new ClusterError(`cannot prepare namespace ${opts.namespace} at ${address}: ${(err as Error).message}`);
      }
      await new Promise((r) => setTimeout(r, 1000));
    } finally {
      await connection.close();
    }
  }
}

/** Stops the server (SIGTERM, SIGKILL after `graceMs`) and the JWKS endpoint. Safe when nothing runs. */
export async function clusterDown(home: string, graceMs = 20_000): Promise<{ stopped: number[] }> {
  const dir = clusterDir(home);
  const state = readClusterState(home);
  const stopped: number[] = [];
  if (!state) return { stopped };
  const uiPid = await stopClusterUi(state.ui);
  if (uiPid !== undefined) stopped.push(uiPid);
  for (const pid of [state.serverPid, state.jwksPid]) {
    if (!pid || !processAlive(pid)) continue;
    process.kill(pid, 'SIGTERM');
    if (!(await waitForExit(pid, graceMs, 100))) {
      process.kill(pid, 'SIGKILL');
      await waitForExit(pid, 5000, 100);
    }
    stopped.push(pid);
  }
  writeState(dir, {
    ...state,
    serverPid: undefined,
    jwksPid: undefined,
    startedAt: undefined,
    ...(state.ui ? { ui: { port: state.ui.port, version: state.ui.version } } : {}),
  });
  return { stopped };
}

export interface ClusterStatus {
  state: 'running' | 'stopped' | 'not-ready' | 'absent';
  address?: string;
  namespace?: string;
  postgres?: string;
  historyShards?: number;
  serverPid?: number;
  jwksPid?: number;
  startedAt?: string;
  version?: string;
  logFile?: string;
  /** The Web UI server, when `up --ui-port` asked for one. */
  ui?: { state: 'running' | 'stopped'; url: string; pid?: number; startedAt?: string; version: string };
}

export async function clusterStatus(home: string): Promise<ClusterStatus> {
  const state = readClusterState(home);
  if (!state) return { state: 'absent' };
  const address = `${state.ip}:${state.ports.frontend}`;
  const serverAlive = state.serverPid !== undefined && processAlive(state.serverPid);
  const base = {
    address,
    namespace: state.namespace,
    postgres: redactedUrl(parsePostgresUrl(state.postgresUrl)),
    historyShards: state.historyShards,
    version: state.version,
    logFile: path.join(clusterDir(home), 'server.log'),
    ...(state.ui
      ? {
          ui: uiRunning(state.ui)
            ? {
                state: 'running' as const,
                url: uiServerUrl(state.ui.port),
                pid: state.ui.process.pid,
                startedAt: state.ui.startedAt,
                version: state.ui.version,
              }
            : { state: 'stopped' as const, url: uiServerUrl(state.ui.port), version: state.ui.version },
        }
      : {}),
  };
  if (!serverAlive) return { state: 'stopped', ...base };
  return {
    state: (await frontendAnswers(address)) ? 'running' : 'not-ready',
    ...base,
    serverPid: state.serverPid,
    jwksPid: state.jwksPid && processAlive(state.jwksPid) ? state.jwksPid : undefined,
    startedAt: state.startedAt,
  };
}
