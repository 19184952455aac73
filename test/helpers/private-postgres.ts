// A private PostgreSQL server for tests: initdb + pg_ctl from Debian's binaries, on a free port
// under a temporary directory, so a test can stop and restart it without touching the machine's
// own server. As root, the server runs as the `postgres` user (initdb refuses root).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../../src/providers/local';

export interface PrivatePostgres {
  /** postgres://strata:strata@127.0.0.1:<port>/postgres */
  url: string;
  port: number;
  dir: string;
  start(): Promise<void>;
  /** Fast shutdown (pg_ctl -m fast); the data directory stays. */
  stop(): Promise<void>;
  restart(): Promise<void>;
  /** Stops the server and removes its directory. */
  destroy(): Promise<void>;
}

function pgBin(name: string): string {
  const root = '/usr/lib/postgresql';
  const versions = fs.existsSync(root)
    ? fs
        .readdirSync(root)
        .filter((v) => fs.existsSync(path.join(root, v, 'bin', name)))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  if (versions.length === 0) throw new Error(`no PostgreSQL ${name} under ${root}/*/bin (apt-get install postgresql)`);
  return path.join(root, versions[0], 'bin', name);
}

const asRoot = process.getuid?.() === 0;

function run(bin: string, args: string[]): void {
  const [cmd, argv] = asRoot ? ['runuser', ['-u', 'postgres', '--', bin, ...args]] : [bin, args];
  execFileSync(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'], cwd: '/' });
}

/** Creates (but does not start) a private server: a fresh data directory and a free port. */
export async function privatePostgres(): Promise<PrivatePostgres> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-pg-'));
  if (asRoot) execFileSync('chown', ['postgres:postgres', dir]);
  const data = path.join(dir, 'data');
  const log = path.join(dir, 'postgres.log');
  const port = await freePort();
  const pwfile = path.join(dir, 'pw');
  fs.writeFileSync(pwfile, 'strata\n', { mode: 0o600 });
  if (asRoot) execFileSync('chown', ['postgres:postgres', pwfile]);
  run(pgBin('initdb'), ['-D', data, '-U', 'strata', '--pwfile', pwfile, '-A', 'scram-sha-256', '-E', 'UTF8']);
  fs.appendFileSync(
    path.join(data, 'postgresql.conf'),
    `\nport = ${port}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '${dir}'\nmax_connections = 200\nfsync = off\n`,
  );
  let running = false;
  const pg: PrivatePostgres = {
    url: `postgres://strata:strata@127.0.0.1:${port}/postgres`,
    port,
    dir,
    async start() {
      run(pgBin('pg_ctl'), ['-D', data, '-l', log, '-w', '-t', '60', 'start']);
      running = true;
    },
    async stop() {
      if (!running) return;
      run(pgBin('pg_ctl'), ['-D', data, '-m', 'fast', '-w', '-t', '60', 'stop']);
      running = false;
    },
    async restart() {
      await pg.stop();
      await pg.start();
    },
    async destroy() {
      try {
        await pg.stop();
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    },
  };
  return pg;
}
