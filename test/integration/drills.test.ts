import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { parseLadder } from '../../src/config/ladder';
import { drillHistory, runDrill } from '../../src/temporal/drills';
import { startPromotion, waitForResult } from '../../src/temporal/promotions';
import { artifactsOf, ROOT, temporalAddress, workerSuite } from '../helpers/harness';
import { exampleCandidate } from '../helpers/ladders';

const suite = workerSuite('drill');
let client: Client;
let home: string;
let taskQueue: string;
let ladderFile: string;

const LADDER = `
name: drill-ladder
layers:
  - name: mirror
    seed: { rows: 1000, seed: 5 }
    gates:
      - { type: quality, threshold: 0.78 }
      - { type: drill-passed-within, options: { within: 7d } }
    approval: auto
    drills:
      table-dropped: { rto: 60s, rpo: 5s }
      database-removed: { rto: 60s, rpo: 5s }
      rows-corrupted: { rto: 60s, rpo: 5s }
      process-killed: { rto: 1ms, rpo: 0s }
      dependency-down: { rto: 30s, rpo: 0s }
`;
const ladder = parseLadder(LADDER, 'drill-ladder.yaml');
const mirror = ladder.layers[0];

function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const env = {
    ...process.env,
    TEMPORAL_ADDRESS: temporalAddress(),
    TEMPORAL_NAMESPACE: inject('namespace'),
    STRATA_TASK_QUEUE: taskQueue,
    STRATA_HOME: home,
    STRATA_LOG_LEVEL: 'warn',
  };
  return new Promise((resolve) => {
    execFile(path.join(ROOT, 'bin/strata'), args, { env }, (err, stdout, stderr) =>
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

beforeAll(() => {
  ({ client, home, taskQueue } = suite);
  ladderFile = path.join(home, 'ladder.yaml');
  fs.writeFileSync(ladderFile, LADDER);
});

afterAll(async () => {
  for await (const s of client.schedule.list()) {
    if (s.scheduleId.startsWith(`${taskQueue}.`)) await client.schedule.getHandle(s.scheduleId).delete();
  }
});

describe('DR drills (real dev server, real processes, real SQLite)', () => {
  it('refuses bad input before anything starts: exit 2', async () => {
    const noEnv = await cli([
      'drill',
      'run',
      '--ladder',
      ladderFile,
      '--layer',
      'mirror',
      '--scenario',
      'table-dropped',
    ]);
    expect(noEnv.code).toBe(2);
    expect(noEnv.stderr).toContain('mirror has no environment with a database to back up and drill');
    const unknown = await cli(['drill', 'run', '--ladder', ladderFile, '--layer', 'mirror', '--scenario', 'meteor']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('unknown scenario "meteor"');
    const cron = await cli([
      'drill',
      'schedule',
      '--ladder',
      ladderFile,
      '--layer',
      'mirror',
      '--scenario',
      'table-dropped',
      '--cron',
      '61 * *',
    ]);
    expect(cron.code).toBe(2);
    expect(cron.stderr).toContain('--cron: expected five fields');
    expect(fs.existsSync(path.join(home, 'drills'))).toBe(false);
  });

  it('bootstraps the first promotion, then requires a recent passing drill', async () => {
    const v1 = await startPromotion(client, {
      ladder,
      layers: ladder.layers,
      candidate: await exampleCandidate('fraud-v1'),
      initiator: 'dana',
      taskQueue,
      artifacts: artifactsOf(home),
    });
    const first = await waitForResult(client, v1);
    expect(first.state).toBe('promoted');
    expect(first.layers[0].gates[1]).toMatchObject({
      name: 'drill-passed-within',
      passed: true,
      detail: expect.stringContaining('bootstrap'),
    });

    const v2 = await startPromotion(client, {
      ladder,
      layers: ladder.layers,
      candidate: await exampleCandidate('fraud-v2'),
      initiator: 'dana',
      taskQueue,
      artifacts: artifactsOf(home),
    });
    const second = await waitForResult(client, v2);
    expect(second.state).toBe('failed');
    expect(second.reason).toContain('gate drill-passed-within failed: nothing measured');
    expect(second.layers[0].running).toBe('1.0.0'); // rolled back
  });

  it('meets a 60 s RTO with measured figures, and passes the gate afterwards', async () => {
    const report = await runDrill(client, taskQueue, {
      layer: mirror,
      ladder,
      scenario: 'table-dropped',
      requestedBy: 'erin',
    });
    expect(report.verdict.met).toBe(true);
    expect(report.verdict.rto).toMatchObject({ objectiveMs: 60_000, met: true });
    expect(report.measurement.rtoMs).toBeGreaterThan(0);
    expect(report.measurement.rtoMs).toBeLessThan(60_000);
    // The writer kept writing after the backup: the restore really lost a window of writes.
    expect(report.measurement.writesLost).toBeGreaterThan(0);
    expect(report.measurement.rpoMs).toBeGreaterThan(0);
    expect(report.measurement.rpoMs).toBeLessThan(5_000);
    expect(report.evidence.detected.join(' ')).toContain('transactions');
    expect(report.evidence.verification.ok).toBe(true);
    expect(Date.parse(report.timeline.injectedAt)).toBeGreaterThan(Date.parse(report.timeline.backupAt));
    const md = fs.readFileSync(report.files.markdownFile, 'utf8');
    expect(md).toContain('table-dropped');
    expect(JSON.parse(fs.readFileSync(report.files.jsonFile, 'utf8')).verdict.met).toBe(true);

    const v2 = await startPromotion(client, {
      ladder,
      layers: ladder.layers,
      candidate: await exampleCandidate('fraud-v2'),
      initiator: 'dana',
      taskQueue,
      artifacts: artifactsOf(home),
    });
    const result = await waitForResult(client, v2);
    expect(result.state).toBe('promoted');
    expect(result.layers[0].gates[1]).toMatchObject({ passed: true, detail: expect.stringContaining(report.id) });
  });

  it('reports a 1 ms RTO objective as breached, with the measured figure (exit 1)', async () => {
    const run = await cli([
      'drill',
      'run',
      '--ladder',
      ladderFile,
      '--layer',
      'mirror',
      '--scenario',
      'process-killed',
      '--json',
    ]);
    expect(run.code).toBe(1);
    const report = JSON.parse(run.stdout);
    expect(report.verdict).toMatchObject({ met: false, rto: { objectiveMs: 1, met: false }, rpo: { met: true } });
    expect(report.measurement.rtoMs).toBeGreaterThan(1);
    expect(report.evidence.recovery.join(' ')).toContain('restarted 2.0.0');
  });

  it('recovers from a removed database file, corrupted rows and a dead dependency', async () => {
    for (const scenario of ['database-removed', 'rows-corrupted', 'dependency-down'] as const) {
      const report = await runDrill(client, taskQueue, { layer: mirror, ladder, scenario, requestedBy: 'erin' });
      expect(report.verdict.met, scenario).toBe(true);
      expect(report.evidence.verification.problems, scenario).toEqual([]);
      if (scenario === 'dependency-down') {
        expect(report.evidence.detected.join(' ')).toContain('feature-lookup dependency does not answer');
        expect(report.evidence.recovery.join(' ')).toContain('restarted the dependency (feature-service)');
        expect(report.measurement.writesLost).toBe(0);
      }
    }
  });

  it('fires a scheduled drill and lists its report in drill history', async () => {
    const created = await cli([
      'drill',
      'schedule',
      '--ladder',
      ladderFile,
      '--layer',
      'mirror',
      '--scenario',
      'table-dropped',
      '--every',
      '3s',
      '--json',
    ]);
    expect(created.code).toBe(0);
    const { id } = JSON.parse(created.stdout);
    const deadline = Date.now() + 45_000;
    let scheduled: Awaited<ReturnType<typeof drillHistory>> = [];
    while (Date.now() < deadline) {
      scheduled = (await drillHistory(client, taskQueue, 'mirror')).filter(
        // Its phase says met a moment before the workflow completes with its report: wait for both.
        (r) => r.id.startsWith(id) && r.phase === 'met' && r.report !== null,
      );
      if (scheduled.length > 0) break;
      await new Promise((r) => setTimeout(r, 1000));
    }
    expect(scheduled.length).toBeGreaterThan(0);
    expect((await cli(['drill', 'schedule', 'pause', id])).code).toBe(0);
    const ls = JSON.parse((await cli(['drill', 'schedule', 'ls', '--json'])).stdout);
    expect(ls.find((s: { id: string }) => s.id === id)).toMatchObject({
      layer: 'mirror',
      scenario: 'table-dropped',
      paused: true,
    });

    const history = await cli(['drill', 'history', '--layer', 'mirror']);
    expect(history.code).toBe(0);
    expect(history.stdout).toContain(scheduled[0].id);
    expect(history.stdout).toMatch(/breached/); // the process-killed drill above
    expect(fs.existsSync(scheduled[0].report!)).toBe(true);
    expect((await cli(['drill', 'schedule', 'delete', id])).code).toBe(0);
    expect((await cli(['drill', 'schedule', 'trigger', id])).code).toBe(1);
  });
});
