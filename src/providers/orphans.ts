// Processes Strata started for an environment whose directory is gone: the environment was removed
// (by hand, or by a test cleaning up its temporary STRATA_HOME) without `strata teardown`, so
// nobody will ever stop its candidate, feature-lookup service or proxy. Each carries its
// environment's token, role and directory in its environment variables (see dependency.ts and
// local.ts), which is how they are found here: never by a pid alone.
import fs from 'node:fs';
import path from 'node:path';
import {
  findProcesses,
  PROCESS_ROLE_ENV,
  PROCESS_TOKEN_ENV,
  type ProcessIdentity,
  stopVerified,
} from '../tools/processes';

export interface OrphanedProcess extends ProcessIdentity {
  /** The environment directory it names (STRATA_ENV_DIR), which no longer exists. */
  dir: string;
}

/**
 * The live environment processes (of this uid, or all when root) whose STRATA_ENV_DIR no longer
 * exists; with `under`, only those whose directory lies inside that folder.
 */
export function findOrphanedProcesses(opts: { under?: string } = {}): OrphanedProcess[] {
  const under = opts.under ? path.resolve(opts.under) + path.sep : undefined;
  const dirs = new Map<number, string>();
  const found = findProcesses((env, pid) => {
    const dir = env.get('STRATA_ENV_DIR');
    if (!dir || !env.has(PROCESS_TOKEN_ENV) || !env.has(PROCESS_ROLE_ENV)) return false;
    if (under && !path.resolve(dir).startsWith(under)) return false;
    if (fs.existsSync(dir)) return false;
    dirs.set(pid, dir);
    return true;
  });
  return found.map((p) => ({ ...p, dir: dirs.get(p.pid)! }));
}

/**
 * Stops orphaned environment processes: SIGTERM to each (its group when it leads one), SIGKILL
 * after `graceMs`. Every signal goes to a process verified by token and start time. Returns what
 * was stopped.
 */
export async function reapOrphanedProcesses(
  opts: { under?: string; graceMs?: number } = {},
): Promise<OrphanedProcess[]> {
  const orphans = findOrphanedProcesses(opts);
  await Promise.all(orphans.map((p) => stopVerified(p, opts.graceMs)));
  return orphans;
}
