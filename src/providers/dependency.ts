import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { request } from 'undici';
import { ToxiproxyClient } from '../chaos/client';
import { startToxiproxy, stopToxiproxy, toxiproxyAnswers } from '../chaos/toxiproxy';
import { processAlive, signalProcessTree, tsxLoaderUrl } from '../tools/processes';
import { childEnvironment, type RunAs } from './sandbox';

/** An environment's dependency: the feature-lookup process and the Toxiproxy proxy in front of it. */
export interface DependencyState {
  featurePid: number;
  featurePort: number;
  proxyPid: number;
  /** Toxiproxy's HTTP API port. */
  proxyApiPort: number;
  /** Where the candidate reaches the feature service: the proxy's listen port. */
  proxyPort: number;
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
}): Promise<number> {
  const out = fs.openSync(opts.logFile, 'a');
  const given: Record<string, string> = { PORT: String(opts.port), STRATA_DB_PATH: opts.dbPath };
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
}): Promise<{ dep: DependencyState; started: string[] }> {
  const started: string[] = [];
  const prev = opts.current ?? undefined;
  let featurePid = prev?.featurePid ?? 0;
  let featurePort = prev?.featurePort ?? 0;
  if (!(featurePid && processAlive(featurePid) && (await httpOk(`http://127.0.0.1:${featurePort}/health`)))) {
    if (featurePid) signalProcessTree(featurePid, 'SIGTERM');
    featurePort = await opts.freePort();
    featurePid = await startFeatureService({
      dbPath: opts.dbPath,
      port: featurePort,
      logFile: path.join(opts.dir, 'features.log'),
      runAs: opts.runAs,
      home: opts.home,
    });
    started.push('feature-service');
  }
  let proxyPid = prev?.proxyPid ?? 0;
  let proxyApiPort = prev?.proxyApiPort ?? 0;
  if (!(proxyPid && processAlive(proxyPid) && (await toxiproxyAnswers(`http://127.0.0.1:${proxyApiPort}`)))) {
    if (proxyPid) await stopToxiproxy(proxyPid);
    proxyApiPort = await opts.freePort();
    const proxy = await startToxiproxy({
      port: proxyApiPort,
      logFile: path.join(opts.dir, 'toxiproxy.log'),
      detached: true,
    });
    proxyPid = proxy.pid;
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
  return { dep: { featurePid, featurePort, proxyPid, proxyApiPort, proxyPort }, started };
}

export async function stopDependency(dep: DependencyState | null | undefined): Promise<void> {
  if (!dep) return;
  if (processAlive(dep.featurePid)) signalProcessTree(dep.featurePid, 'SIGTERM');
  if (processAlive(dep.proxyPid)) await stopToxiproxy(dep.proxyPid);
}
