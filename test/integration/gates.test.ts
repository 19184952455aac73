// The four gates against a real seeded database and real example candidate processes.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { seedTransactions } from '../../src/data/transactions';
import type { CandidateRef, LayerSpec } from '../../src/domain/ladder';
import { consistencyGate } from '../../src/gates/consistency';
import { latencyGate } from '../../src/gates/latency';
import { qualityGate } from '../../src/gates/quality';
import { schemaGate } from '../../src/gates/schema';
import type { GateContext, MeasuredGate } from '../../src/gates/types';
import {
  deadPort,
  loadExampleCandidate,
  type RunningCandidate,
  startCandidate,
  startFakeCandidate,
} from './support/candidate';

const SEED = { rows: 3000, seed: 11 };

const layer: LayerSpec = {
  name: 'sandbox',
  seed: SEED,
  gates: [],
  approval: { mode: 'auto' },
  rollback: 'keep',
};

let dir: string;
let dbPath: string;
let v2: CandidateRef;
let v3: CandidateRef;
let runningV2: RunningCandidate;
let runningV3: RunningCandidate;

function context(overrides: Partial<GateContext> = {}): GateContext {
  return {
    layer,
    candidate: v2,
    dbPath,
    url: runningV2.url,
    heartbeat: vi.fn(),
    signal: new AbortController().signal,
    ...overrides,
  };
}

/** Runs a gate the way the activity will: its entry validated by the gate's own schema first. */
async function runGate<O extends Record<string, unknown>>(
  gate: MeasuredGate<O>,
  entry: { threshold?: number; options?: Record<string, unknown> },
  ctx: GateContext,
) {
  const { threshold, options } = gate.config.parse(entry);
  return gate.run(ctx, { name: `${gate.type}-check`, type: gate.type, threshold, options });
}

/** A copy of the seeded database, changed by `tamper`. */
function tamperedCopy(name: string, tamper: (db: Database.Database) => void): string {
  const file = path.join(dir, name);
  fs.copyFileSync(dbPath, file);
  const db = new Database(file);
  try {
    tamper(db);
  } finally {
    db.close();
  }
  return file;
}

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-gates-'));
  dbPath = path.join(dir, 'env.db');
  seedTransactions(dbPath, SEED);
  v2 = await loadExampleCandidate('fraud-v2');
  v3 = await loadExampleCandidate('fraud-v3');
  runningV2 = await startCandidate(v2, { STRATA_DB_PATH: dbPath });
  runningV3 = await startCandidate(v3, { STRATA_DB_PATH: dbPath });
}, 30_000);

afterAll(async () => {
  await Promise.all([runningV2?.stop(), runningV3?.stop()]);
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

describe('schema gate', () => {
  it('passes when every feature and the label exist with compatible types', async () => {
    const result = await runGate(schemaGate, {}, context());
    expect(result).toMatchObject({ name: 'schema-check', type: 'schema', passed: true, value: 0, threshold: 0 });
    expect(result.detail).toContain('8 columns');
  });

  it('counts and names each missing or mistyped column', async () => {
    const file = path.join(dir, 'bad-schema.db');
    const db = new Database(file);
    db.exec(`CREATE TABLE transactions (
      id INTEGER PRIMARY KEY, amount TEXT, merchant_risk REAL, account_age_days INTEGER, hour INTEGER,
      is_foreign BOOLEAN, channel VARCHAR(8), is_fraud INTEGER)`);
    db.close();
    const result = await runGate(schemaGate, {}, context({ dbPath: file }));
    expect(result.passed).toBe(false);
    expect(result.value).toBe(2);
    expect(result.detail).toContain('column amount: expected number, table has TEXT');
    expect(result.detail).toContain('column velocity_24h: missing');
    // BOOLEAN and VARCHAR are accepted for boolean and string features
    expect(result.detail).not.toContain('is_foreign');
    expect(result.detail).not.toContain('channel');

    expect(await runGate(schemaGate, { threshold: 2 }, context({ dbPath: file }))).toMatchObject({
      passed: true,
      value: 2,
    });
  });

  it('reports a missing label and a missing table', async () => {
    const noLabel = tamperedCopy('no-label.db', (db) => db.exec('ALTER TABLE transactions DROP COLUMN is_fraud'));
    const result = await runGate(schemaGate, {}, context({ dbPath: noLabel }));
    expect(result).toMatchObject({ passed: false, value: 1 });
    expect(result.detail).toContain('label column is_fraud: missing');

    const other = { ...v2, input: { ...v2.input, table: 'payments' } };
    const missingTable = await runGate(schemaGate, {}, context({ candidate: other }));
    expect(missingTable.passed).toBe(false);
    expect(missingTable.detail).toContain('table payments does not exist');
  });

  it('fails without a value when the database cannot be opened', async () => {
    const missing = path.join(dir, 'nope.db');
    const result = await runGate(schemaGate, {}, context({ dbPath: missing }));
    expect(result).toMatchObject({ passed: false, value: null });
    expect(result.detail).toContain(missing);
    expect(fs.existsSync(missing)).toBe(false); // read-only: never creates the file
  });
});

describe('consistency gate', () => {
  it('passes on the freshly seeded data', async () => {
    const result = await runGate(consistencyGate, {}, context());
    expect(result).toMatchObject({ passed: true, value: 0, threshold: 0 });
    expect(result.detail).toContain(`${SEED.rows} rows`);
  });

  it('counts one violation per failed check and says what it found', async () => {
    const file = tamperedCopy('tampered.db', (db) => {
      db.exec('UPDATE transactions SET amount = NULL WHERE id <= 30');
      db.exec('UPDATE transactions SET merchant_risk = 1.5 WHERE id BETWEEN 100 AND 104');
      db.exec("UPDATE transactions SET channel = 'atm' WHERE id = 200");
      db.exec('UPDATE transactions SET is_foreign = 2 WHERE id = 300');
    });
    // fraud-v3 declares no feature nullable: the nulls in amount count.
    const result = await runGate(consistencyGate, {}, context({ dbPath: file, candidate: v3 }));
    expect(result.passed).toBe(false);
    expect(result.value).toBe(4);
    expect(result.detail).toContain('column amount: 30 nulls (1.00 %');
    expect(result.detail).toContain(
      'column merchant_risk: 5 of 3000 rows (0.17 %) out of range (expected a number >= 0 and <= 1)',
    );
    expect(result.detail).toContain(
      'column channel: 1 of 3000 rows (0.03 %) out of range (expected one of web|pos|app)',
    );
    expect(result.detail).toContain('column is_foreign: 1 of 3000 rows (0.03 %) out of range');
    // Counts and the declared ranges only: the offending values are data and stay in the worker.
    expect(result.detail).not.toMatch(/atm|1\.5/);

    // fraud-v2 declares its features nullable (it imputes them): the same nulls are no violation.
    const nullable = await runGate(consistencyGate, {}, context({ dbPath: file }));
    expect(nullable.value).toBe(3);
    expect(nullable.detail).not.toContain('column amount');

    // the same data within a 5 % null tolerance and without range checks is consistent
    const lenient = await runGate(
      consistencyGate,
      { options: { maxNullRate: 0.05, checkRanges: false } },
      context({ dbPath: file, candidate: v3 }),
    );
    expect(lenient).toMatchObject({ passed: true, value: 0 });
  });

  it('checks the row count against the layer seed, or minRows', async () => {
    const short = tamperedCopy('short.db', (db) => db.exec('DELETE FROM transactions WHERE id > 2500'));
    const result = await runGate(consistencyGate, {}, context({ dbPath: short }));
    expect(result).toMatchObject({ passed: false, value: 1 });
    expect(result.detail).toContain(`2500 rows, expected at least ${SEED.rows}`);
    expect(await runGate(consistencyGate, { options: { minRows: 2000 } }, context({ dbPath: short }))).toMatchObject({
      passed: true,
    });
  });

  it('flags values of the wrong type and labels that are not 0/1', async () => {
    const file = tamperedCopy('types.db', (db) => {
      db.exec("UPDATE transactions SET hour = 'noon' WHERE id = 1");
      db.exec('UPDATE transactions SET is_fraud = 3 WHERE id = 2');
    });
    const result = await runGate(consistencyGate, {}, context({ dbPath: file }));
    expect(result.value).toBe(2);
    expect(result.detail).toContain(
      'column hour: 1 of 3000 rows (0.03 %) out of range (expected an integer >= 0 and <= 23)',
    );
    expect(result.detail).toContain('column is_fraud: 1 of 3000 rows (0.03 %) out of range (expected 0 or 1)');
    expect(result.detail).not.toContain('noon');
  });
});

describe('quality gate', () => {
  it('passes v2 at the integration threshold, heartbeating as it goes', async () => {
    const ctx = context();
    const result = await runGate(qualityGate, { threshold: 0.78, options: { batchSize: 500 } }, ctx);
    expect(result).toMatchObject({ passed: true, threshold: 0.78, unit: 'auc' });
    expect(result.value).toBeGreaterThanOrEqual(0.88);
    expect(result.value).toBe(Math.round(result.value! * 10_000) / 10_000);
    expect(result.detail).toContain(`over ${SEED.rows} records`);
    expect(ctx.heartbeat).toHaveBeenCalledTimes(SEED.rows / 500);
  });

  it('fails the broken v3 at 0.78, which still clears a 0.6 smoke threshold', async () => {
    const ctx = context({ candidate: v3, url: runningV3.url });
    const integration = await runGate(qualityGate, { threshold: 0.78 }, ctx);
    expect(integration.passed).toBe(false);
    expect(integration.value).toBeGreaterThan(0.6);
    expect(integration.value).toBeLessThan(0.78);
    expect(integration.detail).toContain('< 0.78');
    expect(await runGate(qualityGate, { threshold: 0.6 }, ctx)).toMatchObject({ passed: true });
  });

  it('measures accuracy at a cutoff over a limited number of records', async () => {
    const result = await runGate(
      qualityGate,
      { threshold: 0.5, options: { metric: 'accuracy', cutoff: 0.5, limit: 1000 } },
      context(),
    );
    expect(result.unit).toBe('accuracy');
    expect(result.value).toBeGreaterThan(0.8); // ~83 % of transactions are legitimate
    expect(result.detail).toContain('over 1000 records');
  });

  it('fails without a value when the candidate is unreachable, naming the URL', async () => {
    const url = `http://127.0.0.1:${await deadPort()}`;
    const result = await runGate(qualityGate, { threshold: 0.78 }, context({ url }));
    expect(result).toMatchObject({ passed: false, value: null });
    expect(result.detail).toContain(url);
    expect(result.detail).toContain('unreachable');
  });

  it('fails without a value when the candidate rejects the records', async () => {
    // is_foreign holds a string the candidate cannot read: /predict answers 400
    const file = tamperedCopy('bad-records.db', (db) =>
      db.exec("UPDATE transactions SET is_foreign = 'yes' WHERE id = 7"),
    );
    const result = await runGate(qualityGate, { threshold: 0.78 }, context({ dbPath: file }));
    expect(result).toMatchObject({ passed: false, value: null });
    expect(result.detail).toContain('answered 400 (body not shown)');
    // The candidate's 400 names the field and echoes its value ("got \"yes\""): a body may hold
    // data, so it never reaches the detail (the history); the status code does.
    expect(result.detail).not.toMatch(/yes|is_foreign/);
  });

  it('sends only the declared features, booleans as JSON booleans, and fails on a short answer', async () => {
    let answer = (n: number) => ({ scores: Array.from({ length: n }, (_, i) => i / n) });
    const fake = await startFakeCandidate((records) => ({ status: 200, body: answer(records.length) }));
    const { url, bodies } = fake;
    try {
      const scored = await runGate(
        qualityGate,
        { threshold: 0.5, options: { limit: 10, batchSize: 4 } },
        context({ url }),
      );
      expect(scored.value).not.toBeNull();
      expect(bodies.map((b) => b.records.length)).toEqual([4, 4, 2]);
      const first = bodies[0].records[0];
      expect(Object.keys(first).sort()).toEqual([...Object.keys(v2.input.features), 'txn_id'].sort()); // the key, never id or the label
      expect(first.txn_id).toMatch(/^txn_\d+$/);
      expect(typeof first.is_foreign).toBe('boolean');
      expect(typeof first.channel).toBe('string');

      answer = () => ({ scores: [0.5] });
      const short = await runGate(
        qualityGate,
        { threshold: 0.5, options: { limit: 10, batchSize: 4 } },
        context({ url }),
      );
      expect(short).toMatchObject({ passed: false, value: null });
      expect(short.detail).toContain('returned 1 scores for 4 records');
    } finally {
      await fake.close();
    }
  });

  it('stops when cancelled', async () => {
    const controller = new AbortController();
    controller.abort(new Error('activity cancelled'));
    await expect(runGate(qualityGate, { threshold: 0.78 }, context({ signal: controller.signal }))).rejects.toThrow(
      'activity cancelled',
    );
  });
});

describe('latency gate', () => {
  it('measures a positive percentile of real requests and passes a generous threshold', async () => {
    const result = await runGate(
      latencyGate,
      { threshold: 1000, options: { requests: 120, concurrency: 4 } },
      context(),
    );
    expect(result).toMatchObject({ passed: true, unit: 'ms', threshold: 1000 });
    expect(result.value).toBeGreaterThan(0);
    expect(result.value).toBe(Math.round(result.value! * 100) / 100);
    expect(result.detail).toMatch(/^p95 [\d.]+ ms <= 1000 ms over 120 requests/);
    expect(result.detail).toContain('0 errors');
  });

  it('fails when the percentile exceeds the threshold', async () => {
    const result = await runGate(
      latencyGate,
      { threshold: 0.001, options: { requests: 20, percentile: 50 } },
      context(),
    );
    expect(result.passed).toBe(false);
    expect(result.value).toBeGreaterThan(0.001);
    expect(result.detail).toMatch(/^p50 /);
  });

  it('counts failed requests and fails above 1 % errors', async () => {
    // 1 of the 40 records sent is unreadable for the candidate: 2.5 % of requests answer 400
    const file = tamperedCopy('latency-errors.db', (db) =>
      db.exec("UPDATE transactions SET is_foreign = 'yes' WHERE id = 3"),
    );
    const result = await runGate(
      latencyGate,
      { threshold: 1000, options: { requests: 40, concurrency: 2 } },
      context({ dbPath: file }),
    );
    expect(result.passed).toBe(false);
    expect(result.value).toBeGreaterThan(0);
    expect(result.detail).toContain('1 error (1× POST');
    expect(result.detail).toContain('answered 400 (body not shown)');
    expect(result.detail).not.toContain('yes');
    expect(result.detail).toContain('error rate 2.5 % exceeds 1 %');
  });

  it('counts timed-out requests as errors', async () => {
    const fake = await startFakeCandidate(async (records) => {
      await new Promise((resolve) => setTimeout(resolve, 300));
      return { status: 200, body: { scores: records.map(() => 0.5) } };
    });
    try {
      const result = await runGate(
        latencyGate,
        { threshold: 1000, options: { requests: 4, concurrency: 4, timeoutMs: 50 } },
        context({ url: fake.url }),
      );
      expect(result).toMatchObject({ passed: false, value: null });
      expect(result.detail).toContain('4 errors (4× POST');
      expect(result.detail).toContain('timed out after 50 ms');
    } finally {
      await fake.close();
    }
  });

  it('stops promptly when cancelled mid-run', async () => {
    const controller = new AbortController();
    const ctx = context({ signal: controller.signal });
    const started = performance.now();
    setTimeout(() => controller.abort(new Error('activity cancelled')), 150);
    await expect(
      runGate(latencyGate, { threshold: 1000, options: { requests: 100_000, concurrency: 2 } }, ctx),
    ).rejects.toThrow('activity cancelled');
    expect(performance.now() - started).toBeLessThan(2000);
  });

  it('fails without a value when every request fails', async () => {
    const url = `http://127.0.0.1:${await deadPort()}`;
    const result = await runGate(latencyGate, { threshold: 1000, options: { requests: 10 } }, context({ url }));
    expect(result).toMatchObject({ passed: false, value: null });
    expect(result.detail).toContain('every request failed');
    expect(result.detail).toContain(url);
  });
});
