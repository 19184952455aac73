import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../../src/validation/errors';
import { parseLadder } from '../../../src/config/ladder';
import { profileRows } from '../../../src/data/profile/profiler';
import { createRandom } from '../../../src/data/profile/random';
import type { LayerSpec } from '../../../src/domain/ladder';
import type { GateResult } from '../../../src/domain/status';
import { expectationsGate, formatPercent } from '../../../src/gates/expectations';
import type { GateContext } from '../../../src/gates/types';
import { tempDir } from '../../helpers/drill-env';

let root: string;
beforeAll(() => {
  root = tempDir('expectations');
});
afterAll(() => {
  fs.rmSync(root, { recursive: true, force: true });
});

const LAYER: LayerSpec = {
  name: 'mirror',
  seed: { rows: 10, seed: 1 },
  gates: [],
  approval: { mode: 'auto' },
  rollback: 'keep',
};

function context(dbPath: string, layer: LayerSpec = LAYER): GateContext {
  return {
    layer,
    candidate: {
      name: 'c',
      version: '1',
      digest: 'd',
      dir: root,
      serve: [],
      artifacts: [],
      input: {
        table: 'transactions',
        label: 'is_fraud',
        features: { amount: { type: 'number', required: true, nullable: false } },
      },
    },
    dbPath,
    url: 'http://127.0.0.1:1',
    heartbeat: () => {},
    signal: new AbortController().signal,
  };
}

/** Runs the gate with `options` validated as ladder.yaml would (defaults filled in). */
async function run(
  dbPath: string,
  options: Record<string, unknown>,
  more: { threshold?: number; layer?: LayerSpec } = {},
): Promise<GateResult> {
  const config = expectationsGate.config.parse({
    options,
    ...(more.threshold === undefined ? {} : { threshold: more.threshold }),
  });
  return expectationsGate.run(context(dbPath, more.layer), {
    name: 'data',
    type: 'expectations',
    options: config.options,
    threshold: config.threshold,
  });
}

/** One expectation's check. */
async function check(dbPath: string, expectation: Record<string, unknown>, options: Record<string, unknown> = {}) {
  const result = await run(dbPath, { ...options, expectations: [expectation] });
  expect(result.checks).toHaveLength(1);
  return { ...result.checks![0], result };
}

let dbCount = 0;
function newDb(build: (db: Database.Database) => void): string {
  const dbPath = path.join(root, `db-${++dbCount}.db`);
  const db = new Database(dbPath);
  db.transaction(() => build(db))();
  db.close();
  return dbPath;
}

/**
 * 1000 transactions: txn_id unique (t1..t1000), amount null in every 20th row (exactly 95 % not
 * null), merchant_risk in [0, 1] except 10 rows at 1.5, channel web/pos/app with 3 rows "atm",
 * customer_id 1..100 except 10 rows pointing at 999 (no such customer), batch with duplicates.
 */
let tx: string;
beforeAll(() => {
  tx = newDb((db) => {
    db.exec('CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT)');
    const customer = db.prepare('INSERT INTO customers VALUES (?, ?)');
    for (let id = 1; id <= 100; id++) customer.run(id, `c${id}`);
    db.exec(
      'CREATE TABLE transactions (id INTEGER PRIMARY KEY, txn_id TEXT, amount REAL, merchant_risk REAL, channel TEXT, customer_id INTEGER, batch INTEGER, is_fraud INTEGER)',
    );
    const insert = db.prepare('INSERT INTO transactions VALUES (?, ?, ?, ?, ?, ?, ?, ?)');
    for (let i = 1; i <= 1000; i++) {
      insert.run(
        i,
        `t${i}`,
        i % 20 === 0 ? null : i * 1.25,
        i <= 10 ? 1.5 : (i % 100) / 100,
        i <= 3 ? 'atm' : ['web', 'pos', 'app'][i % 3],
        i <= 10 ? 999 : (i % 100) + 1,
        i <= 20 ? 1 : i, // 20 rows share batch 1: 980 of 1000 unique
        i % 7 === 0 ? 1 : 0,
      );
    }
  });
});

describe('formatPercent', () => {
  it('never shows 100 % or 0 % for a share that is not', () => {
    expect(formatPercent(992, 1000)).toBe('99.2 %');
    expect(formatPercent(9999, 10000)).toBe('99.99 %');
    expect(formatPercent(1, 100_000)).toBe('0.001 %');
    expect(formatPercent(5, 5)).toBe('100.0 %');
  });
});

describe('expectations gate: one expectation of each kind', () => {
  it('not-null: the share of all rows, met at exactly `mostly`', async () => {
    const met = await check(tx, { expect: 'not-null', column: 'amount', mostly: 0.95 });
    expect(met).toMatchObject({
      name: 'not-null(amount)',
      passed: true,
      observed: '95.0 % not null (950 of 1000 rows; mostly 0.95)',
    });
    const missed = await check(tx, { expect: 'not-null', column: 'amount', mostly: 0.951 });
    expect(missed.passed).toBe(false);
    expect(missed.result.detail).toBe('1 expectation, 1 failed: not-null(amount) 95.0 % < mostly 0.951');
    expect((await check(tx, { expect: 'not-null', column: 'txn_id' })).passed).toBe(true);
  });

  it('between: the share of non-null values within the bounds, either bound optional; counts, never the data range', async () => {
    const strict = await check(tx, { expect: 'between', column: 'merchant_risk', min: 0, max: 1 });
    expect(strict).toMatchObject({
      passed: false,
      observed: '99.0 % between 0 and 1 (990 of 1000 non-null values; 10 above 1; mostly 1)',
    });
    expect(strict.observed).not.toContain('1.5');
    expect((await check(tx, { expect: 'between', column: 'merchant_risk', min: 0, max: 1, mostly: 0.99 })).passed).toBe(
      true,
    );
    expect(
      (await check(tx, { expect: 'between', column: 'merchant_risk', min: 0, max: 1, mostly: 0.991 })).passed,
    ).toBe(false);
    expect((await check(tx, { expect: 'between', column: 'merchant_risk', min: 0 })).passed).toBe(true);
    const upper = await check(tx, { expect: 'between', column: 'amount', max: 100 });
    expect(upper.observed).toMatch(/^\d+\.\d+ % <= 100 \(\d+ of 950 non-null values; \d+ above 100; mostly 1\)$/);
    // The column's own min and max are data: they stay in the worker.
    expect(upper.observed).not.toMatch(/1\.25|1248\.75/);
    const lower = await check(tx, { expect: 'between', column: 'merchant_risk', min: 1.2 });
    expect(lower.observed).toBe('1.0 % >= 1.2 (10 of 1000 non-null values; 990 below 1.2; mostly 1)');
    expect(upper.passed).toBe(false);
  });

  it('unique: the share of non-null values that occur once', async () => {
    expect(await check(tx, { expect: 'unique', column: 'txn_id' })).toMatchObject({
      name: 'unique(txn_id)',
      passed: true,
      observed: '100.0 % unique (1000 of 1000 non-null values; mostly 1)',
    });
    const batch = await check(tx, { expect: 'unique', column: 'batch' });
    expect(batch).toMatchObject({
      passed: false,
      observed: '98.0 % unique (980 of 1000 non-null values; 1 value repeated in 20 rows; mostly 1)',
    });
    expect((await check(tx, { expect: 'unique', column: 'batch', mostly: 0.98 })).passed).toBe(true);
  });

  it('in-set: the share of non-null values in the set, counting (never naming) the values outside', async () => {
    const strict = await check(tx, { expect: 'in-set', column: 'channel', values: ['web', 'pos', 'app'] });
    expect(strict).toMatchObject({
      name: 'in-set(channel)',
      passed: false,
      observed:
        '99.7 % in {"web", "pos", "app"} (997 of 1000 non-null values; 3 outside the set, 1 distinct value; mostly 1)',
    });
    expect(strict.observed).not.toContain('atm');
    expect(
      (await check(tx, { expect: 'in-set', column: 'channel', values: ['web', 'pos', 'app'], mostly: 0.997 })).passed,
    ).toBe(true);
    expect(
      (await check(tx, { expect: 'in-set', column: 'channel', values: ['web', 'pos', 'app', 'atm'] })).passed,
    ).toBe(true);
  });

  it('row-count: between min and max', async () => {
    expect(await check(tx, { expect: 'row-count', min: 1000, max: 1_000_000 })).toMatchObject({
      name: 'row-count',
      passed: true,
      observed: '1000 rows (expected between 1000 and 1000000)',
    });
    const few = await check(tx, { expect: 'row-count', min: 1001 });
    expect(few.passed).toBe(false);
    expect(few.result.detail).toBe('1 expectation, 1 failed: row-count 1000 < min 1001');
    const many = await check(tx, { expect: 'row-count', max: 999 });
    expect(many).toMatchObject({ passed: false, observed: '1000 rows (expected <= 999)' });
    expect((await check(tx, { expect: 'row-count', min: 10 }, { table: 'customers' })).observed).toBe(
      '100 rows (expected >= 10)',
    );
  });

  it('references: the share of non-null values found in the referenced column, counting the missing ones', async () => {
    const strict = await check(tx, {
      expect: 'references',
      column: 'customer_id',
      table: 'customers',
      refColumn: 'id',
    });
    expect(strict).toMatchObject({
      name: 'references(customer_id)',
      passed: false,
      observed:
        '99.0 % found in customers.id (990 of 1000 non-null customer_id; 10 rows missing, 1 distinct value; mostly 1)',
    });
    expect(strict.observed).not.toContain('999');
    expect(
      (
        await check(tx, {
          expect: 'references',
          column: 'customer_id',
          table: 'customers',
          refColumn: 'id',
          mostly: 0.99,
        })
      ).passed,
    ).toBe(true);
    expect(
      (
        await check(tx, {
          expect: 'references',
          column: 'customer_id',
          table: 'customers',
          refColumn: 'id',
          mostly: 0.995,
        })
      ).passed,
    ).toBe(false);
    expect(
      (await check(tx, { expect: 'references', column: 'id', table: 'transactions', refColumn: 'id' })).passed,
    ).toBe(true);
  });

  it('fails (without throwing) an expectation on a column or table that does not exist', async () => {
    expect(await check(tx, { expect: 'not-null', column: 'nope' })).toMatchObject({
      passed: false,
      observed: 'column nope does not exist in table transactions',
    });
    expect(await check(tx, { expect: 'row-count', min: 1 }, { table: 'ghosts' })).toMatchObject({
      passed: false,
      observed: 'table ghosts does not exist',
    });
    expect(
      await check(tx, { expect: 'references', column: 'customer_id', table: 'clients', refColumn: 'id' }),
    ).toMatchObject({
      passed: false,
      observed: 'table clients does not exist',
    });
    expect(
      await check(tx, { expect: 'references', column: 'customer_id', table: 'customers', refColumn: 'uuid' }),
    ).toMatchObject({
      passed: false,
      observed: 'column uuid does not exist in table customers',
    });
  });

  it('vacuously meets a column expectation on an empty table (row-count is what catches that)', async () => {
    const empty = newDb((db) => db.exec('CREATE TABLE transactions (amount REAL)'));
    expect(await check(empty, { expect: 'not-null', column: 'amount' })).toMatchObject({
      passed: true,
      observed: 'no rows to check (vacuously met)',
    });
    expect((await check(empty, { expect: 'row-count', min: 1 })).passed).toBe(false);
  });
});

describe('expectations gate: the result', () => {
  const seven = [
    { expect: 'not-null', column: 'amount', mostly: 0.95 },
    { expect: 'between', column: 'merchant_risk', min: 0, max: 1, mostly: 0.99 },
    { expect: 'unique', column: 'txn_id' },
    { expect: 'in-set', column: 'channel', values: ['web', 'pos', 'app'], mostly: 0.99 },
    { expect: 'row-count', min: 1000, max: 1_000_000 },
    { expect: 'references', column: 'customer_id', table: 'customers', refColumn: 'id', mostly: 0.99 },
    { expect: 'unique', column: 'batch', name: 'batch-unique' },
  ];

  it('counts failed expectations as the value, lists every one in checks, the failures in detail', async () => {
    const result = await run(tx, { expectations: seven });
    expect(result).toMatchObject({
      name: 'data',
      type: 'expectations',
      passed: false,
      value: 1,
      threshold: 0,
      unit: 'failed expectations',
    });
    expect(result.detail).toBe('7 expectations, 1 failed: batch-unique 98.0 % < mostly 1');
    expect(result.checks?.map((c) => [c.name, c.passed])).toEqual([
      ['not-null(amount)', true],
      ['between(merchant_risk)', true],
      ['unique(txn_id)', true],
      ['in-set(channel)', true],
      ['row-count', true],
      ['references(customer_id)', true],
      ['batch-unique', false],
    ]);
  });

  it('passes when the failures are within the threshold; says so when all are met', async () => {
    expect(await run(tx, { expectations: seven }, { threshold: 1 })).toMatchObject({ passed: true, value: 1 });
    expect(await run(tx, { expectations: seven.slice(0, 6) })).toMatchObject({
      passed: true,
      value: 0,
      detail: '6 expectations, all met',
    });
  });

  it('heartbeats after each expectation and stops when cancelled', async () => {
    const beats: unknown[] = [];
    const ctx = { ...context(tx), heartbeat: (detail?: unknown) => beats.push(detail) };
    const options = expectationsGate.config.parse({ options: { expectations: seven.slice(0, 2) } }).options;
    await expectationsGate.run(ctx, { name: 'data', type: 'expectations', options });
    expect(beats).toEqual([
      { gate: 'data', expectation: 1, of: 2 },
      { gate: 'data', expectation: 2, of: 2 },
    ]);
    const cancelled = new AbortController();
    cancelled.abort(new Error('cancelled'));
    await expect(
      expectationsGate.run({ ...ctx, signal: cancelled.signal }, { name: 'data', type: 'expectations', options }),
    ).rejects.toThrow('cancelled');
  });

  it('fails without a value when the database cannot be opened', async () => {
    const result = await run(path.join(root, 'missing.db'), { expectations: seven });
    expect(result).toMatchObject({ passed: false, value: null });
    expect(result.detail).toMatch(/^cannot open database/);
  });
});

// --- distribution ---------------------------------------------------------------------------------

const COLUMNS = ['id', 'amount', 'channel', 'day', 'flag'];

/** Transactions from one generator: log-normal amounts, channels 50/30/20, 90 days, 20 % flags. */
function generate(seed: number, n: number, shift: { amount?: number; channel?: boolean } = {}): (string | number)[][] {
  const r = createRandom(seed);
  return Array.from({ length: n }, (_, i) => {
    const amount = Math.round(Math.exp(3 + 0.8 * r.normal() + (shift.amount ?? 0)) * 100) / 100;
    const u = r.next();
    const channel = shift.channel
      ? u < 0.2
        ? 'web'
        : u < 0.5
          ? 'pos'
          : 'app'
      : u < 0.5
        ? 'web'
        : u < 0.8
          ? 'pos'
          : 'app';
    const day = new Date(Date.UTC(2024, 0, 1) + Math.floor(r.next() * 90) * 86_400_000).toISOString().slice(0, 10);
    const flag = r.next() < 0.2 ? 1 : 0;
    return [i + 1, amount, channel, day, flag];
  });
}

function writeTable(rows: (string | number)[][]): string {
  return newDb((db) => {
    db.exec('CREATE TABLE transactions (id INTEGER PRIMARY KEY, amount REAL, channel TEXT, day TEXT, flag INTEGER)');
    const insert = db.prepare('INSERT INTO transactions VALUES (?, ?, ?, ?, ?)');
    for (const row of rows) insert.run(...row);
  });
}

describe('expectations gate: distribution against the profile', () => {
  let profileFile: string;
  let same: string;
  let shifted: string;
  beforeAll(() => {
    profileFile = path.join(root, 'profile.json');
    fs.writeFileSync(profileFile, JSON.stringify(profileRows('transactions', COLUMNS, generate(1, 5000))));
    same = writeTable(generate(2, 3000));
    shifted = writeTable(generate(3, 3000, { amount: 0.5, channel: true }));
  });

  const distributions = [
    { expect: 'distribution', column: 'amount', maxKs: 0.1 },
    { expect: 'distribution', column: 'channel', maxKs: 0.1 },
    { expect: 'distribution', column: 'day', maxKs: 0.1 },
    { expect: 'distribution', column: 'flag', maxKs: 0.1 },
  ];

  it('passes data from the generator the profile was computed from (KS for numbers and dates, TV for categories)', async () => {
    const result = await run(same, { profile: profileFile, expectations: distributions });
    expect(result).toMatchObject({ passed: true, value: 0 });
    const [amount, channel, day, flag] = result.checks!;
    expect(amount.observed).toMatch(
      /^KS 0\.0\d+ ≤ 0\.1 against the numeric marginal of profile\.json \(3000 values\)$/,
    );
    expect(channel.observed).toMatch(
      /^total variation distance 0\.0\d+ ≤ 0\.1 against the category frequencies of profile\.json \(categorical column: KS does not apply; 3000 values\)$/,
    );
    expect(day.observed).toMatch(/^KS 0\.0\d+ ≤ 0\.1 against the datetime marginal/);
    expect(flag.observed).toMatch(/^total variation distance 0\.0\d+ ≤ 0\.1 .*\(boolean column/);
  });

  it('fails a shifted column, with the statistic in observed and detail', async () => {
    const result = await run(shifted, { profile: profileFile, expectations: distributions });
    expect(result.value).toBe(2);
    const [amount, channel, day, flag] = result.checks!;
    expect(amount.passed).toBe(false);
    expect(amount.observed).toMatch(/^KS 0\.[1-9]\d* > 0\.1 /);
    expect(channel.passed).toBe(false);
    expect(channel.observed).toMatch(/^total variation distance 0\.[2-4]\d* > 0\.1 /);
    expect(day.passed && flag.passed).toBe(true);
    expect(result.detail).toMatch(
      /^4 expectations, 2 failed: distribution\(amount\) KS 0\.\d+ > 0\.1; distribution\(channel\) TV 0\.\d+ > 0\.1$/,
    );
  });

  it("reads the layer's synthetic data source when no profile is given, and fails clearly without one", async () => {
    const synthetic: LayerSpec = {
      ...LAYER,
      data: {
        source: { name: 'tx', classification: 'synthetic', file: profileFile },
        seed: 1,
        realism: {},
        table: 'transactions',
        fidelityThreshold: 0.85,
        piiAllowance: 0,
      },
    };
    expect((await run(same, { expectations: distributions.slice(0, 1) }, { layer: synthetic })).passed).toBe(true);

    const none = await check(same, distributions[0]);
    expect(none).toMatchObject({
      passed: false,
      observed: 'no profile: set options.profile, or seed the layer from a synthetic data source',
    });
    const masked: LayerSpec = {
      ...synthetic,
      data: { ...synthetic.data!, source: { name: 'tx', classification: 'masked', file: profileFile } },
    };
    expect(
      (await run(same, { expectations: distributions.slice(0, 1) }, { layer: masked })).checks![0].observed,
    ).toMatch(/^no profile: /);
    const unreadable = await check(same, distributions[0], { profile: path.join(root, 'no-such-profile.json') });
    expect(unreadable.passed).toBe(false);
    expect(unreadable.observed).toMatch(/^no profile: .*no-such-profile\.json.*no such profile file/);
    const notProfiled = await check(
      same,
      { expect: 'distribution', column: 'id', maxKs: 0.1 },
      { profile: profileFile },
    );
    expect(notProfiled).toMatchObject({
      passed: false,
      observed: 'no profile: id is profiled as identifier, which has no distribution to compare',
    });
  });

  it('resolves a relative profile path against the working directory', async () => {
    const relative = path.relative(process.cwd(), profileFile);
    expect((await check(same, distributions[0], { profile: relative })).passed).toBe(true);
  });

  it(`samples at most 100 000 values, deterministically`, async () => {
    const big = writeTable(generate(4, 120_000));
    const first = await check(big, distributions[0], { profile: profileFile });
    expect(first.passed).toBe(true);
    expect(first.observed).toMatch(/\(100000 of 120000 values, sampled uniformly\)$/);
    expect((await check(big, distributions[0], { profile: profileFile })).observed).toBe(first.observed);
  });
});

describe('expectations gate: options in ladder.yaml', () => {
  const ladder = (expectations: string, extra = '') =>
    'name: l\nlayers:\n  - name: mirror\n    seed: { rows: 10, seed: 1 }\n    approval: auto\n    gates:\n' +
    `      - type: expectations\n        options:\n${extra}          expectations:\n${expectations}`;

  function issues(text: string): { path: string; message: string }[] {
    try {
      parseLadder(text, 'ladder.yaml');
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      return (err as ConfigError).issues;
    }
    throw new Error('expected a ConfigError');
  }

  const AT = 'layers[0].gates[0].options';

  it('accepts every kind and fills in mostly', () => {
    const parsed = parseLadder(
      ladder(
        [
          '            - { expect: not-null, column: amount, mostly: 0.95 }',
          '            - { expect: between, column: merchant_risk, min: 0, max: 1 }',
          '            - { expect: unique, column: txn_id, name: txn-unique }',
          '            - { expect: in-set, column: channel, values: [web, pos, app] }',
          '            - { expect: row-count, min: 1000, max: 1000000 }',
          '            - { expect: references, column: customer_id, table: customers, refColumn: id, mostly: 0.99 }',
          '            - { expect: distribution, column: amount, maxKs: 0.1 }',
          '',
        ].join('\n'),
        '          table: transactions\n',
      ),
      'ladder.yaml',
    );
    const options = parsed.layers[0].gates[0].options as { table: string; expectations: Record<string, unknown>[] };
    expect(options.table).toBe('transactions');
    expect(options.expectations[1]).toEqual({ expect: 'between', column: 'merchant_risk', min: 0, max: 1, mostly: 1 });
    expect(options.expectations[2]).toMatchObject({ name: 'txn-unique', mostly: 1 });
    expect(options.expectations[6]).toEqual({ expect: 'distribution', column: 'amount', maxKs: 0.1 });
  });

  it('names an unknown expectation kind at its `expect`', () => {
    const found = issues(ladder('            - { expect: not-empty, column: amount }\n'));
    expect(found).toEqual([
      {
        path: `${AT}.expectations[0].expect`,
        message:
          'unknown expectation "not-empty"; known kinds: not-null, between, unique, in-set, row-count, references, distribution',
      },
    ]);
    expect(() => parseLadder(ladder('            - { expect: not-empty, column: amount }\n'), 'ladder.yaml')).toThrow(
      /ladder\.yaml: layers\[0\]\.gates\[0\]\.options\.expectations\[0\]\.expect: unknown expectation "not-empty"/,
    );
  });

  it('names a missing column, min > max, mostly outside (0, 1], an unknown key', () => {
    expect(issues(ladder('            - { expect: not-null }\n'))).toEqual([
      { path: `${AT}.expectations[0].column`, message: 'missing; expected a column name' },
    ]);
    expect(issues(ladder('            - { expect: between, column: risk, min: 2, max: 1 }\n'))).toEqual([
      { path: `${AT}.expectations[0].max`, message: 'expected a number >= min (2), got 1' },
    ]);
    expect(issues(ladder('            - { expect: between, column: risk }\n'))).toEqual([
      { path: `${AT}.expectations[0].min`, message: 'missing; expected `min`, `max` or both' },
    ]);
    expect(issues(ladder('            - { expect: row-count, min: 10, max: 5 }\n'))[0].path).toBe(
      `${AT}.expectations[0].max`,
    );
    expect(issues(ladder('            - { expect: unique, column: id, mostly: 0 }\n'))).toEqual([
      { path: `${AT}.expectations[0].mostly`, message: 'expected a number > 0 and <= 1, got 0' },
    ]);
    expect(issues(ladder('            - { expect: unique, column: id, mostly: 1.5 }\n'))[0].path).toBe(
      `${AT}.expectations[0].mostly`,
    );
    expect(
      issues(ladder('            - { expect: distribution, column: id, maxKs: 0.1, mostly: 0.9 }\n'))[0],
    ).toMatchObject({
      path: `${AT}.expectations[0].mostly`,
      message: expect.stringMatching(/^unknown key "mostly"/),
    });
    expect(issues(ladder('            - { expect: references, column: a, table: b }\n'))[0].path).toBe(
      `${AT}.expectations[0].refColumn`,
    );
  });

  it('needs at least one expectation, and the options at all', () => {
    const text = ladder('').replace('          expectations:\n', '          expectations: []\n');
    expect(issues(text)).toEqual([
      { path: `${AT}.expectations`, message: 'must list at least one item, got an empty list' },
    ]);
    const bare =
      'name: l\nlayers:\n  - name: mirror\n    seed: { rows: 10, seed: 1 }\n    approval: auto\n    gates:\n      - type: expectations\n';
    expect(issues(bare)[0].path).toBe(AT);
  });
});
