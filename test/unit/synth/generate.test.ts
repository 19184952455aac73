import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseDatetime } from '../../../src/data/profile/datetime';
import { profileRows, profileSource } from '../../../src/data/profile/profiler';
import type { ColumnProfile, DataProfile } from '../../../src/data/profile/schema';
import { checkFidelity, fidelityReport, type FidelityReport } from '../../../src/data/synth/fidelity';
import { createSynthesizer, type SynthValue } from '../../../src/data/synth/generator';
import { generateDataset, generateRows } from '../../../src/data/synth/output';
import { generateTransactions, TRANSACTION_COLUMNS } from '../../../src/data/transactions';
import { SOURCE_COLUMNS, sourceRows, writeSourceCsv } from '../../fixtures/profile/sources';

const sha256 = (file: string): string => createHash('sha256').update(fs.readFileSync(file)).digest('hex');

let dir: string;
/** Profile of the fraud-scoring transactions table (src/data/transactions.ts), 20 000 rows. */
let transactions: DataProfile;
/** Profile of the wider 15-column source (timestamps, merchants, e-mails, notes, missing values). */
let wide: DataProfile;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-synth-'));
  const names = TRANSACTION_COLUMNS.map((c) => c.name);
  transactions = profileRows(
    'transactions',
    names,
    generateTransactions({ rows: 20_000, seed: 11 }).map((t) => names.map((n) => t[n])),
  );
  const csv = path.join(dir, 'wide.csv');
  writeSourceCsv(csv, sourceRows(20_000, 5));
  wide = await profileSource(csv, { table: 'payments' });
});

afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

const columnIndex = (columns: Array<{ name: string }>, name: string): number =>
  columns.findIndex((c) => c.name === name);

/**
 * The profile with its marginals shuffled: each numeric column gets the next numeric column's
 * distribution, category frequencies are reversed and boolean rates swapped — a generator that
 * ignores what it was told about each column.
 */
function shuffledMarginals(profile: DataProfile): DataProfile {
  const broken = structuredClone(profile);
  const numeric = broken.columns.filter(
    (c): c is Extract<ColumnProfile, { type: 'numeric' | 'integer' }> => c.type === 'numeric' || c.type === 'integer',
  );
  const stats = numeric.map((c) => c.numeric);
  numeric.forEach((c, i) => {
    c.numeric = stats[(i + 1) % stats.length];
  });
  for (const c of broken.columns) {
    if (c.type === 'categorical') {
      const counts = c.categorical.categories.map((x) => x.count).reverse();
      c.categorical.categories.forEach((x, i) => (x.count = counts[i]));
    }
    if (c.type === 'boolean') [c.boolean.trueCount, c.boolean.falseCount] = [c.boolean.falseCount, c.boolean.trueCount];
  }
  return broken;
}

describe('fidelity of synthesis from a profile', () => {
  let good: FidelityReport;

  it('scores ≥ 0.85 overall for the transactions profile (SDMetrics-style report against the profile)', () => {
    good = generateRows(transactions, { rows: 20_000, seed: 1 }).fidelity;
    expect(good.overall).toBeGreaterThanOrEqual(0.85);
    expect(good.columnShapes.score).toBeGreaterThan(0.95);
    expect(good.pairTrends.score).toBeGreaterThan(0.9);
    for (const c of good.columnShapes.columns) expect(c.score, c.column).toBeGreaterThan(0.95);
    expect(good.columnShapes.columns.map((c) => `${c.column}:${c.metric}`)).toEqual([
      'amount:KSComplement',
      'merchant_risk:KSComplement',
      'account_age_days:KSComplement',
      'hour:KSComplement',
      'is_foreign:TVComplement',
      'velocity_24h:KSComplement',
      'channel:TVComplement',
      'is_fraud:TVComplement',
    ]);
    expect(checkFidelity(good)).toMatchObject({ passed: true, threshold: 0.85 });
    console.log(
      `fidelity, transactions profile, 20 000 rows, seed 1: overall ${good.overall}, column shapes ${good.columnShapes.score}, pair trends ${good.pairTrends.score}`,
    );
  });

  it('scores clearly lower when the generator shuffles the marginals', () => {
    const synthetic = generateRows(shuffledMarginals(transactions), { rows: 20_000, seed: 1 });
    const bad = fidelityReport(transactions, { columns: synthetic.columns.map((c) => c.name), rows: synthetic.rows });
    console.log(
      `fidelity, shuffled marginals: overall ${bad.overall}, column shapes ${bad.columnShapes.score}, pair trends ${bad.pairTrends.score}`,
    );
    expect(bad.overall).toBeLessThan(0.75);
    expect(good.overall - bad.overall).toBeGreaterThan(0.2);
    const check = checkFidelity(bad);
    expect(check.passed).toBe(false);
    expect(check.message).toMatch(/^fidelity 0\.\d+ < 0\.85 .*lowest column shape: /);
  });

  it('keeps the associations of the source, including the label’s', () => {
    const { fidelity } = generateRows(wide, { rows: 20_000, seed: 2 });
    console.log(
      `fidelity, 15-column source profile: overall ${fidelity.overall}, column shapes ${fidelity.columnShapes.score}, pair trends ${fidelity.pairTrends.score}`,
    );
    expect(fidelity.overall).toBeGreaterThanOrEqual(0.85);
    const pair = fidelity.pairTrends.pairs.find((p) => p.columns.join() === 'is_foreign,is_fraud')!;
    expect(pair.real).toBeGreaterThan(0.1);
    expect(Math.abs(pair.synthetic! - pair.real!)).toBeLessThan(0.06);
  });

  it('measures KS against the profile’s own marginal, so generation from it is not penalised for rounding', () => {
    // A sample drawn exactly from the profile's percentiles scores near 1 even for integer columns.
    const age = wide.columns.find((c) => c.name === 'account_age_days')!;
    const { rows, columns } = generateRows(
      { ...wide, columns: [age], copula: { columns: [], correlation: [] }, associations: [] },
      { rows: 50_000, seed: 3 },
    );
    const report = fidelityReport(wide, { columns: columns.map((c) => c.name), rows });
    expect(report.columnShapes.columns[0].score).toBeGreaterThan(0.99);
  });
});

describe('determinism', () => {
  it('gives the same rows for the same seed and different rows for another', () => {
    const a = Array.from(createSynthesizer(wide, { rows: 3000, seed: 42 }).rows());
    const b = Array.from(createSynthesizer(wide, { rows: 3000, seed: 42 }).rows());
    const c = Array.from(createSynthesizer(wide, { rows: 3000, seed: 43 }).rows());
    expect(a).toEqual(b);
    expect(c).not.toEqual(a);
    const amount = columnIndex(wide.columns, 'amount');
    const differing = a.filter((row, i) => row[amount] !== c[i][amount]).length;
    expect(differing).toBeGreaterThan(2500);
  });

  it('writes byte-identical files for the same seed, to CSV and to SQLite', () => {
    const one = generateDataset(wide, { rows: 5000, seed: 7 }, { kind: 'csv', file: path.join(dir, 'one.csv') });
    generateDataset(wide, { rows: 5000, seed: 7 }, { kind: 'csv', file: path.join(dir, 'two.csv') });
    generateDataset(wide, { rows: 5000, seed: 8 }, { kind: 'csv', file: path.join(dir, 'three.csv') });
    expect(sha256(path.join(dir, 'one.csv'))).toBe(sha256(path.join(dir, 'two.csv')));
    expect(sha256(path.join(dir, 'one.csv'))).not.toBe(sha256(path.join(dir, 'three.csv')));
    expect(one.rows).toBe(5000);

    const dump = (file: string) => {
      const db = new Database(file, { readonly: true });
      try {
        return db.prepare('SELECT * FROM payments').all();
      } finally {
        db.close();
      }
    };
    generateDataset(wide, { rows: 2000, seed: 7 }, { kind: 'sqlite', file: path.join(dir, 'a.db'), table: 'payments' });
    generateDataset(wide, { rows: 2000, seed: 7 }, { kind: 'sqlite', file: path.join(dir, 'b.db'), table: 'payments' });
    expect(dump(path.join(dir, 'a.db'))).toEqual(dump(path.join(dir, 'b.db')));
  });

  it('does not change the other columns when a label rule is added or replaces a column', () => {
    const plain = Array.from(createSynthesizer(wide, { rows: 3000, seed: 9 }).rows());
    const labelled = Array.from(
      createSynthesizer(wide, { rows: 3000, seed: 9, labels: ['flag ~ logistic(-2 + is_foreign)'] }).rows(),
    );
    expect(labelled.map((row) => row.slice(0, plain[0].length))).toEqual(plain);
    const fraud = columnIndex(wide.columns, 'is_fraud');
    const replaced = Array.from(createSynthesizer(wide, { rows: 3000, seed: 9, labels: ['is_fraud ~ 0.5'] }).rows());
    const without = (row: SynthValue[]) => row.filter((_, i) => i !== fraud);
    expect(replaced.map(without)).toEqual(plain.map(without));
  });

  it('lets a rule read the drawn value of the column it replaces', () => {
    const rows = Array.from(
      createSynthesizer(wide, { rows: 3000, seed: 9, labels: ['is_fraud = if(amount > 200, 1, is_fraud)'] }).rows(),
    );
    const plain = Array.from(createSynthesizer(wide, { rows: 3000, seed: 9 }).rows());
    const fraud = columnIndex(wide.columns, 'is_fraud');
    const amount = columnIndex(wide.columns, 'amount');
    rows.forEach((row, i) => {
      if (typeof row[amount] === 'number' && (row[amount] as number) > 200) expect(row[fraud]).toBe(true);
      else if (row[amount] !== null) expect(row[fraud]).toBe(plain[i][fraud]);
    });
  });
});

describe('generated values', () => {
  let columns: Array<{ name: string }>;
  let rows: SynthValue[][];

  beforeAll(() => {
    ({ columns, rows } = generateRows(wide, { rows: 20_000, seed: 4 }));
  });

  const values = (name: string) => rows.map((r) => r[columnIndex(columns, name)]);

  it('generates identifiers in the source’s format, unique', () => {
    const txn = values('txn_id') as string[];
    expect(txn.every((v) => /^txn_\d{6}$/.test(v))).toBe(true);
    expect(new Set(txn).size).toBe(txn.length);
    const email = wide.columns.find((c) => c.name === 'email')!;
    if (email.type !== 'identifier') throw new Error('email is not an identifier');
    const patterns = email.identifier.formats.map((f) => new RegExp(`^${f.pattern}$`));
    expect((values('email') as string[]).every((v) => patterns.some((p) => p.test(v)))).toBe(true);
    expect(values('id')).toEqual(rows.map((_, i) => i + 1));
  });

  it('keeps missing rates, categories and datetime formats', () => {
    const amount = values('amount');
    const missing = amount.filter((v) => v === null).length / amount.length;
    expect(missing).toBeCloseTo(wide.columns.find((c) => c.name === 'amount')!.missingRate, 2);
    const note = values('note');
    expect(note.filter((v) => v === null).length / note.length).toBeGreaterThan(0.75);
    const merchants = new Set(values('merchant'));
    expect(merchants.has('other')).toBe(true);
    expect([...merchants].some((m) => String(m).startsWith('Zephyr'))).toBe(false);
    const createdAt = generateRows(wide, { rows: 5, seed: 4 });
    const at = columnIndex(createdAt.columns, 'created_at');
    expect(createdAt.columns[at].textAt(0)).toMatch(/^2024-0[1-6]-\d\d \d\d:\d\d:\d\d$/);
  });

  it('reproduces the hour-of-day seasonality of datetimes, and flattens it at seasonality 0', () => {
    const profiled = (wide.columns.find((c) => c.name === 'created_at') as Extract<ColumnProfile, { type: 'datetime' }>)
      .datetime.seasonality.hourOfDay!;
    const hours = (rs: SynthValue[][], cols: Array<{ name: string }>) => {
      const counts = new Array<number>(24).fill(0);
      for (const r of rs) counts[new Date(r[columnIndex(cols, 'created_at')] as number).getUTCHours()]++;
      return counts.map((c) => c / rs.length);
    };
    const asProfiled = hours(rows, columns);
    const tv = (a: number[], b: number[]) => a.reduce((s, x, i) => s + Math.abs(x - b[i]), 0) / 2;
    expect(tv(asProfiled, profiled)).toBeLessThan(0.03);
    const flat = generateRows(wide, { rows: 20_000, seed: 4, seasonality: 0 });
    const flatHours = hours(flat.rows, flat.columns);
    expect(Math.max(...flatHours)).toBeLessThan(0.06);
    expect(Math.max(...asProfiled)).toBeGreaterThan(0.08);
  });

  it('adds missing values, noise and drift when asked', () => {
    const knobs = generateRows(wide, { rows: 20_000, seed: 4, missingRate: 0.05, noise: 0.3, drift: 1 });
    const at = (name: string) => knobs.rows.map((r) => r[columnIndex(knobs.columns, name)]);
    const risk = at('merchant_risk');
    expect(risk.filter((v) => v === null).length / risk.length).toBeCloseTo(0.05, 1);
    expect(at('txn_id').every((v) => v !== null)).toBe(true);
    const mean = (xs: SynthValue[]) => {
      const ns = xs.filter((x): x is number => typeof x === 'number');
      return ns.reduce((a, b) => a + b, 0) / ns.length;
    };
    const age = at('account_age_days');
    expect(mean(age.slice(-2000))).toBeGreaterThan(mean(age.slice(0, 2000)) + 200);
    expect(knobs.fidelity.overall).toBeLessThan(generateRows(wide, { rows: 20_000, seed: 4 }).fidelity.overall);
  });

  it('writes values in the source’s representation: tokens for booleans, text for datetimes', () => {
    const file = path.join(dir, 'values.csv');
    generateDataset(wide, { rows: 200, seed: 5 }, { kind: 'csv', file });
    const [header, first] = fs.readFileSync(file, 'utf8').split('\n');
    expect(header).toBe(SOURCE_COLUMNS.join(','));
    const cells = first.split(',');
    expect(cells[SOURCE_COLUMNS.indexOf('is_fraud')]).toMatch(/^[01]$/);
    expect(parseDatetime(cells[SOURCE_COLUMNS.indexOf('created_at')])).toBeDefined();
  });
});

describe('label rules', () => {
  it('draws a label from a logistic rule over the generated features', () => {
    const rule = 'is_fraud ~ logistic(-6 + 4 * merchant_risk + 2.5 * is_foreign + 0.8 * (channel == "web"))';
    const { rows, columns, fidelity } = generateRows(transactions, { rows: 20_000, seed: 6, labels: [rule] });
    const label = columnIndex(columns, 'is_fraud');
    const foreign = columnIndex(columns, 'is_foreign');
    expect(columns[label].rule).toBe(rule);
    const rate = (filter: (r: SynthValue[]) => boolean) => {
      const rs = rows.filter(filter);
      return rs.filter((r) => r[label] === true).length / rs.length;
    };
    expect(rate((r) => r[foreign] === true)).toBeGreaterThan(3 * rate((r) => r[foreign] === false));
    expect(rows.every((r) => typeof r[label] === 'boolean')).toBe(true);
    expect(fidelity.columnShapes.columns.find((c) => c.column === 'is_fraud')).toBeDefined();
  });

  it('draws an existing boolean column from `=` too: the value is the probability of true', () => {
    const { rows, columns } = generateRows(transactions, {
      rows: 20_000,
      seed: 6,
      labels: ['is_fraud = logistic(-3 + 3 * is_foreign)'],
    });
    const label = columnIndex(columns, 'is_fraud');
    const foreign = columnIndex(columns, 'is_foreign');
    const rate = (value: boolean) => {
      const rs = rows.filter((r) => r[foreign] === value);
      return rs.filter((r) => r[label] === true).length / rs.length;
    };
    expect(rate(true)).toBeCloseTo(0.5, 1);
    expect(rate(false)).toBeCloseTo(1 / (1 + Math.exp(3)), 1);
  });

  it('adds a new column for a rule naming one the profile does not have', () => {
    const synth = createSynthesizer(transactions, {
      rows: 10,
      seed: 1,
      labels: ['risk_band = if(merchant_risk > 0.5, "high", "low")', 'score = round(100 * merchant_risk)'],
    });
    expect(synth.columns.slice(-2).map((c) => [c.name, c.type])).toEqual([
      ['risk_band', 'categorical'],
      ['score', 'numeric'],
    ]);
    const risk = columnIndex(synth.columns, 'merchant_risk');
    for (const row of synth.rows()) {
      expect(row[row.length - 2]).toBe((row[risk] as number) > 0.5 ? 'high' : 'low');
      expect(row[row.length - 1]).toBe(Math.round(100 * (row[risk] as number)));
    }
  });

  it('refuses a rule naming an unknown column or giving text for a number column', () => {
    expect(() => createSynthesizer(transactions, { rows: 1, seed: 1, labels: ['y ~ logistic(amout)'] })).toThrow(
      /^--label "y ~ logistic\(amout\)": at character 14: no column named "amout"; columns: id, txn_id, amount/,
    );
    expect(() => createSynthesizer(transactions, { rows: 1, seed: 1, labels: ['amount = channel'] })).toThrow(
      '--label "amount = channel": column "amount": the column holds numbers but the rule gives text',
    );
  });
});

describe('SQLite output', () => {
  it('creates the table with typed columns and refuses to overwrite one without replace', () => {
    const file = path.join(dir, 'env.db');
    const result = generateDataset(wide, { rows: 3000, seed: 1 }, { kind: 'sqlite', file, table: 'payments' });
    expect(result.fidelity.overall).toBeGreaterThanOrEqual(0.85);
    const db = new Database(file, { readonly: true });
    try {
      const info = db.prepare('PRAGMA table_info(payments)').all() as Array<{ name: string; type: string }>;
      expect(Object.fromEntries(info.map((c) => [c.name, c.type]))).toMatchObject({
        id: 'INTEGER',
        amount: 'REAL',
        is_fraud: 'INTEGER',
        created_at: 'TEXT',
        merchant: 'TEXT',
      });
      expect(db.prepare('SELECT count(*) AS n FROM payments').get()).toEqual({ n: 3000 });
      expect(db.prepare("SELECT count(*) AS n FROM sqlite_master WHERE name LIKE '_strata_staging_%'").get()).toEqual({
        n: 0,
      });
    } finally {
      db.close();
    }
    expect(() => generateDataset(wide, { rows: 10, seed: 1 }, { kind: 'sqlite', file, table: 'payments' })).toThrow(
      `${file}: table "payments": already exists; pass --replace to overwrite it, or name another --table`,
    );
    generateDataset(wide, { rows: 10, seed: 1 }, { kind: 'sqlite', file, table: 'payments', replace: true });
    const again = new Database(file, { readonly: true });
    expect(again.prepare('SELECT count(*) AS n FROM payments').get()).toEqual({ n: 10 });
    again.close();
  });
});
