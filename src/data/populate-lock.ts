// One population at a time per database: a lock file beside it, naming the attempt that holds it
// (src/tools/lock-file.ts).

import { acquireLockFile, type LockHolder } from '../tools/lock-file';

export type PopulateLockHolder = LockHolder;

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

/** Takes the database's populate lock for `attempt`; throws PopulationBusy while another live attempt holds it. */
export function acquirePopulateLock(dbPath: string, attempt: string): { release(): void } {
  return acquireLockFile(populateLockPath(dbPath), attempt, (holder) => new PopulationBusy(dbPath, holder));
}
