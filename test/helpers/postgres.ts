// A PostgreSQL for tests. testPostgres() gives a test file the server at STRATA_TEST_POSTGRES_URL
// (or postgres://postgres@127.0.0.1:5432/test) when it answers, and otherwise a private one:
// privatePostgres() runs Debian's initdb and pg_ctl (/usr/lib/postgresql/<version>/bin) on a free
// port in a temporary directory. initdb refuses to run as root, so as root every command runs as
// the `postgres` user (runuser -u postgres --) in a directory that user owns.

import { execFile, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Client } from 'pg';
import { afterAll, beforeAll } from 'vitest';
import { freePort } from '../../src/tools/ports';

const run = promisify(execFile);

export const DEFAULT_TEST_POSTGRES_URL = 'postgres://postgres@127.0.0.1:5432/test';

export interface PrivatePostgres {
  /**
   * postgres://postgres@127.0.0.1:<port>/<database> (with the superuser's password under
   * `auth: 'scram'`); the same across stop and start.
   */
  readonly url: string;
  readonly port: number;
  /** The temporary directory: data/, postgres.log and the Unix socket. */
  readonly dir: string;
  /** Starts the server (waits until it accepts connections). */
  start(): Promise<void>;
  /** Stops the server: `fast` disconnects clients cleanly, `immediate` is a crash (recovery on the next start). */
  stop(mode?: 'fast' | 'immediate'): Promise<void>;
  /** Stops and starts the server on the same port. */
  restart(): Promise<void>;
  /** Stops the server (if running) and deletes the directory. */
  remove(): Promise<void>;
}

/** The directory holding initdb and pg_ctl: STRATA_TEST_PG_BIN, the newest Debian install, or PATH. */
function postgresBin(): string {
  const explicit = process.env.STRATA_TEST_PG_BIN;
  if (explicit) return explicit;
  const root = '/usr/lib/postgresql';
  const versions = fs.existsSync(root)
    ? fs
        .readdirSync(root)
        .filter((v) => fs.existsSync(path.join(root, v, 'bin', 'initdb')))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  if (versions.length > 0) return path.join(root, versions[0], 'bin');
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (dir && fs.existsSync(path.join(dir, 'initdb'))) return dir;
  }
  throw new Error(
    'no PostgreSQL to test against: nothing answers at STRATA_TEST_POSTGRES_URL or ' +
      `${DEFAULT_TEST_POSTGRES_URL}, and no initdb was found in /usr/lib/postgresql/*/bin or on PATH ` +
      '(install PostgreSQL, e.g. apt-get install postgresql, or set STRATA_TEST_PG_BIN)',
  );
}

const asRoot = (): boolean => process.getuid?.() === 0;

/** argv that runs `command` as the postgres user when we are root (initdb refuses root). */
function asPostgres(command: string, args: string[]): [string, string[]] {
  return asRoot() ? ['runuser', ['-u', 'postgres', '--', command, ...args]] : [command, args];
}

async function runPg(bin: string, tool: string, args: string[]): Promise<void> {
  const [command, argv] = asPostgres(path.join(bin, tool), args);
  try {
    await run(command, argv, { timeout: 120_000 });
  } catch (err) {
    const e = err as { stderr?: string; stdout?: string; message: string };
    throw new Error(`${tool} ${args.join(' ')} failed: ${(e.stderr || e.stdout || e.message).trim()}`);
  }
}

/**
 * Creates (initdb) and starts a private PostgreSQL on a free port in a new temporary directory,
 * with trust authentication for `postgres` on 127.0.0.1 and a database `database` (default `test`).
 * `auth: 'scram'` checks passwords over TCP instead (SCRAM-SHA-256 for every role, the superuser's
 * password in the URL): what tests of roles and passwords need, since trust lets anyone in.
 * Call remove() when done; a process that exits without it stops the server on its way out.
 */
export async function privatePostgres(
  options: { database?: string; auth?: 'trust' | 'scram' } = {},
): Promise<PrivatePostgres> {
  const database = options.database ?? 'test';
  const scram = options.auth === 'scram';
  const superPassword = scram ? `pw-${Math.random().toString(36).slice(2)}${Date.now().toString(36)}` : '';
  const bin = postgresBin();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-test-pg-'));
  if (asRoot()) {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
    fs.chownSync(dir, uid, gid);
  }
  const dataDir = path.join(dir, 'data');
  const logFile = path.join(dir, 'postgres.log');
  const pwFile = path.join(dir, 'superuser.pw');
  if (scram) {
    fs.writeFileSync(pwFile, `${superPassword}\n`, { mode: 0o600 });
    if (asRoot()) fs.chownSync(pwFile, fs.statSync(dir).uid, fs.statSync(dir).gid);
  }
  await runPg(bin, 'initdb', [
    '-D',
    dataDir,
    '-U',
    'postgres',
    ...(scram ? ['--auth-local=trust', '--auth-host=scram-sha-256', `--pwfile=${pwFile}`] : ['--auth=trust']),
    '-E',
    'UTF8',
    '--no-sync',
  ]);
  if (scram) fs.rmSync(pwFile, { force: true });

  let port = await freePort();
  let running = false;
  const pgCtl = (args: string[]) => runPg(bin, 'pg_ctl', ['-D', dataDir, ...args]);
  // On the way out of a process that never called remove(): a server left running would outlive it.
  const stopOnExit = (): void => {
    if (!running) return;
    const [command, argv] = asPostgres(path.join(bin, 'pg_ctl'), ['-D', dataDir, '-m', 'immediate', 'stop']);
    try {
      execFileSync(command, argv, { stdio: 'ignore', timeout: 10_000 });
    } catch {
      /* already gone */
    }
  };
  process.on('exit', stopOnExit);

  const start = async (): Promise<void> => {
    if (running) return;
    const options = `-p ${port} -k '${dir}' -c listen_addresses=127.0.0.1`;
    await pgCtl(['-l', logFile, '-o', options, '-w', '-t', '60', 'start']);
    running = true;
  };
  const stop = async (mode: 'fast' | 'immediate' = 'fast'): Promise<void> => {
    if (!running) return;
    await pgCtl(['-m', mode, '-w', '-t', '60', 'stop']);
    running = false;
  };

  // The free port can be taken between freePort() and the server's bind: try another one.
  for (let attempt = 1; ; attempt++) {
    try {
      await start();
      break;
    } catch (err) {
      if (attempt >= 3) throw err;
      port = await freePort();
    }
  }
  const client = new Client({
    host: '127.0.0.1',
    port,
    user: 'postgres',
    database: 'postgres',
    ...(scram ? { password: superPassword } : {}),
  });
  await client.connect();
  try {
    await client.query(`CREATE DATABASE "${database}"`);
  } finally {
    await client.end();
  }

  return {
    url: `postgres://postgres${scram ? `:${superPassword}` : ''}@127.0.0.1:${port}/${database}`,
    port,
    dir,
    start,
    stop,
    restart: async () => {
      await stop();
      await start();
    },
    remove: async () => {
      try {
        await stop();
      } finally {
        process.off('exit', stopOnExit);
        fs.rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}

/** Whether a PostgreSQL answers a query at `url` within a few seconds. */
export async function postgresAnswers(url: string): Promise<boolean> {
  const client = new Client({ connectionString: url, connectionTimeoutMillis: 3_000 });
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

/**
 * The PostgreSQL a test file uses, ready in its tests (not at import time): the one at
 * STRATA_TEST_POSTGRES_URL, or at postgres://postgres@127.0.0.1:5432/test when that variable is
 * unset and something answers there; otherwise a private one, started before the file's tests and
 * removed after them. STRATA_TEST_POSTGRES_URL=private always starts a private one. A URL set
 * explicitly that does not answer is an error, not a reason to start another server.
 */
export function testPostgres(): { readonly url: string } {
  let url: string | undefined;
  let server: PrivatePostgres | undefined;
  beforeAll(async () => {
    const explicit = process.env.STRATA_TEST_POSTGRES_URL;
    if (explicit && explicit !== 'private') {
      if (!(await postgresAnswers(explicit))) {
        throw new Error(`STRATA_TEST_POSTGRES_URL=${explicit}: no PostgreSQL answers there`);
      }
      url = explicit;
    } else if (!explicit && (await postgresAnswers(DEFAULT_TEST_POSTGRES_URL))) {
      url = DEFAULT_TEST_POSTGRES_URL;
    } else {
      server = await privatePostgres();
      url = server.url;
    }
  }, 120_000);
  afterAll(async () => {
    await server?.remove();
  }, 60_000);
  return {
    get url(): string {
      if (url === undefined) throw new Error('testPostgres().url is ready in tests and hooks, not at import time');
      return url;
    },
  };
}
