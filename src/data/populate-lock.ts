// One population at a time per database: a lock file beside it, naming the attempt that holds it.
//
// The lock records the holder's pid and that process's start time, so a lock left by a worker that
// died (or whose pid was reused) is recognised as stale and taken over. Within one worker process,
// a lock is live while the attempt that took it has not released it.

import fs from 'node:fs';
import path from 'node:path';
import { processStartTime } from '../tools/processes';

export interface PopulateLockHolder {
  pid: number;
  startTime: number | null;
  /** Which attempt holds it (workflow, activity and attempt number): no data. */
  attempt: string;
  at: string;
}

/** Another attempt is populating this database now: retry later. */
export class PopulationBusy extends Error {
  override name = 'PopulationBusy';
  constructor(
    readonly dbPath: string,
    readonly holder: PopulateLockHolder,
  ) {
    super(`another attempt (${holder.attempt}, pid ${holder.pid}) is populating ${dbPath}; retrying later`);
  }
}

export function populateLockPath(dbPath: string): string {
  return `${dbPath}.populate.lock`;
}

/** Locks this process holds now (a lock file naming this pid but not listed here is stale). */
const held = new Set<string>();

function readHolder(file: string): PopulateLockHolder | undefined {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as PopulateLockHolder;
  } catch {
    return undefined;
  }
}

function live(file: string, holder: PopulateLockHolder | undefined): boolean {
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

/** Takes the database's populate lock for `attempt`; throws PopulationBusy while another live attempt holds it. */
export function acquirePopulateLock(dbPath: string, attempt: string): { release(): void } {
  const file = populateLockPath(dbPath);
  fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  const me: PopulateLockHolder = {
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
      if (live(file, holder)) throw new PopulationBusy(dbPath, holder!);
      if (!holder && fresh(file)) {
        // Being written by the attempt that just created it.
        throw new PopulationBusy(dbPath, { pid: 0, startTime: null, attempt: 'unknown', at: me.at });
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
