// What every area's activities share: heartbeats, finding the layer's environment, and recording
// a step's result once so that a retry returns it instead of acting twice.

import fs from 'node:fs';
import path from 'node:path';
import { ApplicationFailure, Context } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import { ArtifactMissingError, ArtifactTamperedError } from '../src/artifacts/store';
import type { StrataPaths } from '../src/paths';
import type { EnvironmentInfo, Provider } from '../src/providers/types';
import { writeFileAtomically } from '../src/tools/files';
import { acquireLockFile } from '../src/tools/lock-file';

/** What the worker hands every area's activities. */
export interface ActivityDeps {
  provider: Provider;
  /** Lets activities reach other workflows (the environment entity's signal-with-start). */
  client?: Client;
  /** $STRATA_HOME and its folders: approvals, load runs, drills. */
  paths: StrataPaths;
}

/**
 * Heartbeats every second while `work` runs, so a killed worker is noticed within the heartbeat
 * timeout. An artifact that fails its verification ends the activity for good (see artifactFailure).
 */
export async function withHeartbeat<T>(work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const ctx = Context.current();
  const timer = setInterval(() => ctx.heartbeat(), 1000);
  try {
    ctx.heartbeat();
    return await work(ctx.cancellationSignal);
  } catch (error) {
    throw artifactFailure(error) ?? error;
  } finally {
    clearInterval(timer);
  }
}

/**
 * Runs `work` holding the environment's lock, named by this activity attempt: an attempt whose
 * heartbeat timed out may still be starting a process when the next attempt begins (on this
 * worker or another), and two attempts must never start two. A busy lock is a retryable failure:
 * the next attempt finds what the first one did and does nothing twice.
 */
export async function withEnvironmentLock<T>(paths: StrataPaths, layer: string, work: () => Promise<T>): Promise<T> {
  const { workflowExecution, activityId, attempt, activityType } = Context.current().info;
  const who = `${workflowExecution?.workflowId ?? 'activity'}/${activityType}/${activityId}#${attempt}`;
  fs.mkdirSync(paths.locks, { recursive: true });
  const lock = acquireLockFile(path.join(paths.locks, `${layer}.lock`), who, (holder) =>
    ApplicationFailure.retryable(
      `environment ${layer} is busy: ${holder.attempt} (pid ${holder.pid}) is changing it; retrying`,
      'EnvironmentBusy',
    ),
  );
  try {
    return await work();
  } finally {
    lock.release();
  }
}

/**
 * A tampered or missing artifact as a non-retryable failure: a retry would find the same files.
 * `ArtifactTampered` carries `{ where, expected, found }` in its details, which the audit trail
 * shows as `artifact.tampered`; `ArtifactMissing` carries `{ where, expected }`.
 */
export function artifactFailure(error: unknown): ApplicationFailure | undefined {
  if (error instanceof ArtifactTamperedError) {
    return ApplicationFailure.create({
      message: error.message,
      type: 'ArtifactTampered',
      nonRetryable: true,
      details: [{ where: error.where, expected: error.expected, found: error.found }],
    });
  }
  if (error instanceof ArtifactMissingError) {
    return ApplicationFailure.create({
      message: error.message,
      type: 'ArtifactMissing',
      nonRetryable: true,
      details: [{ where: error.where, expected: error.expected }],
    });
  }
  return undefined;
}

/**
 * The layer's environment. When it is missing (or, with `database`, has no database file) this
 * throws: a non-retryable failure of type `failure.type` when `failure` is given, otherwise an
 * error the activity retries.
 */
export async function mustDescribe(
  provider: Provider,
  layer: string,
  opts: { database?: boolean; failure?: { type: string; message: string } } = {},
): Promise<EnvironmentInfo> {
  const env = await provider.describe(layer);
  if (env && (!opts.database || fs.existsSync(env.dbPath))) return env;
  if (opts.failure) throw ApplicationFailure.nonRetryable(opts.failure.message, opts.failure.type);
  throw new Error(`environment ${layer} is not provisioned`);
}

/** Runs `make` once: a retried activity gets what the first attempt recorded in `file` instead of acting twice. */
export async function writeOnce<T>(file: string, make: () => Promise<T>): Promise<T> {
  if (fs.existsSync(file)) return JSON.parse(fs.readFileSync(file, 'utf8')) as T;
  const value = await make();
  writeFileAtomically(file, JSON.stringify(value, null, 2));
  return value;
}

/** The database of one seed of a many-seeds layer: envs/<layer>/seeds/<seed>/data.db. */
export function variantDbPath(env: EnvironmentInfo, seed: number): string {
  return path.join(env.dir, 'seeds', String(seed), 'data.db');
}
