// Local processes Strata starts and stops: candidates, feature services, proxies, drill writers.
import { pathToFileURL } from 'node:url';

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
