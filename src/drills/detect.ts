// Health probes: what the drill uses to see the fault (detect) and the recovery (healthy again).

import fs from 'node:fs';
import { request } from 'undici';
import type { TableFingerprints } from '../domain/drill';
import { openExisting } from './backup';
import { DrillError } from './errors';
import { compareFingerprints, fingerprintTables } from './fingerprint';

export interface ProbeTarget {
  dbPath: string;
  /** The candidate's base URL; null or undefined skips the /health check. */
  url?: string | null;
  /** The pre-fault snapshot: each of its tables must be present with the same rows and checksum. */
  snapshot: TableFingerprints;
  /** Timeout of the /health request, default 1000 ms. */
  healthTimeoutMs?: number;
}

export interface ProbeResult {
  healthy: boolean;
  problems: string[];
  /** ISO time the probe finished. */
  at: string;
}

export type Probe = () => Promise<ProbeResult>;

export async function probeHealth(url: string, timeoutMs: number): Promise<string | null> {
  const target = `${url.replace(/\/+$/, '')}/health`;
  try {
    const res = await request(target, {
      method: 'GET',
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
      signal: AbortSignal.timeout(timeoutMs),
    });
    await res.body.dump();
    return res.statusCode === 200 ? null : `candidate ${target} answered ${res.statusCode}`;
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    return `candidate ${target} does not answer: ${e.code ?? e.name}${e.message ? ` (${e.message})` : ''}`;
  }
}

function probeDatabase(dbPath: string, snapshot: TableFingerprints): string[] {
  if (!fs.existsSync(dbPath)) return [`database file ${dbPath} is missing`];
  let db;
  try {
    db = openExisting(dbPath);
  } catch (err) {
    return [`database ${dbPath} does not open: ${(err as Error).message}`];
  }
  try {
    const check = db.pragma('quick_check', { simple: true });
    if (check !== 'ok') return [`database quick_check: ${String(check)}`];
    return compareFingerprints(snapshot, fingerprintTables(db, { tables: Object.keys(snapshot) }));
  } catch (err) {
    return [`database ${dbPath} cannot be read: ${(err as Error).message}`];
  } finally {
    db.close();
  }
}

/**
 * One probe of the environment: the candidate answers GET /health with 200 within the timeout;
 * the database file exists, opens and passes PRAGMA quick_check; every table of the snapshot is
 * there with the snapshot's row count and checksum.
 */
export async function probeEnvironment(target: ProbeTarget): Promise<ProbeResult> {
  const problems: string[] = [];
  if (target.url) {
    const health = await probeHealth(target.url, target.healthTimeoutMs ?? 1000);
    if (health) problems.push(health);
  }
  problems.push(...probeDatabase(target.dbPath, target.snapshot));
  return { healthy: problems.length === 0, problems, at: new Date().toISOString() };
}

export interface WaitOptions {
  timeoutMs: number;
  /** Pause between probes, default 100 ms. */
  intervalMs?: number;
}

async function waitFor(probe: Probe, want: boolean, opts: WaitOptions, what: string): Promise<ProbeResult> {
  const deadline = Date.now() + opts.timeoutMs;
  let last: ProbeResult | null = null;
  for (;;) {
    last = await probe();
    if (last.healthy === want) return last;
    if (Date.now() >= deadline) break;
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 100));
  }
  throw new DrillError(
    `${what} within ${opts.timeoutMs} ms${last && last.problems.length ? `; last problems: ${last.problems.join('; ')}` : ''}`,
  );
}

/** Probes until the environment is unhealthy; throws a DrillError if it stays healthy past the timeout. */
export async function waitForDetection(
  probe: Probe,
  opts: WaitOptions,
): Promise<{ detectedAt: string; problems: string[] }> {
  const result = await waitFor(probe, false, opts, 'the fault was not detected (the environment stayed healthy)');
  return { detectedAt: result.at, problems: result.problems };
}

/** Probes until the environment is healthy again; throws a DrillError if it is not by the timeout. */
export async function waitForHealthy(probe: Probe, opts: WaitOptions): Promise<{ healthyAt: string }> {
  const result = await waitFor(probe, true, opts, 'the environment did not become healthy');
  return { healthyAt: result.at };
}
