import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseDatetime } from '../../../src/data/profile/datetime';
import { DataInputError } from '../../../src/data/profile/errors';
import { profileRows, profileSource } from '../../../src/data/profile/profiler';
import { type ColumnProfile, type DataProfile, loadProfile, profileSchema } from '../../../src/data/profile/schema';
import {
  dropPostgresTable,
  SOURCE_COLUMNS,
  type SourceRow,
  sourceRows,
  writeSourceCsv,
  writeSourcePostgres,
  writeSourceSqlite,
} from '../../fixtures/profile/sources';
import { testPostgres } from '../../helpers/postgres';

// STRATA_TEST_POSTGRES_URL, the server at 127.0.0.1:5432, or a private one started for this file.
const postgres = testPostgres();

const ROWS = 20_000;
const K = 10;

let dir: string;
let rows: SourceRow[];
let csvFile: string;
let profile: DataProfile;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-profile-'));
  rows = sourceRows(ROWS);
  csvFile = path.join(dir, 'transactions.csv');
  writeSourceCsv(csvFile, rows);
  profile = await profileSource(csvFile, { table: 'transactions' });
});

afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

const column = (p: DataProfile, name: string): ColumnProfile => {
  const c = p.columns.find((x) => x.name === name);
  if (!c) throw new Error(`no column ${name}`);
  return c;
};

/** Values of `name` seen fewer than K times in the source, as the source writes them. */
function rareValues(name: string): string[] {
  const j = SOURCE_COLUMNS.indexOf(name as (typeof SOURCE_COLUMNS)[number]);
  const counts = new Map<string, number>();
  for (const row of rows) {
    const v = row[j];
    if (v === null) continue;
    counts.set(String(v), (counts.get(String(v)) ?? 0) + 1);
  }
  return [...counts.entries()].filter(([, c]) => c < K).map(([v]) => v);
}

/** Every number a column's profile publishes as a value of the column (not counts or shares). */
function publishedValues(c: ColumnProfile): number[] {
  const dist =
    c.type === 'numeric' || c.type === 'integer' ? c.numeric : c.type === 'datetime' ? c.datetime : undefined;
  if (!dist) return [];
  const discrete = 'discrete' in dist && dist.discrete ? dist.discrete.values.map((v) => v.value) : [];
  return [
    dist.min,
    dist.max,
    dist.mean,
    ...Object.values(dist.quantiles),
    ...dist.percentiles,
    ...dist.histogram.edges,
    ...discrete,
  ];
}

describe('profile of a CSV source', () => {
  it('validates against the profile schema and counts every row', () => {
    expect(profileSchema.safeParse(profile).success).toBe(true);
    expect(profile.rows).toBe(ROWS);
    expect(profile.table).toBe('transactions');
    expect(profile.source.kind).toBe('csv');
    expect(profile.k).toBe(K);
  });

  it('infers each column type', () => {
    const types = Object.fromEntries(profile.columns.map((c) => [c.name, c.type]));
    expect(types).toEqual({
      id: 'identifier',
      txn_id: 'identifier',
      created_at: 'datetime',
      amount: 'numeric',
      merchant_risk: 'numeric',
      account_age_days: 'integer',
      hour: 'integer',
      is_foreign: 'boolean',
      velocity_24h: 'integer',
      channel: 'categorical',
      merchant: 'categorical',
      country: 'categorical',
      email: 'identifier',
      note: 'free-text',
      is_fraud: 'boolean',
    });
  });

  it('measures missing rates exactly', () => {
    for (const name of ['amount', 'note', 'channel']) {
      const j = SOURCE_COLUMNS.indexOf(name as (typeof SOURCE_COLUMNS)[number]);
      const missing = rows.filter((r) => r[j] === null).length;
      const c = column(profile, name);
      expect(c.missing).toBe(missing);
      expect(c.missingRate).toBeCloseTo(missing / ROWS, 6);
    }
    expect(column(profile, 'amount').missingRate).toBeGreaterThan(0.02);
    expect(column(profile, 'note').missingRate).toBeGreaterThan(0.75);
  });

  it('records identifiers and free text by format only', () => {
    const txn = column(profile, 'txn_id');
    expect(txn.type === 'identifier' && txn.identifier.formats.map((f) => f.pattern)).toEqual(['txn_\\d{6}']);
    const email = column(profile, 'email');
    if (email.type !== 'identifier') throw new Error('email is not an identifier');
    expect(email.identifier.formats[0].pattern).toMatch(/@/);
    for (const f of email.identifier.formats) {
      // Every published pattern matches real values: it is a shape, not a value.
      expect(rows.some((r) => new RegExp(`^${f.pattern}$`).test(String(r[12])))).toBe(true);
    }
    const id = column(profile, 'id');
    expect(id.type === 'identifier' && id.identifier).toMatchObject({
      kind: 'integer',
      sequential: true,
      distinctRatio: 1,
    });
    const note = column(profile, 'note');
    if (note.type !== 'free-text') throw new Error('note is not free text');
    expect(note.text.length.min).toBeGreaterThan(10);
    expect(note.text.words.mean).toBeGreaterThan(4);
  });

  it('folds categories seen fewer than k times into other', () => {
    const merchant = column(profile, 'merchant');
    if (merchant.type !== 'categorical') throw new Error('merchant is not categorical');
    const j = SOURCE_COLUMNS.indexOf('merchant');
    const counts = new Map<string, number>();
    for (const r of rows) counts.set(String(r[j]), (counts.get(String(r[j])) ?? 0) + 1);
    const frequent = [...counts.entries()].filter(([, c]) => c >= K);
    const rare = [...counts.entries()].filter(([, c]) => c < K);
    expect(rare.length).toBeGreaterThan(100);
    expect(merchant.categorical.categories.map((c) => c.value).sort()).toEqual(frequent.map(([v]) => v).sort());
    expect(merchant.categorical.categories.every((c) => c.count >= K)).toBe(true);
    expect(merchant.categorical.other).toEqual({ count: rare.reduce((s, [, c]) => s + c, 0), distinct: rare.length });

    const country = column(profile, 'country');
    expect(country.type === 'categorical' && country.categorical.categories.map((c) => c.value).sort()).toEqual([
      'CA',
      'DE',
      'FR',
      'GB',
      'NL',
      'US',
    ]);
  });

  it('publishes no value seen fewer than k times: the serialized profile does not contain any', () => {
    const json = JSON.stringify(profile);
    let checked = 0;
    // Text values: searched as strings in the whole serialized profile (quoted, and — from four
    // characters on, where a match cannot be an accident of some other word — as a substring).
    for (const name of ['txn_id', 'created_at', 'channel', 'merchant', 'country', 'email', 'note'] as const) {
      for (const value of rareValues(name)) {
        expect(json.includes(JSON.stringify(value)), `${name} value ${value}`).toBe(false);
        if (value.length >= 4) expect(json.includes(value), `${name} value ${value}`).toBe(false);
        checked++;
      }
    }
    // Numbers: digits are everywhere in a JSON document (counts, shares, correlations), so a
    // substring search would prove nothing; instead no number the profile publishes as a value of
    // the column — bounds, mean, quantiles, percentiles, histogram edges, frequent values — equals
    // a rare value, and the column's entry does not hold it as a string either.
    for (const name of [
      'id',
      'amount',
      'merchant_risk',
      'account_age_days',
      'hour',
      'velocity_24h',
      'created_at',
    ] as const) {
      const entry = column(profile, name);
      const published = new Set(publishedValues(entry));
      const entryJson = JSON.stringify(entry);
      for (const value of rareValues(name)) {
        const asNumber = name === 'created_at' ? parseDatetime(value)!.epochMs : Number(value);
        expect(published.has(asNumber), `${name} value ${value}`).toBe(false);
        expect(entryJson.includes(JSON.stringify(value)), `${name} value ${value}`).toBe(false);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(ROWS); // ids, emails, timestamps and most amounts are unique
    expect(rareValues('merchant').some((v) => v.startsWith('Zephyr Curios'))).toBe(true);
    expect(json).not.toContain('Zephyr');
  });

  it('publishes quantiles and bounds only on the half-grid, where no source value can lie', () => {
    for (const name of ['amount', 'merchant_risk', 'account_age_days', 'hour', 'velocity_24h'] as const) {
      const c = column(profile, name);
      if (c.type !== 'numeric' && c.type !== 'integer') throw new Error(`${name} is ${c.type}`);
      const resolution = 10 ** -c.numeric.decimals;
      const discrete = new Set(c.numeric.discrete?.values.map((v) => v.value) ?? []);
      for (const x of publishedValues(c)) {
        if (discrete.has(x)) continue; // frequent values are published as themselves
        const units = x / resolution;
        expect(Math.abs(units - Math.floor(units) - 0.5), `${name} ${x}`).toBeLessThan(1e-6);
      }
    }
    const amount = column(profile, 'amount');
    if (amount.type !== 'numeric') throw new Error('amount is not numeric');
    expect(amount.numeric.decimals).toBe(2);
    // Bounds cover the k-th smallest and largest values, rounded outwards until they stand for k
    // values; the extremes themselves are beyond them.
    const sorted = rows
      .map((r) => r[3])
      .filter((v): v is number => typeof v === 'number')
      .sort((a, b) => a - b);
    expect(amount.numeric.min).toBeLessThan(sorted[K - 1]);
    expect(amount.numeric.max).toBeGreaterThan(sorted[sorted.length - K]);
    expect(amount.numeric.max).toBeLessThan(2 * sorted[sorted.length - 1]);
    expect(sorted[sorted.length - 1]).toBeGreaterThan(amount.numeric.max - 1000); // not published exactly, nor far off
    // Where the data is dense, quantiles stay precise.
    expect(amount.numeric.quantiles.p50).toBeCloseTo(sorted[Math.floor(sorted.length / 2)], 1);
    expect(amount.numeric.histogram.counts.reduce((a, b) => a + b, 0)).toBe(sorted.length);
  });

  it('records datetime seasonality by hour, weekday and month', () => {
    const c = column(profile, 'created_at');
    if (c.type !== 'datetime') throw new Error('created_at is not a datetime');
    expect(c.datetime.format).toBe('YYYY-MM-DD HH:mm:ss');
    expect(c.datetime.resolutionMs).toBe(1000);
    const { hourOfDay, dayOfWeek, month } = c.datetime.seasonality;
    expect(hourOfDay!.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 4);
    expect(dayOfWeek!.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 4);
    // The source's daytime peak around 14:00 shows; its January–June range too.
    expect(hourOfDay![14]).toBeGreaterThan(2 * hourOfDay![3]);
    expect(month.slice(6).every((m) => m === 0)).toBe(true);
    expect(month.slice(0, 6).every((m) => m > 0.1)).toBe(true);
  });

  it('measures Spearman and Cramér’s V associations and a correlation matrix for the copula', () => {
    const spearman = profile.associations.filter((a) => a.method === 'spearman');
    const cramer = profile.associations.filter((a) => a.method === 'cramers_v');
    expect(spearman.some((a) => a.columns.join() === 'amount,merchant_risk')).toBe(true);
    expect(cramer.some((a) => a.columns.join() === 'is_foreign,is_fraud')).toBe(true);
    // Foreign transactions are far more often fraud in the source: a clear association.
    expect(cramer.find((a) => a.columns.join() === 'is_foreign,is_fraud')!.value).toBeGreaterThan(0.1);
    const { columns, correlation } = profile.copula;
    expect(columns).toEqual([
      'created_at',
      'amount',
      'merchant_risk',
      'account_age_days',
      'hour',
      'is_foreign',
      'velocity_24h',
      'channel',
      'merchant',
      'country',
      'is_fraud',
    ]);
    const fraud = columns.indexOf('is_fraud');
    expect(correlation[fraud][columns.indexOf('merchant_risk')]).toBeGreaterThan(0.2);
    expect(correlation[fraud][columns.indexOf('account_age_days')]).toBeLessThan(-0.2);
    correlation.forEach((row, i) => row.forEach((x, j) => expect(x).toBe(correlation[j][i])));
  });

  it('honours --k and --format-only', async () => {
    const strict = profileRows('t', [...SOURCE_COLUMNS], rows, { k: 2000, formatOnly: ['country'] });
    const merchant = column(strict, 'merchant');
    expect(merchant.type === 'categorical' && merchant.categorical.categories.every((c) => c.count >= 2000)).toBe(true);
    expect(column(strict, 'country').type).toBe('identifier');
    expect(JSON.stringify(column(strict, 'country'))).not.toContain('"US"');
    expect(() => profileRows('t', ['a'], [['x']], { formatOnly: ['b'] })).toThrow(/column "b": no such column/);
  });
});

describe('profile of SQLite and PostgreSQL sources', () => {
  /** The parts of a profile that depend on the data alone. */
  const content = (p: DataProfile) => ({
    rows: p.rows,
    columns: p.columns,
    associations: p.associations,
    copula: p.copula,
  });

  it('gives the CSV profile for the same rows in a SQLite table', async () => {
    const file = path.join(dir, 'source.db');
    writeSourceSqlite(file, 'txns', rows);
    const fromSqlite = await profileSource(file, { table: 'txns' });
    expect(fromSqlite.source.kind).toBe('sqlite');
    expect(fromSqlite.table).toBe('txns');
    expect(content(fromSqlite)).toEqual(content(profile));
    // A single-table database needs no --table.
    expect((await profileSource(file)).table).toBe('txns');
  });

  it('gives the CSV profile for the same rows in a PostgreSQL table, read through a cursor', async () => {
    const table = `strata_profile_${process.pid}_${Date.now().toString(36)}`;
    await writeSourcePostgres(postgres.url, table, rows);
    try {
      const fromPostgres = await profileSource(postgres.url, { table });
      expect(fromPostgres.source.kind).toBe('postgres');
      expect(content(fromPostgres)).toEqual(content(profile));
    } finally {
      await dropPostgresTable(postgres.url, table);
    }
  });

  it('refuses a missing table, naming it and the tables there are', async () => {
    const file = path.join(dir, 'source.db');
    await expect(profileSource(file, { table: 'nope' })).rejects.toThrow(
      `${file}: table "nope": no such table; the database holds txns`,
    );
    await expect(profileSource(postgres.url, { table: 'strata_no_such_table' })).rejects.toThrow(
      `${postgres.url}: table "strata_no_such_table": no such table`,
    );
  });
});

describe('profile of an empty table', () => {
  it('is an error naming the file and the table, for CSV, SQLite and PostgreSQL', async () => {
    const csv = path.join(__dirname, '../../fixtures/profile/header-only.csv');
    const err = await profileSource(csv).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DataInputError);
    expect((err as Error).message).toBe(
      `${csv}: table "header-only": the table has no rows; a profile needs at least one`,
    );

    const file = path.join(dir, 'empty.db');
    const db = new Database(file);
    db.exec('CREATE TABLE payments (id INTEGER, amount REAL)');
    db.close();
    await expect(profileSource(file, { table: 'payments' })).rejects.toThrow(
      `${file}: table "payments": the table has no rows`,
    );

    const table = `strata_empty_${process.pid}_${Date.now().toString(36)}`;
    await writeSourcePostgres(postgres.url, table, []);
    try {
      await expect(profileSource(postgres.url, { table })).rejects.toThrow(`table "${table}": the table has no rows`);
    } finally {
      await dropPostgresTable(postgres.url, table);
    }
  });
});

describe('loadProfile', () => {
  it('names the file when the JSON does not parse', () => {
    const file = path.join(__dirname, '../../fixtures/profile/corrupt-profile.json');
    expect(() => loadProfile(file)).toThrow(
      new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: not a valid profile: the JSON does not parse`),
    );
  });

  it('names the file and the path of each field that does not fit the schema', () => {
    const file = path.join(dir, 'bad-profile.json');
    const broken = structuredClone(profile) as unknown as {
      columns: Array<{ type: string; numeric: Record<string, unknown> }>;
    };
    broken.columns[3].numeric.percentiles = [1, 2, 3];
    broken.columns[9].type = 'colour';
    fs.writeFileSync(file, JSON.stringify(broken));
    let message = '';
    try {
      loadProfile(file);
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toContain(`${file}: columns[3].numeric.percentiles:`);
    expect(message).toContain(`${file}: columns[9].type:`);
    expect(() => loadProfile(path.join(dir, 'missing.json'))).toThrow(/missing\.json: no such profile file/);
  });

  it('reads back what the profiler wrote', () => {
    const file = path.join(dir, 'profile.json');
    fs.writeFileSync(file, JSON.stringify(profile));
    expect(loadProfile(file)).toEqual(profile);
  });
});
