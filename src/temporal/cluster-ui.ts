// The Temporal Web UI of `strata cluster up --ui-port`: the standalone UI server (v2.42.1, built from
// the Go module proxy) as a background process beside the Temporal server, on 127.0.0.1 only.
// It holds no token and signs nobody in: what reaches it directly carries no Authorization header,
// and the frontend's JWT authorizer refuses it. People open it through `strata serve --temporal-ui`,
// which signs them in and adds a read-only token of their own to each request (src/web/temporal-ui.ts).
//   ui-config/strata.yaml  its config (rewritten on every up)
//   ui.log                 its output
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { lastLines, writeFileAtomically } from '../tools/files';
import { portFree } from '../tools/ports';
import {
  PROCESS_ROLE_ENV,
  PROCESS_TOKEN_ENV,
  type ProcessIdentity,
  processStartTime,
  stopVerified,
  verifyProcess,
} from '../tools/processes';
import { renderUiServerConfig, TEMPORAL_UI_PATH } from './cluster-config';
import { ClusterError, TEMPORAL_UI_SERVER_VERSION } from './cluster-tools';

/** What `cluster up` recorded of the UI server (in cluster.json). */
export interface ClusterUiState {
  port: number;
  version: string;
  /** The running process: pid, start time and a token in its environment (a pid alone may be reused). */
  process?: ProcessIdentity;
  startedAt?: string;
}

const UI_ROLE = 'temporal-ui';

/** True when the recorded UI server is the process running under its pid. */
export function uiRunning(ui: ClusterUiState | undefined): ui is ClusterUiState & { process: ProcessIdentity } {
  return !!ui?.process && verifyProcess(ui.process);
}

/** The UI server's own address (loopback; for `strata serve --temporal-ui`, not for browsers). */
export function uiServerUrl(port: number): string {
  return `http://127.0.0.1:${port}`;
}

export async function uiAnswers(port: number): Promise<boolean> {
  try {
    const res = await fetch(`${uiServerUrl(port)}/healthz`, { signal: AbortSignal.timeout(1000) });
    await res.body?.cancel();
    return res.ok;
  } catch {
    return false;
  }
}

export interface StartUiOptions {
  /** $STRATA_HOME/cluster. */
  dir: string;
  /** The built UI server. */
  binary: string;
  /** The frontend, host:port. */
  temporalAddress: string;
  namespace: string;
  port: number;
  /** How long to wait for /healthz (default 30 s). */
  readyTimeoutMs?: number;
  /** Called as soon as the process exists, to record it before waiting (an interrupted up leaves no stray). */
  onSpawned?: (ui: ClusterUiState) => void;
}

/** Writes the config, starts the UI server in the background and waits until it answers. */
export async function startClusterUi(o: StartUiOptions): Promise<ClusterUiState> {
  if (!(await portFree(o.port))) {
    throw new ClusterError(`--ui-port ${o.port}: something already listens on 127.0.0.1:${o.port}; choose another`);
  }
  const configDir = path.join(o.dir, 'ui-config');
  fs.mkdirSync(configDir, { recursive: true, mode: 0o700 });
  writeFileAtomically(
    path.join(configDir, 'strata.yaml'),
    renderUiServerConfig({ temporalAddress: o.temporalAddress, port: o.port, namespace: o.namespace }),
    { mode: 0o600 },
  );
  const logFile = path.join(o.dir, 'ui.log');
  const log = fs.openSync(logFile, 'a');
  const token = crypto.randomBytes(16).toString('hex');
  const child = spawn(o.binary, ['--root', o.dir, '--config', 'ui-config', '--env', 'strata', 'start'], {
    detached: true,
    stdio: ['ignore', log, log],
    cwd: o.dir,
    // Not Strata's environment: no STRATA_TEMPORAL_TOKEN (it holds no token) and no TEMPORAL_ROOT,
    // TEMPORAL_CONFIG_DIR or TEMPORAL_ENVIRONMENT overriding the flags above.
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: process.env.HOME ?? o.dir,
      [PROCESS_TOKEN_ENV]: token,
      [PROCESS_ROLE_ENV]: UI_ROLE,
    },
  });
  fs.closeSync(log);
  child.unref();
  const pid = child.pid!;
  const ui: ClusterUiState = {
    port: o.port,
    version: TEMPORAL_UI_SERVER_VERSION,
    process: { pid, startTime: processStartTime(pid) ?? null, token, role: UI_ROLE },
    startedAt: new Date().toISOString(),
  };
  o.onSpawned?.(ui);
  const timeoutMs = o.readyTimeoutMs ?? 30_000;
  const deadline = Date.now() + timeoutMs;
  while (!(await uiAnswers(o.port))) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new ClusterError(
        `the Temporal Web UI server exited (${child.signalCode ?? `code ${child.exitCode}`}) before it answered; ` +
          `last lines of ${logFile}:\n${lastLines(logFile)}`,
      );
    }
    if (Date.now() > deadline) {
      await stopClusterUi(ui);
      throw new ClusterError(
        `the Temporal Web UI server did not answer on ${uiServerUrl(o.port)} within ${timeoutMs / 1000}s; see ${logFile}`,
      );
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return ui;
}

/** Stops the recorded UI server if it is still that process; its pid when it stopped one. */
export async function stopClusterUi(ui: ClusterUiState | undefined, graceMs = 5_000): Promise<number | undefined> {
  if (!uiRunning(ui)) return undefined;
  await stopVerified(ui.process, graceMs);
  return ui.process.pid;
}

/** Where people open the UI: under `strata serve`'s address. */
export function uiPathFor(namespace: string): string {
  return `${TEMPORAL_UI_PATH}/namespaces/${encodeURIComponent(namespace)}/workflows`;
}
