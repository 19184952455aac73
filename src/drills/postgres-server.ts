// The server-killed drill: SIGKILL to the PostgreSQL postmaster of the layer's server (its
// `provider.server`), and the runbook that brings it back: `pg_ctl start` as the server's user,
// crash recovery (WAL replay), until it accepts connections. A pid is never signalled on the word
// of postmaster.pid alone: the process must be a postgres one, started when postmaster.pid says
// (as src/tools/processes.ts identifies processes by their start time), running in the data
// directory, and listening on the port of the environment's admin URL.
//
// Only the postmaster is killed, as the OOM killer would: its backends notice and exit by
// themselves, and the next start finds a stale postmaster.pid and replays the WAL. With fsync on,
// every acknowledged commit survives: the drill's writer measures that (RPO 0 expected).

import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Client } from 'pg';
import type { PostgresServerSpec } from '../domain/ladder';
import { processStartTime, processState, stillRunning } from '../tools/processes';
import { writeFileAtomically } from '../tools/files';
import { DrillError } from './errors';
import { postgresBin } from './postgres';

const run = promisify(execFile);

/** The config field named in errors: the layer's `provider.server`. */
const FIELD = 'provider.server';

/** What postmaster.pid says (its first lines, as PostgreSQL writes them). */
export interface PostmasterPid {
  pid: number;
  dataDir: string;
  /** When the postmaster started, epoch seconds. */
  startedAt: number;
  port: number;
  socketDir: string;
  /** "ready", "starting", "stopping"… (PostgreSQL ≥ 10), or "" when not written yet. */
  status: string;
}

/** postmaster.pid of `dataDir`, or null when there is none (the server is not running, or was never started). */
export function readPostmasterPid(dataDir: string): PostmasterPid | null {
  let text: string;
  try {
    text = fs.readFileSync(path.join(dataDir, 'postmaster.pid'), 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return null;
    throw new DrillError(
      `${FIELD}.dataDir: cannot read ${path.join(dataDir, 'postmaster.pid')} (${code}): the worker must run as root or as the server's user`,
    );
  }
  const lines = text.split('\n');
  const pid = Number(lines[0]);
  if (!Number.isInteger(pid) || pid <= 0) return null; // being written, or not a postmaster's
  return {
    pid,
    dataDir: lines[1] ?? '',
    startedAt: Number(lines[2]),
    port: Number(lines[3]),
    socketDir: lines[4] ?? '',
    status: (lines[7] ?? '').trim(),
  };
}

/** Linux exports process times in USER_HZ, which is 100 on every architecture Node runs on. */
const USER_HZ = 100;

function bootTime(): number | undefined {
  try {
    const m = /^btime (\d+)$/m.exec(fs.readFileSync('/proc/stat', 'utf8'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** How far the postmaster's start (postmaster.pid, seconds) may be from the kernel's (clock steps since boot). */
const START_TOLERANCE_S = 5;

/** The postmaster as the kernel knows it: pid and start time (/proc/<pid>/stat field 22). */
export interface VerifiedPostmaster {
  pid: number;
  startTicks: number;
  port: number;
}

/**
 * The running postmaster of `dataDir`, verified: postmaster.pid names a live process whose
 * command is postgres, which started when postmaster.pid says (± 5 s), and whose working directory
 * is the data directory (a postmaster runs in it). Null when no postmaster runs there; a
 * DrillError when postmaster.pid names a process that is not it (never signal that one).
 */
export function verifiedPostmaster(dataDir: string): VerifiedPostmaster | null {
  const info = readPostmasterPid(dataDir);
  if (!info) return null;
  const startTicks = processStartTime(info.pid);
  if (startTicks === undefined || processState(info.pid) === 'Z') return null; // stale: the server is down
  const where = `${path.join(dataDir, 'postmaster.pid')} names pid ${info.pid}`;
  let comm = '';
  try {
    comm = fs.readFileSync(`/proc/${info.pid}/comm`, 'utf8').trim();
  } catch {
    // gone in between: checked below through its start time
  }
  // Another program on a pid reused after the server died: the server is down.
  if (comm !== 'postgres' && comm !== 'postmaster') return null;
  const btime = bootTime();
  const started = btime === undefined ? undefined : btime + startTicks / USER_HZ;
  if (started === undefined || Math.abs(started - info.startedAt) > START_TOLERANCE_S) {
    // A postgres process, but not the one that wrote the file (e.g. another cluster's, after a reboot).
    return null;
  }
  let cwd: string;
  try {
    cwd = fs.readlinkSync(`/proc/${info.pid}/cwd`);
  } catch (err) {
    throw new DrillError(
      `${where}, but its working directory cannot be read (${(err as NodeJS.ErrnoException).code}): ` +
        "the worker must run as root or as the server's user to verify and signal it",
    );
  }
  if (cwd !== fs.realpathSync(dataDir)) {
    throw new DrillError(`${where}, but that process runs in ${cwd}, not in ${FIELD}.dataDir ${dataDir}`);
  }
  return { pid: info.pid, startTicks, port: info.port };
}

/** The admin URL's port (PostgreSQL's default when it names none). */
function portOf(adminUrl: string): number {
  return Number(new URL(adminUrl).port || 5432);
}

/** What a kill left in the drill's folder before the signal: a retry finds it and kills nothing twice. */
interface KillRecord {
  pid: number;
  startTicks: number;
  at: string;
}

export interface ServerKill {
  injectedAt: string;
  detail: string;
  pid: number;
}

/**
 * SIGKILLs the verified postmaster of `server.dataDir` and waits until it is gone. Its port must
 * be the admin URL's: the server killed is the one holding the environment's database. `record`
 * (a file in the drill's folder) is written before the signal: when it names a postmaster that is
 * already gone, a retried injection returns what the first one did.
 */
export async function killPostgresServer(
  server: PostgresServerSpec,
  adminUrl: string,
  record: string,
): Promise<ServerKill> {
  const done = readKillRecord(record);
  if (done && !stillRunning(done.pid, done.startTicks)) return killed(server, done);
  if (!fs.existsSync(server.dataDir))
    throw new DrillError(`${FIELD}.dataDir: ${server.dataDir} does not exist on the worker's machine`);
  const postmaster = verifiedPostmaster(server.dataDir);
  if (!postmaster)
    throw new DrillError(
      `cannot inject server-killed: no PostgreSQL server is running in ${FIELD}.dataDir ${server.dataDir}`,
    );
  const port = portOf(adminUrl);
  if (postmaster.port !== port)
    throw new DrillError(
      `cannot inject server-killed: the server in ${FIELD}.dataDir ${server.dataDir} listens on port ${postmaster.port}, ` +
        `but the environment's database is on port ${port} (provider.url): they must be the same server`,
    );
  const kill: KillRecord = { pid: postmaster.pid, startTicks: postmaster.startTicks, at: new Date().toISOString() };
  writeFileAtomically(record, JSON.stringify(kill), { mkdir: true });
  // Checked again just before the signal: the pid is signalled only while it is that postmaster.
  if (!stillRunning(kill.pid, kill.startTicks))
    throw new DrillError(`the postmaster (pid ${kill.pid}) exited before it could be killed`);
  process.kill(kill.pid, 'SIGKILL');
  const deadline = Date.now() + 10_000;
  while (stillRunning(kill.pid, kill.startTicks)) {
    if (Date.now() > deadline) throw new DrillError(`the postmaster (pid ${kill.pid}) survived SIGKILL for 10 s`);
    await new Promise((r) => setTimeout(r, 20));
  }
  return killed(server, kill);
}

function readKillRecord(file: string): KillRecord | null {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as KillRecord;
  } catch {
    return null;
  }
}

function killed(server: PostgresServerSpec, kill: KillRecord): ServerKill {
  return {
    injectedAt: kill.at,
    pid: kill.pid,
    detail: `SIGKILL sent to the PostgreSQL postmaster (pid ${kill.pid}, data directory ${server.dataDir}); it exited`,
  };
}

/** The OS user that runs the server: `server.user`, else the data directory's owner. */
async function serverUser(server: PostgresServerSpec): Promise<string> {
  if (server.user) return server.user;
  const uid = fs.statSync(server.dataDir).uid;
  try {
    return (await run('id', ['-nu', String(uid)])).stdout.trim();
  } catch {
    throw new DrillError(
      `${FIELD}.dataDir ${server.dataDir} is owned by uid ${uid}, which has no user name: set ${FIELD}.user`,
    );
  }
}

/** postmaster.opts: the postgres binary the server last ran and its options, as `pg_ctl restart` reuses them. */
function lastOptions(dataDir: string): { postgres: string; options: string } | null {
  let line: string;
  try {
    line = fs.readFileSync(path.join(dataDir, 'postmaster.opts'), 'utf8').split('\n')[0].trim();
  } catch {
    return null;
  }
  // `/usr/lib/postgresql/16/bin/postgres "-D" "/data" "-p" "5433"`: the binary, then quoted options.
  const split = line.indexOf(' "');
  return split < 0
    ? { postgres: line, options: '' }
    : { postgres: line.slice(0, split), options: line.slice(split + 1) };
}

function pgCtlOf(server: PostgresServerSpec, postgres: string | undefined): string {
  if (server.pgCtl) {
    if (!fs.existsSync(server.pgCtl)) throw new DrillError(`${FIELD}.pgCtl: ${server.pgCtl} does not exist`);
    return server.pgCtl;
  }
  if (postgres) {
    const beside = path.join(path.dirname(postgres), 'pg_ctl');
    if (fs.existsSync(beside)) return beside;
  }
  const fromBin = path.join(postgresBin(), 'pg_ctl');
  if (fs.existsSync(fromBin)) return fromBin;
  throw new DrillError(`no pg_ctl found to start the server: set ${FIELD}.pgCtl`);
}

/** The few variables pg_ctl and the server need: none of the worker's secrets reach the server's environment. */
function serverEnvironment(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH ?? '/usr/bin:/bin' };
  for (const [k, v] of Object.entries(process.env)) if (/^(LANG|LC_[A-Z]+|TZ)$/.test(k)) env[k] = v;
  return env;
}

async function acceptsConnections(adminUrl: string): Promise<boolean> {
  const client = new Client({ connectionString: adminUrl, connectionTimeoutMillis: 2_000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Waits until the server answers the admin URL. */
async function waitAccepting(adminUrl: string, deadline: number): Promise<void> {
  while (!(await acceptsConnections(adminUrl))) {
    if (Date.now() > deadline) throw new DrillError('the PostgreSQL server does not accept connections');
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** What the server appended to its log since `from` (the last MiB of it). */
function appended(logFile: string, from: number): string {
  try {
    const fd = fs.openSync(logFile, 'r');
    try {
      const size = fs.fstatSync(fd).size;
      const length = Math.min(Math.max(0, size - from), 1024 * 1024);
      const buf = Buffer.alloc(length);
      fs.readSync(fd, buf, 0, length, size - length);
      return buf.toString('utf8');
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    return '';
  }
}

/** What the server logged while starting: whether it ran crash recovery (messages without data values). */
function recoveryOf(logFile: string, from: number): string | null {
  const text = appended(logFile, from);
  if (!/not properly shut down|automatic recovery in progress|was interrupted/.test(text)) return null;
  if (/redo done at/.test(text)) return 'crash recovery replayed the WAL (redo done)';
  if (/redo is not required/.test(text)) return 'crash recovery: no WAL to replay';
  return 'crash recovery ran';
}

export interface ServerStart {
  /** False when the verified server was already running (a retried recovery): nothing was done. */
  started: boolean;
  pid: number | null;
  user: string;
  /** From the start to accepting connections. */
  ms: number;
  /** What the server's log says about crash recovery, when it says something. */
  recovery: string | null;
}

/**
 * Starts the server of `server.dataDir` with `pg_ctl start` (as its user; through `runuser` when the
 * worker is root), with the options it last ran with (postmaster.opts), and waits until it
 * accepts connections at the admin URL. A verified server already running is left alone.
 */
export async function startPostgresServer(
  server: PostgresServerSpec,
  adminUrl: string,
  timeoutMs = 90_000,
): Promise<ServerStart> {
  const began = Date.now();
  const deadline = began + timeoutMs;
  if (!fs.existsSync(server.dataDir))
    throw new DrillError(`${FIELD}.dataDir: ${server.dataDir} does not exist on the worker's machine`);
  const user = await serverUser(server);
  const running = verifiedPostmaster(server.dataDir);
  if (running) {
    await waitAccepting(adminUrl, deadline);
    return { started: false, pid: running.pid, user, ms: Date.now() - began, recovery: null };
  }
  const root = process.getuid?.() === 0;
  if (!root && os.userInfo().username !== user)
    throw new DrillError(
      `the server runs as ${user} (${server.user ? `${FIELD}.user` : `owner of ${FIELD}.dataDir`}), but the worker runs as ` +
        `${os.userInfo().username}: run the worker as ${user} or as root to let it start the server`,
    );
  const last = lastOptions(server.dataDir);
  const pgCtl = pgCtlOf(server, last?.postgres);
  const logFile = server.logFile ?? path.join(server.dataDir, 'strata-pg_ctl.log');
  const logFrom = fs.existsSync(logFile) ? fs.statSync(logFile).size : 0;
  const args = ['-D', server.dataDir, '-l', logFile, ...(last?.options ? ['-o', last.options] : []), '-w', '-t', '60'];
  const [command, argv] = root ? ['runuser', ['-u', user, '--', pgCtl, ...args, 'start']] : [pgCtl, [...args, 'start']];
  // The old backends may hold the shared memory for a moment after the postmaster's death
  // ("pre-existing shared memory block is still in use"): try again until they are gone.
  for (;;) {
    try {
      await run(command, argv, { env: serverEnvironment(), timeout: 120_000 });
      break;
    } catch (err) {
      if (verifiedPostmaster(server.dataDir)) break; // started meanwhile (by a retry beside us)
      const e = err as { stderr?: string; stdout?: string; message: string };
      // pg_ctl says "could not start server"; the server's reason is in its log.
      const logged = appended(logFile, logFrom)
        .split('\n')
        .filter((l) => /FATAL|PANIC/.test(l))
        .slice(-2);
      const why = [...(e.stderr || e.stdout || e.message).trim().split('\n').slice(-2), ...logged].join('; ');
      const transient = logged.some((l) => /pre-existing shared memory block|lock file .* already exists/.test(l));
      if (!transient || Date.now() > deadline) throw new DrillError(`pg_ctl start failed: ${why}`);
      await new Promise((r) => setTimeout(r, 500));
    }
  }
  await waitAccepting(adminUrl, deadline);
  return {
    started: true,
    pid: readPostmasterPid(server.dataDir)?.pid ?? null,
    user,
    ms: Date.now() - began,
    recovery: recoveryOf(logFile, logFrom),
  };
}
