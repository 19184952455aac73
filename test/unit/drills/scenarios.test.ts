import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backupDatabase, snapshotTables } from '../../../src/drills/backup';
import { probeEnvironment, waitForDetection, waitForHealthy } from '../../../src/drills/detect';
import { DrillError } from '../../../src/drills/errors';
import { processAlive } from '../../../src/tools/processes';
import { restoreDatabase } from '../../../src/drills/restore';
import { assertScenario, injectFault } from '../../../src/drills/scenarios';
import { verifyRecovery } from '../../../src/drills/verify';
import { type Candidate, seededEnv, startCandidate, tempDir } from '../../helpers/drill-env';

let root: string;
const candidates: Candidate[] = [];
beforeAll(() => {
  root = tempDir('drill-scenarios');
});
afterAll(() => {
  for (const c of candidates) c.kill();
  fs.rmSync(root, { recursive: true, force: true });
});

const ROWS = 2000;

/** What each data scenario must have done to the database, checked directly. */
const broken = {
  'rows-corrupted': (dbPath: string) => {
    const db = new Database(dbPath, { readonly: true });
    const bad = db.prepare("SELECT count(*) FROM transactions WHERE amount = -1 AND channel = 'corrupt'").pluck().get();
    const total = db.prepare('SELECT count(*) FROM transactions').pluck().get();
    db.close();
    expect(total).toBe(ROWS);
    expect(bad).toBe(ROWS / 10);
  },
  'table-dropped': (dbPath: string) => {
    const db = new Database(dbPath, { readonly: true });
    const t = db.prepare("SELECT name FROM sqlite_master WHERE name = 'transactions'").get();
    db.close();
    expect(t).toBeUndefined();
  },
  'database-removed': (dbPath: string) => {
    expect(fs.existsSync(dbPath)).toBe(false);
  },
};

const detected = {
  'rows-corrupted': /table transactions content differs from the snapshot/,
  'table-dropped': /table transactions is missing/,
  'database-removed': /database file .* is missing/,
};

describe.each(['rows-corrupted', 'table-dropped', 'database-removed'] as const)('%s', (scenario) => {
  it('breaks the database, is detected, and a restore of the backup verifies against the snapshot', async () => {
    const { dbPath } = seededEnv(path.join(root, scenario), ROWS);
    const candidate = await startCandidate(dbPath);
    candidates.push(candidate);
    const snapshot = await snapshotTables(dbPath);
    const backup = await backupDatabase(dbPath, path.join(root, scenario, 'backups'));
    const probe = () => probeEnvironment({ dbPath, url: candidate.url, snapshot });
    expect(await probe()).toMatchObject({ healthy: true, problems: [] });

    const fault = await injectFault(scenario, { dbPath, pid: candidate.pid });
    expect(Date.parse(fault.injectedAt)).not.toBeNaN();
    expect(fault.detail).not.toBe('');
    broken[scenario](dbPath);

    const detection = await waitForDetection(probe, { timeoutMs: 2000, intervalMs: 20 });
    expect(detection.problems).toEqual([expect.stringMatching(detected[scenario])]); // the candidate itself is fine
    expect(Date.parse(detection.detectedAt)).toBeGreaterThanOrEqual(Date.parse(fault.injectedAt));

    await restoreDatabase(backup.file, dbPath);
    const { healthyAt } = await waitForHealthy(probe, { timeoutMs: 2000, intervalMs: 20 });
    expect(Date.parse(healthyAt)).toBeGreaterThanOrEqual(Date.parse(detection.detectedAt));
    const verification = await verifyRecovery({ dbPath, snapshot, backup, acks: [], injectedAt: fault.injectedAt });
    expect(verification).toMatchObject({
      ok: true,
      problems: [],
      writesLost: 0,
      rpoMs: 0,
      tablesChecked: ['transactions'],
    });
  });
});

describe('process-killed', () => {
  it('SIGKILLs the candidate’s process group; the health probe sees it; the data is untouched', async () => {
    const { dbPath } = seededEnv(path.join(root, 'killed'), 200);
    const candidate = await startCandidate(dbPath);
    candidates.push(candidate);
    const snapshot = await snapshotTables(dbPath);
    const probe = () => probeEnvironment({ dbPath, url: candidate.url, snapshot });
    expect((await probe()).healthy).toBe(true);

    const fault = await injectFault('process-killed', { dbPath, pid: candidate.pid });
    expect(fault.detail).toContain(String(candidate.pid));
    expect(processAlive(candidate.pid)).toBe(false);

    const detection = await waitForDetection(probe, { timeoutMs: 3000, intervalMs: 20 });
    expect(detection.problems).toEqual([
      expect.stringMatching(/candidate http:\/\/127\.0\.0\.1:\d+\/health does not answer/),
    ]);
    const verification = await verifyRecovery({ dbPath, snapshot, acks: [], injectedAt: fault.injectedAt });
    expect(verification.ok).toBe(true);

    // Recovery for this scenario is a restart (the provider's job); a new process is healthy again.
    const restarted = await startCandidate(dbPath);
    candidates.push(restarted);
    expect((await probeEnvironment({ dbPath, url: restarted.url, snapshot })).healthy).toBe(true);
  });

  it('refuses when there is no candidate process to kill', async () => {
    const { dbPath } = seededEnv(path.join(root, 'nopid'), 10);
    await expect(injectFault('process-killed', { dbPath, pid: null })).rejects.toThrow(
      /no candidate process is running/,
    );
    await expect(injectFault('process-killed', { dbPath, pid: 2 ** 22 + 12345 })).rejects.toThrow(DrillError);
  });
});

describe('bad input', () => {
  it('dependency-down is not a database fault: injectFault says the provider injects it', async () => {
    await expect(injectFault('dependency-down', { dbPath: '/nonexistent', pid: null })).rejects.toThrow(
      /dependency-down stops the environment's feature-lookup service.*through the provider/,
    );
    expect(assertScenario('dependency-down')).toBe('dependency-down'); // the feature service runs in every environment
  });

  it('names the valid scenarios for an unknown one', () => {
    expect(() => assertScenario('meteor-strike')).toThrow(
      /unknown drill scenario "meteor-strike"; expected one of process-killed, rows-corrupted/,
    );
    expect(assertScenario('table-dropped')).toBe('table-dropped');
  });

  it('refuses data scenarios on a missing database or table, without creating anything', async () => {
    const dir = path.join(root, 'empty');
    fs.mkdirSync(dir, { recursive: true });
    const dbPath = path.join(dir, 'data.db');
    await expect(injectFault('table-dropped', { dbPath, pid: null })).rejects.toThrow(/does not exist/);
    await expect(injectFault('database-removed', { dbPath, pid: null })).rejects.toThrow(/does not exist/);
    expect(fs.existsSync(dbPath)).toBe(false);
    new Database(dbPath).close();
    await expect(injectFault('rows-corrupted', { dbPath, pid: null })).rejects.toThrow(
      /table transactions does not exist/,
    );
    const seeded = seededEnv(path.join(root, 'percent'), 10);
    await expect(injectFault('rows-corrupted', { dbPath: seeded.dbPath, pid: null }, { percent: 0 })).rejects.toThrow(
      /percent/,
    );
  });

  it('probes report a database that does not open', async () => {
    const dir = path.join(root, 'garbage');
    fs.mkdirSync(dir, { recursive: true });
    const dbPath = path.join(dir, 'data.db');
    fs.writeFileSync(dbPath, 'x'.repeat(4096));
    const result = await probeEnvironment({ dbPath, snapshot: { transactions: { rows: 1, checksum: 'x' } } });
    expect(result.healthy).toBe(false);
    expect(result.problems[0]).toMatch(/not a database|cannot be read|does not open|quick_check/);
  });
});
