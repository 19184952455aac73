// One attempt at a time: a lock file naming the activity attempt that holds it (the populate step
// of a database, the process changes of an environment). A Temporal activity whose heartbeat timed
// out may still be running when its next attempt starts, on this worker or another: the lock keeps
// the two from writing at once.
//
// The lock records the holder's pid and that process's start time, so a lock left by a worker that
// died (or whose pid was reused) is recognised as stale and taken over. Within one worker process,
// a lock is live while the attempt that took it has not released it.

import fs from 'node:fs';
import path from 'node:path';
import { processStartTime } from './processes';

export interface LockHolder {
  pid: number;
  startTime: number | null;
  /** Which attempt holds it (workflow, activity and attempt number): no data. */
  attempt: string;
  at: string;
}

/** Another live attempt holds the lock: retry later. */
export class LockBusy extends Error {
  override name = 'LockBusy';
  constructor(
    readonly file: string,
    readonly holder: LockHolder,
    message: string,
  ) {
    super(message);
  }
}

/** Locks this process holds now (a lock file naming this pid but not listed here is stale). */
const held = new Set<string>();

function readHolder(file: string): LockHolder | undefined {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as LockHolder;
  } catch {
    return undefined;
  }
}

function live(file: string, holder: LockHolder | undefined): boolean {
  if (!holder) return false;
  if (holder.pid === process.pid) return held.has(file);
  const started = processStartTime(holder.pid);
  return started !== undefined && (holder.startTime === null || started === holder.startTime);
}

function fresh(file: string): boolean {
  try {
    return Date.now() - fs.statSync(file).mtimeMs < 5000;
  } catch {
    return false;
  }
}

/**
 * Takes the lock file for `attempt`; throws what `busy` makes of the holder while another live
 * attempt holds it. A lock whose holding process is gone is stale and taken over.
 */
export function acquireLockFile(
  file: string,
  attempt: string,
  busy: (holder: LockHolder) => Error,
): { release(): void } {
  fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  const me: LockHolder = {
    pid: process.pid,
    startTime: processStartTime(process.pid) ?? null,
    attempt,
    at: new Date().toISOString(),
  };
  for (let tries = 0; ; tries++) {
    try {
      fs.writeFileSync(file, JSON.stringify(me), { flag: 'wx' });
      held.add(file);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || tries > 3) throw err;
      const holder = readHolder(file);
      if (live(file, holder)) throw busy(holder!);
      if (!holder && fresh(file)) {
        // Being written by the attempt that just created it.
        throw busy({ pid: 0, startTime: null, attempt: 'unknown', at: me.at });
      }
      // Stale: its holder is gone. Remove it and try again.
      fs.rmSync(file, { force: true });
    }
  }
  return {
    release() {
      held.delete(file);
      const holder = readHolder(file);
      if (holder && holder.pid === me.pid && holder.attempt === me.attempt) fs.rmSync(file, { force: true });
    },
  };
}
