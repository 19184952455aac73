// Local processes Strata starts and stops: candidates, feature services, proxies, drill writers.
import fs from 'node:fs';
import { pathToFileURL } from 'node:url';

/**
 * The fields of /proc/<pid>/stat from field 3 on (field n at index n - 3), or undefined when there
 * is no such process (or no /proc). The command name (field 2) is in parentheses and may hold
 * spaces: fields are counted after its ')'.
 */
export function statFields(pid: number): string[] | undefined {
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  let stat: string;
  try {
    stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

/** When the process of these stat fields started, in clock ticks since boot (field 22). */
function startTicksOf(fields: string[] | undefined): number | undefined {
  const ticks = Number(fields?.[22 - 3]);
  return Number.isFinite(ticks) ? ticks : undefined;
}

/**
 * When `pid` started, in clock ticks since boot (field 22 of /proc/<pid>/stat), or undefined when
 * there is no such process (or no /proc). A pid with the same start time is the same process.
 */
export function processStartTime(pid: number): number | undefined {
  return startTicksOf(statFields(pid));
}

/** The process's state letter (field 3 of /proc/<pid>/stat), or undefined when there is no such process. */
export function processState(pid: number): string | undefined {
  return statFields(pid)?.[0];
}

/**
 * True while the process with this start time runs: a zombie ("Z") or a dead one ("X") has closed
 * its files, and a reused pid is someone else.
 */
export function stillRunning(pid: number, startTicks: number): boolean {
  const fields = statFields(pid);
  if (startTicksOf(fields) !== startTicks) return false;
  const state = fields![0];
  return state !== 'Z' && state !== 'X';
}

/** True while `pid` exists (a process we may not signal counts as existing). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Signals the process group led by `pid` (candidates run detached, as group leaders), or the
 * process alone when it leads no group. Returns false when neither exists.
 */
export function signalProcessTree(pid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-pid, signal);
    return true;
  } catch {
    try {
      process.kill(pid, signal);
      return true;
    } catch {
      return false;
    }
  }
}

/** Waits until `pid` is gone; true if it went within `timeoutMs`. */
export async function waitForExit(pid: number, timeoutMs: number, pollMs = 20): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (processAlive(pid)) {
    if (Date.now() >= deadline) return false;
    await new Promise((r) => setTimeout(r, pollMs));
  }
  return true;
}

/** The tsx loader as a URL for `node --import`: how TypeScript helper processes are started. */
export function tsxLoaderUrl(): string {
  return pathToFileURL(require.resolve('tsx')).href;
}

/** The environment variable holding an environment's token in every process Strata starts for it. */
export const PROCESS_TOKEN_ENV = 'STRATA_PROCESS_TOKEN';
/** Which of an environment's processes this is (candidate, feature-service, proxy). */
export const PROCESS_ROLE_ENV = 'STRATA_PROCESS_ROLE';

/** A process as Strata knows it: a pid alone is not enough (pids are reused, and a reboot reuses all of them). */
export interface ProcessIdentity {
  pid: number;
  /** /proc/<pid>/stat field 22 when it was started. */
  startTime: number | null;
  /** The environment's token, in the process's environment as STRATA_PROCESS_TOKEN. */
  token: string | null;
  role?: string;
}

/** The process's environment variables (its own uid's processes only), or undefined when unreadable. */
export function processEnviron(pid: number): Map<string, string> | undefined {
  let raw: string;
  try {
    raw = fs.readFileSync(`/proc/${pid}/environ`, 'utf8');
  } catch {
    return undefined;
  }
  const env = new Map<string, string>();
  for (const entry of raw.split('\0')) {
    const eq = entry.indexOf('=');
    if (eq > 0) env.set(entry.slice(0, eq), entry.slice(eq + 1));
  }
  return env;
}

/**
 * True when `id.pid` is the process Strata recorded: alive, with the recorded start time, and
 * with the environment's token (and role) in its environment. All three, or it is someone else's.
 */
export function verifyProcess(id: ProcessIdentity): boolean {
  if (!id.token || id.startTime === null) return false;
  if (processStartTime(id.pid) !== id.startTime) return false;
  const env = processEnviron(id.pid);
  if (env?.get(PROCESS_TOKEN_ENV) !== id.token) return false;
  return !id.role || env.get(PROCESS_ROLE_ENV) === id.role;
}

/** The live processes carrying `token` (and `role`): where the real process went after a reboot or a lost state file. */
export function findProcessesByToken(token: string, role?: string): ProcessIdentity[] {
  return findProcesses((env) => env.get(PROCESS_TOKEN_ENV) === token && (!role || env.get(PROCESS_ROLE_ENV) === role));
}

/** The live processes (of this uid) whose environment matches. */
export function findProcesses(match: (env: Map<string, string>, pid: number) => boolean): ProcessIdentity[] {
  let entries: string[];
  try {
    entries = fs.readdirSync('/proc');
  } catch {
    return [];
  }
  const found: ProcessIdentity[] = [];
  for (const e of entries) {
    if (!/^\d+$/.test(e)) continue;
    const pid = Number(e);
    if (pid === process.pid) continue;
    const env = processEnviron(pid);
    if (!env || !match(env, pid)) continue;
    const startTime = processStartTime(pid);
    if (startTime !== undefined)
      found.push({
        pid,
        startTime,
        token: env.get(PROCESS_TOKEN_ENV) ?? null,
        ...(env.has(PROCESS_ROLE_ENV) ? { role: env.get(PROCESS_ROLE_ENV) } : {}),
      });
  }
  return found;
}

/** The process group `pid` belongs to (field 5 of /proc/<pid>/stat), or undefined. */
export function processGroup(pid: number): number | undefined {
  const fields = statFields(pid);
  return fields ? Number(fields[5 - 3]) : undefined;
}

/**
 * Signals a verified process: its whole group when it leads one, else the process alone. An
 * unverified process is never signalled (false), nor is any group it does not lead.
 */
export function signalVerified(id: ProcessIdentity, signal: NodeJS.Signals): boolean {
  if (!verifyProcess(id)) return false;
  try {
    process.kill(processGroup(id.pid) === id.pid ? -id.pid : id.pid, signal);
    return true;
  } catch {
    return false;
  }
}

/** Waits until the identified process is gone (or is no longer the one identified); true if within `timeoutMs`. */
export async function waitForVerifiedExit(id: ProcessIdentity, timeoutMs: number, pollMs = 20): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  // A process on its way out loses its memory, and so its environment (it no longer verifies),
  // before it closes its files: it is gone once it is a zombie or no more, so a port it listened on
  // is free when this returns. (Another process with this start time and an environment is not ours.)
  const exiting = () => id.startTime !== null && stillRunning(id.pid, id.startTime) && !processEnviron(id.pid)?.size;
  while (verifyProcess(id) || exiting()) {
    if (Date.now() >= deadline) return false;
    await new Promise((r) => setTimeout(r, pollMs));
  }
  return true;
}

/**
 * Stops a verified process: SIGTERM (to its group when it leads one), SIGKILL after `graceMs`,
 * then waits for it to be gone. A process that is not (or no longer) the one identified is never
 * signalled. True when it is gone.
 */
export async function stopVerified(id: ProcessIdentity, graceMs = 5_000): Promise<boolean> {
  signalVerified(id, 'SIGTERM');
  if (await waitForVerifiedExit(id, graceMs, 50)) return true;
  signalVerified(id, 'SIGKILL');
  return waitForVerifiedExit(id, 5_000, 50);
}
