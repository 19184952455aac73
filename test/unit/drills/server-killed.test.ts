// The server-killed scenario without a server: the ladder's `provider.server` (validated at load,
// naming the field), the scenario refused on a layer without it, and the postmaster check that
// never lets a pid from postmaster.pid be signalled unless it is that postmaster.

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseLadder } from '../../../src/config/ladder';
import { DRILL_SCENARIOS, restoresBackup, scenarioConfigProblem } from '../../../src/domain/drill';
import { postgresServerOf } from '../../../src/domain/ladder';
import { killPostgresServer, readPostmasterPid, verifiedPostmaster } from '../../../src/drills/postgres-server';
import { processAlive } from '../../../src/tools/processes';
import { ConfigError } from '../../../src/validation/errors';

function ladderWith(provider: string, drills = ''): string {
  return `
name: pg
layers:
  - name: mirror
    seed: { rows: 10, seed: 1 }
    gates: []
    approval: auto
    provider: ${provider}
${drills ? `    drills: ${drills}\n` : ''}`;
}

function issuesOf(text: string): string[] {
  try {
    parseLadder(text, '/tmp/ladders/pg.yaml');
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).issues.map((i) => `${i.path}: ${i.message}`);
  }
  throw new Error('expected a ConfigError');
}

describe('provider.server in the ladder', () => {
  it('takes a server section with its data directory and optional pg_ctl, user and log file', () => {
    const ladder = parseLadder(
      ladderWith(
        '{ type: postgres, url: "env:PG", server: { dataDir: /var/lib/postgresql/16/main, pgCtl: /usr/lib/postgresql/16/bin/pg_ctl, user: postgres, logFile: /var/log/pg.log } }',
        '{ server-killed: { rto: 60s, rpo: 0s } }',
      ),
      'l.yaml',
    );
    expect(ladder.layers[0].provider).toEqual({
      type: 'postgres',
      url: 'env:PG',
      server: {
        dataDir: '/var/lib/postgresql/16/main',
        pgCtl: '/usr/lib/postgresql/16/bin/pg_ctl',
        user: 'postgres',
        logFile: '/var/log/pg.log',
      },
    });
    expect(postgresServerOf(ladder.layers[0])).toEqual(
      expect.objectContaining({ dataDir: '/var/lib/postgresql/16/main' }),
    );
    expect(ladder.layers[0].drills?.['server-killed']).toEqual({ rto: '60s', rpo: '0s' });
    const minimal = parseLadder(
      ladderWith('{ type: postgres, url: "env:PG", server: { dataDir: /srv/pg } }'),
      'l.yaml',
    );
    expect(postgresServerOf(minimal.layers[0])).toEqual({ dataDir: '/srv/pg' });
  });

  it('refuses bad server sections, naming the field', () => {
    expect(issuesOf(ladderWith('{ type: postgres, url: "env:PG", server: { dataDir: pgdata } }'))).toEqual([
      `layers[0].provider.server.dataDir: expected the absolute path of the cluster's data directory on the worker's machine, got "pgdata"`,
    ]);
    expect(issuesOf(ladderWith('{ type: postgres, url: "env:PG", server: {} }'))[0]).toMatch(
      /^layers\[0\]\.provider\.server\.dataDir: missing; expected the absolute path/,
    );
    expect(issuesOf(ladderWith('{ type: postgres, url: "env:PG", server: /srv/pg }'))[0]).toMatch(
      /^layers\[0\]\.provider\.server: expected a mapping \{ dataDir, pgCtl\?, user\?, logFile\? \}/,
    );
    expect(
      issuesOf(ladderWith('{ type: postgres, url: "env:PG", server: { dataDir: /srv/pg, user: "root; rm -rf /" } }')),
    ).toEqual([
      'layers[0].provider.server.user: expected the name of the OS user that runs the server, e.g. postgres, got "root; rm -rf /"',
    ]);
    expect(
      issuesOf(ladderWith('{ type: postgres, url: "env:PG", server: { dataDir: /srv/pg, pgCtl: bin/pg_ctl } }'))[0],
    ).toMatch(/^layers\[0\]\.provider\.server\.pgCtl: expected the absolute path of pg_ctl/);
    expect(
      issuesOf(ladderWith('{ type: postgres, url: "env:PG", server: { dataDir: /srv/pg, port: 5432 } }')).join('\n'),
    ).toMatch(/^layers\[0\]\.provider\.server.*port/);
    // Only a postgres provider has a server.
    expect(issuesOf(ladderWith('{ type: local, server: { dataDir: /srv/pg } }'))[0]).toMatch(/^layers\[0\]\.provider/);
  });

  it('refuses a server-killed objective on a layer without provider.server', () => {
    const issues = issuesOf(
      ladderWith('{ type: postgres, url: "env:PG" }', '{ server-killed: { rto: 60s, rpo: 0s } }'),
    );
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatch(
      /^layers\[0\]\.drills\.server-killed: scenario server-killed kills the layer's PostgreSQL server/,
    );
    expect(issues[0]).toContain('provider.server: { dataDir: /path/to/data }');
    // And on a local layer, which has no server at all.
    const local = issuesOf(`
name: pg
layers:
  - name: sandbox
    seed: { rows: 10, seed: 1 }
    gates: []
    approval: auto
    drills: { server-killed: { rto: 60s, rpo: 0s } }
`);
    expect(local[0]).toMatch(/^layers\[0\]\.drills\.server-killed: scenario server-killed/);
    // The other scenarios need nothing of the kind.
    expect(() =>
      parseLadder(
        ladderWith('{ type: postgres, url: "env:PG" }', '{ table-dropped: { rto: 60s, rpo: 5s } }'),
        'l.yaml',
      ),
    ).not.toThrow();
  });

  it('is a drill scenario that restores no backup, refused for a provider without a server', () => {
    expect(DRILL_SCENARIOS).toContain('server-killed');
    expect(restoresBackup('server-killed')).toBe(false);
    expect(restoresBackup('table-dropped')).toBe(true);
    expect(scenarioConfigProblem('server-killed', { type: 'postgres', server: { dataDir: '/x' } })).toBeUndefined();
    expect(scenarioConfigProblem('server-killed', { type: 'postgres' })).toMatch(/provider\.server/);
    expect(scenarioConfigProblem('server-killed', undefined)).toMatch(/provider\.server/);
    expect(scenarioConfigProblem('table-dropped', undefined)).toBeUndefined();
  });
});

describe('the postmaster check: never signal an unverified pid', () => {
  const dirs: string[] = [];
  const children: number[] = [];
  afterEach(() => {
    for (const pid of children.splice(0)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
    for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
  });

  /** A data directory whose postmaster.pid names `pid`, started at `startedAt` (epoch s), on `port`. */
  function fakeDataDir(pid: number, startedAt: number, port = 5432): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-fake-pgdata-'));
    dirs.push(dir);
    fs.writeFileSync(
      path.join(dir, 'postmaster.pid'),
      [pid, dir, startedAt, port, '/tmp', '127.0.0.1', '  1234   5678', 'ready   ', ''].join('\n'),
    );
    return dir;
  }

  it('reads postmaster.pid as PostgreSQL writes it', () => {
    const dir = fakeDataDir(4242, 1_700_000_000, 5433);
    expect(readPostmasterPid(dir)).toEqual({
      pid: 4242,
      dataDir: dir,
      startedAt: 1_700_000_000,
      port: 5433,
      socketDir: '/tmp',
      status: 'ready',
    });
    expect(readPostmasterPid(path.join(dir, 'nowhere'))).toBeNull();
  });

  it('does not take a live process that is not postgres for the postmaster, and does not signal it', async () => {
    const sleeper = spawn('sleep', ['60'], { stdio: 'ignore' });
    children.push(sleeper.pid!);
    const dir = fakeDataDir(sleeper.pid!, Math.floor(Date.now() / 1000));
    expect(verifiedPostmaster(dir)).toBeNull();
    await expect(
      killPostgresServer({ dataDir: dir }, 'postgres://u@127.0.0.1:5432/postgres', path.join(dir, 'kill.json')),
    ).rejects.toThrow(/no PostgreSQL server is running in provider\.server\.dataDir/);
    expect(processAlive(sleeper.pid!)).toBe(true);
    expect(fs.existsSync(path.join(dir, 'kill.json'))).toBe(false);
  });

  it('treats a stale postmaster.pid (no such process) as a server that is down', () => {
    const dir = fakeDataDir(2 ** 22 + 4321, Math.floor(Date.now() / 1000));
    expect(verifiedPostmaster(dir)).toBeNull();
  });
});
