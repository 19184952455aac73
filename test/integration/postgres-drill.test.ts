// `strata drill run` on a postgres layer, through the real drill workflow: a private PostgreSQL
// that checks passwords (SCRAM), a real promotion into a `provider: { type: postgres }` layer, the
// drill's writer as its own process writing through the environment's login, the fault done with
// SQL as the admin role, pg_dump / pg_restore, and the report's RTO and RPO measured. And the
// server-killed scenario on that private cluster: its postmaster SIGKILLed under writes, started
// again with pg_ctl (crash recovery), no acknowledged write lost.

import fs from 'node:fs';
import path from 'node:path';
import { Client } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseLadder } from '../../src/config/ladder';
import { postgresServerOf } from '../../src/domain/ladder';
import { snapshotTables } from '../../src/drills';
import { PG_WRITES_TABLE, snapshotPostgres } from '../../src/drills/postgres';
import { readCredentials } from '../../src/providers/postgres';
import {
  killPostgresServer,
  readPostmasterPid,
  startPostgresServer,
  verifiedPostmaster,
} from '../../src/drills/postgres-server';
import { drillHistory, runDrill } from '../../src/temporal/drills';
import { startPromotion, waitForResult } from '../../src/temporal/promotions';
import { runStrata } from '../helpers/cli';
import { artifactsOf, workerSuite } from '../helpers/harness';
import { exampleCandidate } from '../helpers/ladders';
import { type PrivatePostgres, privatePostgres } from '../helpers/postgres';

const ADMIN_VAR = 'STRATA_TEST_PG_DRILL_ADMIN';
let server: PrivatePostgres;

async function query<T = Record<string, unknown>>(url: string, sql: string): Promise<T[]> {
  const client = new Client({ connectionString: url, connectionTimeoutMillis: 5_000 });
  client.on('error', () => undefined);
  await client.connect();
  try {
    return (await client.query(sql)).rows as T[];
  } finally {
    await client.end();
  }
}

beforeAll(async () => {
  server = await privatePostgres({ auth: 'scram', database: 'postgres_drill_test' });
  const admin = new URL(server.url);
  admin.pathname = '/postgres';
  process.env[ADMIN_VAR] = admin.toString();
}, 180_000);

afterAll(async () => {
  try {
    await server?.remove();
  } finally {
    delete process.env[ADMIN_VAR];
  }
}, 120_000);

describe('strata drill run on a postgres layer (real Temporal, real PostgreSQL, real processes)', () => {
  const suite = workerSuite('pgdrill');
  const ladder = parseLadder(
    `
name: pg-drill-ladder
layers:
  - name: mirror
    seed: { rows: 600, seed: 9 }
    gates: [ { type: schema } ]
    approval: auto
    provider: { type: postgres, url: "env:${ADMIN_VAR}" }
    drills:
      table-dropped: { rto: 60s, rpo: 5s }
      database-removed: { rto: 60s, rpo: 5s }
      rows-corrupted: { rto: 60s, rpo: 5s }
      process-killed: { rto: 60s, rpo: 0s }
`,
    'pg-drill-ladder.yaml',
  );
  const mirror = ladder.layers[0];

  it('drills the PostgreSQL database (not the SQLite file): table dropped, database removed, rows corrupted (pg_restore) and process killed, RTO and RPO measured', async () => {
    const promotion = await startPromotion(suite.client, {
      ladder,
      layers: ladder.layers,
      candidate: await exampleCandidate('fraud-v1'),
      initiator: 'dana',
      taskQueue: suite.taskQueue,
      artifacts: artifactsOf(suite.home),
    });
    expect((await waitForResult(suite.client, promotion)).state).toBe('promoted');
    const provider = suite.worker.provider;
    const url = provider.databaseUrl('mirror')!;
    const rows = async () => (await query<{ n: number }>(url, 'SELECT count(*)::int AS n FROM transactions'))[0].n;
    expect(await rows()).toBe(600);
    const before = await snapshotPostgres(url);
    const sqliteFile = (await provider.describe('mirror'))!.dbPath;
    const sqliteBefore = await snapshotTables(sqliteFile);

    for (const scenario of ['table-dropped', 'database-removed', 'rows-corrupted', 'process-killed'] as const) {
      const report = await runDrill(suite.client, suite.taskQueue, {
        layer: mirror,
        ladder,
        scenario,
        requestedBy: 'erin',
      });
      expect(report.evidence.verification.problems, scenario).toEqual([]);
      expect(report.evidence.verification.ok, scenario).toBe(true);
      expect(report.verdict.met, scenario).toBe(true);
      expect(report.measurement.rtoMs, scenario).toBeGreaterThan(0);
      expect(report.measurement.rtoMs, scenario).toBeLessThan(60_000);
      expect(report.backup.file, scenario).toMatch(/\.dump$/);
      expect(report.backup.lastWriteSeq, scenario).not.toBeNull();
      expect(report.evidence.verification.tablesChecked, scenario).toContain('transactions');
      expect(Date.parse(report.timeline.injectedAt)).toBeGreaterThan(Date.parse(report.timeline.backupAt));
      const recovery = report.evidence.recovery.join(' ');
      if (scenario === 'process-killed') {
        // Nothing restored: no acknowledged write may be lost.
        expect(report.evidence.detected.join(' ')).toMatch(/candidate \S+\/health (does not answer|answered 5)/);
        expect(recovery).not.toContain('pg_restore');
        expect(recovery).toContain('restarted 1.0.0');
        expect(report.measurement.writesLost).toBe(0);
        expect(report.measurement.rpoMs).toBe(0);
      } else {
        // The writer kept writing for 600 ms after pg_dump: the restore really lost those writes.
        expect(report.measurement.writesLost, scenario).toBeGreaterThan(0);
        expect(report.measurement.rpoMs, scenario).toBeGreaterThan(0);
        expect(report.measurement.rpoMs, scenario).toBeLessThan(5_000);
        expect(report.evidence.writer.acknowledged, scenario).toBeGreaterThan(report.measurement.writesLost);
        expect(recovery, scenario).toContain('with pg_restore');
      }
      if (scenario === 'table-dropped') {
        expect(report.evidence.injection.detail).toBe('dropped table transactions (600 rows)');
        expect(report.evidence.detected.join(' ')).toContain('table transactions is missing');
      } else if (scenario === 'database-removed') {
        expect(report.evidence.injection.detail).toMatch(/^dropped database strata_/);
        expect(report.evidence.detected.join(' ')).toMatch(/database strata_\S+ cannot be read/);
        expect(recovery).toContain('recreated database');
      } else if (scenario === 'rows-corrupted') {
        expect(report.evidence.injection.detail).toMatch(/^overwrote \d+ of 600 rows of transactions/);
        expect(report.evidence.detected.join(' ')).toContain('table transactions content differs');
      }
      // The database holds its rows again, the same ones, and the writes the backup held.
      expect(await rows(), scenario).toBe(600);
      expect(await snapshotPostgres(url), scenario).toEqual(before);
      const kept = await query<{ max: string }>(url, `SELECT max(seq) AS max FROM ${PG_WRITES_TABLE}`);
      expect(Number(kept[0].max), scenario).toBeGreaterThanOrEqual(report.backup.lastWriteSeq!);
      // The saved report and the workflow's history carry no password.
      const secrets = [
        decodeURIComponent(new URL(server.url).password),
        readCredentials(path.join(provider.envsDir, 'mirror'))!.roles.a.password!,
      ];
      const history = JSON.stringify(await suite.client.workflow.getHandle(report.id).fetchHistory());
      const saved = fs.readFileSync(report.files.jsonFile, 'utf8') + fs.readFileSync(report.files.markdownFile, 'utf8');
      for (const secret of secrets) {
        expect(history).not.toContain(secret);
        expect(saved).not.toContain(secret);
      }
    }
    // The SQLite file the environment was seeded from was not touched by either drill.
    expect(await snapshotTables(sqliteFile)).toEqual(sqliteBefore);
  });
  it('server-killed: SIGKILLs the verified postmaster under writes, starts it again with pg_ctl (crash recovery), RTO measured, RPO 0; refused at `drill run` without provider.server', async () => {
    const dataDir = path.join(server.dir, 'data');
    const before = verifiedPostmaster(dataDir);
    expect(before?.port).toBe(server.port);

    // Without provider.server: refused at the command line, exit 2, naming the field; nothing started.
    const ladderFile = path.join(suite.home, 'pg-no-server.yaml');
    fs.writeFileSync(
      ladderFile,
      `name: pg-no-server\nlayers:\n  - name: mirror\n    seed: { rows: 600, seed: 9 }\n    gates: [ { type: schema } ]\n` +
        `    approval: auto\n    provider: { type: postgres, url: "env:${ADMIN_VAR}" }\n    drills:\n      table-dropped: { rto: 60s, rpo: 5s }\n`,
    );
    const refused = await runStrata(
      ['drill', 'run', '--ladder', ladderFile, '--layer', 'mirror', '--scenario', 'server-killed'],
      suite,
    );
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain(`${ladderFile}: layers[0].provider.server: layer mirror: scenario server-killed`);
    expect(refused.stderr).toContain('provider.server: { dataDir:');
    expect(await drillHistory(suite.client, suite.taskQueue, 'mirror')).not.toContainEqual(
      expect.objectContaining({ scenario: 'server-killed' }),
    );
    expect(verifiedPostmaster(dataDir)).toEqual(before);

    // With it (the data directory only: user, pg_ctl and options are found from it).
    const killLadder = parseLadder(
      `
name: pg-kill-ladder
layers:
  - name: mirror
    seed: { rows: 600, seed: 9 }
    gates: [ { type: schema } ]
    approval: auto
    provider: { type: postgres, url: "env:${ADMIN_VAR}", server: { dataDir: "${dataDir}" } }
    drills:
      server-killed: { rto: 60s, rpo: 0s }
`,
      'pg-kill-ladder.yaml',
    );
    const layer = killLadder.layers[0];
    const promotion = await startPromotion(suite.client, {
      ladder: killLadder,
      layers: killLadder.layers,
      candidate: await exampleCandidate('fraud-v1'),
      initiator: 'dana',
      taskQueue: suite.taskQueue,
      artifacts: artifactsOf(suite.home),
    });
    expect((await waitForResult(suite.client, promotion)).state).toBe('promoted');
    const provider = suite.worker.provider;
    const url = provider.databaseUrl('mirror')!;
    const snapshot = await snapshotPostgres(url);

    const report = await runDrill(suite.client, suite.taskQueue, {
      layer,
      ladder: killLadder,
      scenario: 'server-killed',
      requestedBy: 'erin',
    });
    const figures = {
      rtoMs: report.measurement.rtoMs,
      rpoMs: report.measurement.rpoMs,
      writesLost: report.measurement.writesLost,
      acknowledged: report.evidence.writer.acknowledged,
      failedAttempts: report.evidence.writer.errors,
      detectedMs: Date.parse(report.timeline.detectedAt) - Date.parse(report.timeline.injectedAt),
      recoveredMs: Date.parse(report.timeline.recoveredAt) - Date.parse(report.timeline.injectedAt),
    };
    console.log(`server-killed drill: ${JSON.stringify(figures)}; recovery: ${report.evidence.recovery.join('; ')}`);
    expect(report.evidence.verification.problems).toEqual([]);
    expect(report.verdict.met).toBe(true);
    expect(report.evidence.injection.detail).toBe(
      `SIGKILL sent to the PostgreSQL postmaster (pid ${before!.pid}, data directory ${dataDir}); it exited`,
    );
    expect(report.evidence.detected.join(' ')).toMatch(/database strata_\S+ cannot be read/);
    const recovery = report.evidence.recovery.join(' ');
    expect(recovery).toMatch(
      /^started the PostgreSQL server with pg_ctl as \S+ \(pid \d+\); accepting connections after \d+ ms; crash recovery/,
    );
    expect(recovery).not.toContain('pg_restore');
    // Every acknowledged write survived the crash (fsync on: WAL replay), and the writer went on after it.
    expect(report.measurement.writesLost).toBe(0);
    expect(report.measurement.rpoMs).toBe(0);
    expect(report.evidence.verification.writesLostAfterInjection).toBe(0);
    expect(report.evidence.writer.errors).toBeGreaterThan(0); // writes failed while the server was down
    expect(Date.parse(report.evidence.writer.lastAt!)).toBeGreaterThan(Date.parse(report.timeline.recoveredAt));
    expect(report.measurement.rtoMs).toBeGreaterThan(0);
    expect(report.measurement.rtoMs).toBeLessThan(60_000);
    expect(report.timeline.verifiedAt >= report.timeline.recoveredAt).toBe(true);
    expect(fs.readFileSync(report.files.markdownFile, 'utf8')).toContain(
      '(not restored: server-killed recovers without it)',
    );

    // A new postmaster, on the same port, with the same data.
    const after = verifiedPostmaster(dataDir);
    expect(after).not.toBeNull();
    expect(after!.pid).not.toBe(before!.pid);
    expect(after!.port).toBe(server.port);
    expect(await snapshotPostgres(url)).toEqual(snapshot);
    expect((await query<{ n: number }>(url, 'SELECT count(*)::int AS n FROM transactions'))[0].n).toBe(600);

    // Retried steps do nothing harmful: the recovery finds the server up and starts nothing; the
    // injection finds its record (the postmaster it killed is gone) and signals no one.
    const adminUrl = process.env[ADMIN_VAR]!;
    const again = await startPostgresServer(postgresServerOf(layer)!, adminUrl);
    expect(again).toMatchObject({ started: false, pid: after!.pid });
    const record = path.join(path.dirname(report.files.jsonFile), 'server-kill.json');
    const retried = await killPostgresServer({ dataDir }, adminUrl, record);
    expect(retried.injectedAt).toBe(report.timeline.injectedAt);
    expect(verifiedPostmaster(dataDir)).toEqual(after);
    expect(readPostmasterPid(dataDir)?.pid).toBe(after!.pid);

    // No password in the history or the report.
    const secrets = [
      decodeURIComponent(new URL(server.url).password),
      readCredentials(path.join(provider.envsDir, 'mirror'))!.roles.a.password!,
    ];
    // Payloads decoded: a secret would be in them as text, not as a base64 substring.
    const history = JSON.stringify(await suite.client.workflow.getHandle(report.id).fetchHistory()).replace(
      /"data":"([A-Za-z0-9+/=]+)"/g,
      (_, b64: string) => JSON.stringify(Buffer.from(b64, 'base64').toString('utf8')),
    );
    expect(history).toContain('"id\\":\\"drill-server-killed\\"'); // the patch marker
    expect(history).toContain(dataDir); // the layer's provider.server, handed to the steps
    const saved = fs.readFileSync(report.files.jsonFile, 'utf8') + fs.readFileSync(report.files.markdownFile, 'utf8');
    for (const secret of secrets) {
      expect(history).not.toContain(secret);
      expect(saved).not.toContain(secret);
    }
  });
});
