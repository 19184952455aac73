// Starts and stops the drill's writer: a real separate process (writer-process.ts) that keeps
// writing to the environment's database while the drill breaks and restores it, so the measured
// RPO is the real window of acknowledged writes lost.

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { readAckLog, summarizeAckLog, type WriterSummary } from './ack-log';
import { DrillError } from './errors';
import { processAlive, tsxLoaderUrl, waitForExit } from '../tools/processes';

export { readAcks, readAckLog, type WriteAck, type WriterSummary } from './ack-log';

export interface WriterOptions {
  /** The SQLite file to write to (ignored with `postgresUrl`). */
  dbPath: string;
  /**
   * A postgres environment's login URL: the writer (pg-writer-process.ts) writes there instead,
   * and gets the URL in its environment, never on its command line.
   */
  postgresUrl?: string;
  /** The acknowledgement log; keep it outside the environment's database directory's blast radius. */
  logFile: string;
  /** Time between writes, default 20 ms. */
  intervalMs?: number;
  /**
   * false (default): the writer exits when the process that started it exits, so a crashed caller
   * leaves no writer behind. true: it runs in its own process group and outlives its caller; stop
   * it by pid with stopWriter (e.g. from a later activity).
   */
  detached?: boolean;
  /** SQLite busy timeout of the writer's connection, default 2000 ms. */
  busyTimeoutMs?: number;
  /** How long to wait for the writer to start, default 15 s. */
  startTimeoutMs?: number;
}

export interface WriterHandle {
  pid: number;
  logFile: string;
  /** true when a writer already running for this log was found and reused (a retried start). */
  reused: boolean;
  stop(): Promise<WriterSummary>;
}

const WRITER_SCRIPT = path.join(__dirname, 'writer-process.ts');
const PG_WRITER_SCRIPT = path.join(__dirname, 'pg-writer-process.ts');

/** The pid file beside the log: how a retried start finds the writer it already started. */
function pidFile(logFile: string): string {
  return `${logFile}.pid`;
}

function readPid(logFile: string): number | null {
  try {
    const pid = Number(fs.readFileSync(pidFile(logFile), 'utf8').trim());
    return Number.isSafeInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

/** Whether `pid` is a writer process (Linux: by its command line; elsewhere: alive is enough). */
function isWriter(pid: number): boolean {
  if (!processAlive(pid)) return false;
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('writer-process');
  } catch {
    return process.platform !== 'linux';
  }
}

/**
 * Spawns the writer and resolves once it has started (its start line is in the log). Idempotent:
 * if a writer for the same log is still running, that one is returned instead of a second.
 */
export async function startWriter(opts: WriterOptions): Promise<WriterHandle> {
  const logFile = path.resolve(opts.logFile);
  const existing = readPid(logFile);
  if (existing && isWriter(existing)) {
    return { pid: existing, logFile, reused: true, stop: () => stopWriter(existing, logFile) };
  }
  const script = opts.postgresUrl ? PG_WRITER_SCRIPT : WRITER_SCRIPT;
  if (!fs.existsSync(script)) throw new DrillError(`writer script missing: ${script}`);
  fs.mkdirSync(path.dirname(logFile), { recursive: true });
  const config = {
    dbPath: path.resolve(opts.dbPath),
    logFile,
    intervalMs: opts.intervalMs ?? 20,
    watchParent: !opts.detached,
    busyTimeoutMs: opts.busyTimeoutMs ?? 2000,
  };
  const startsBefore = readAckLog(logFile).events.filter((e) => e.event === 'start').length;
  const stderrFile = `${logFile}.stderr`;
  const err = fs.openSync(stderrFile, 'a');
  const child = spawn(process.execPath, ['--import', tsxLoaderUrl(), script, JSON.stringify(config)], {
    detached: Boolean(opts.detached),
    stdio: ['ignore', 'ignore', err],
    env: opts.postgresUrl ? { ...process.env, STRATA_DRILL_WRITER_URL: opts.postgresUrl } : process.env,
  });
  fs.closeSync(err);
  child.unref();
  const pid = child.pid;
  if (!pid) throw new DrillError(`cannot start the drill writer (${process.execPath} ${script})`);
  fs.writeFileSync(pidFile(logFile), `${pid}\n`);

  let exited: number | null = null;
  child.once('exit', (code) => {
    exited = code ?? -1;
  });
  const deadline = Date.now() + (opts.startTimeoutMs ?? 15_000);
  for (;;) {
    const starts = readAckLog(logFile).events.filter((e) => e.event === 'start');
    if (starts.length > startsBefore && starts.some((e) => e.detail[0] === String(pid))) break;
    if (exited !== null) {
      throw new DrillError(
        `the drill writer exited with code ${exited} before starting; see ${stderrFile}: ${tail(stderrFile)}`,
      );
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new DrillError(
        `the drill writer did not start within ${opts.startTimeoutMs ?? 15_000} ms; see ${stderrFile}`,
      );
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  return { pid, logFile, reused: false, stop: () => stopWriter(pid, logFile) };
}

/**
 * Stops the writer with `pid` (SIGTERM; it finishes the write in progress; SIGKILL after
 * `timeoutMs`) and summarizes its log. Stopping a writer that is already gone just summarizes.
 */
export async function stopWriter(pid: number, logFile: string, timeoutMs = 5000): Promise<WriterSummary> {
  const signal = (sig: NodeJS.Signals): void => {
    try {
      process.kill(pid, sig);
    } catch {
      // exited in the meantime
    }
  };
  if (isWriter(pid)) {
    signal('SIGTERM');
    if (!(await waitForExit(pid, timeoutMs))) {
      signal('SIGKILL');
      await waitForExit(pid, 2000);
    }
  }
  if (readPid(logFile) === pid) fs.rmSync(pidFile(logFile), { force: true });
  return summarizeWriter(logFile);
}

/** The summary of everything the log records (acknowledged writes, failed attempts). */
export function summarizeWriter(logFile: string): WriterSummary {
  return summarizeAckLog(readAckLog(logFile));
}

function tail(file: string, chars = 400): string {
  try {
    const text = fs.readFileSync(file, 'utf8').trim();
    return text.length > chars ? `…${text.slice(-chars)}` : text || '(empty)';
  } catch {
    return '(unreadable)';
  }
}
