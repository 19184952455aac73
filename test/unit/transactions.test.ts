import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CHANNELS,
  generateTransactions,
  seedTransactions,
  TRANSACTION_COLUMNS,
  TRANSACTIONS_TABLE,
  type Transaction,
} from '../../src/data/transactions';

const sha256 = (file: string): string => createHash('sha256').update(fs.readFileSync(file)).digest('hex');

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-transactions-'));
});
afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('generateTransactions', () => {
  it('returns exactly `rows` rows with sequential ids', () => {
    const rows = generateTransactions({ rows: 250, seed: 1 });
    expect(rows).toHaveLength(250);
    expect(rows[0]).toMatchObject({ id: 1, txn_id: 'txn_000001' });
    expect(rows[249]).toMatchObject({ id: 250, txn_id: 'txn_000250' });
    expect(generateTransactions({ rows: 0, seed: 1 })).toEqual([]);
  });

  it('is fully determined by the seed', () => {
    expect(generateTransactions({ rows: 500, seed: 42 })).toEqual(generateTransactions({ rows: 500, seed: 42 }));
  });

  it('differs between seeds, even neighbouring ones', () => {
    const a = generateTransactions({ rows: 200, seed: 1 });
    const b = generateTransactions({ rows: 200, seed: 2 });
    const same = a.filter((row, i) => row.amount === b[i].amount).length;
    expect(same).toBeLessThan(5);
  });

  it('gives the first rows of a larger request identically (rows are drawn in order)', () => {
    expect(generateTransactions({ rows: 1000, seed: 9 }).slice(0, 100)).toEqual(
      generateTransactions({ rows: 100, seed: 9 }),
    );
  });

  it('keeps every value in its declared range, with no nulls', () => {
    const rows = generateTransactions({ rows: 5000, seed: 3 });
    const isCount = (x: number) => Number.isInteger(x) && x >= 0;
    const bad = rows.filter(
      (r) =>
        TRANSACTION_COLUMNS.some(({ name }) => r[name as keyof Transaction] == null) ||
        !(r.amount >= 0) ||
        !(r.merchant_risk >= 0 && r.merchant_risk <= 1) ||
        !isCount(r.account_age_days) ||
        !(isCount(r.hour) && r.hour <= 23) ||
        ![0, 1].includes(r.is_foreign) ||
        !isCount(r.velocity_24h) ||
        !CHANNELS.includes(r.channel) ||
        ![0, 1].includes(r.is_fraud),
    );
    expect(bad).toEqual([]);
    // every channel and every hour actually occurs
    expect(new Set(rows.map((r) => r.channel)).size).toBe(3);
    expect(new Set(rows.map((r) => r.hour)).size).toBe(24);
  });

  it.each([1, 2, 3, 4, 5])('has a fraud rate between 10 %% and 20 %% (seed %i)', (seed) => {
    const rows = generateTransactions({ rows: 5000, seed });
    const rate = rows.reduce((n, r) => n + r.is_fraud, 0) / rows.length;
    expect(rate).toBeGreaterThan(0.1);
    expect(rate).toBeLessThan(0.2);
  });

  it('labels depend on the features (high merchant risk is riskier)', () => {
    const rows = generateTransactions({ rows: 10000, seed: 4 });
    const rate = (xs: Transaction[]) => xs.reduce((n, r) => n + r.is_fraud, 0) / xs.length;
    expect(rate(rows.filter((r) => r.merchant_risk > 0.7))).toBeGreaterThan(
      2 * rate(rows.filter((r) => r.merchant_risk < 0.2)),
    );
  });

  it('rejects a spec it cannot honour', () => {
    expect(() => generateTransactions({ rows: -1, seed: 1 })).toThrow(/rows/);
    expect(() => generateTransactions({ rows: 1.5, seed: 1 })).toThrow(/rows/);
    expect(() => generateTransactions({ rows: 1, seed: 0.5 })).toThrow(/seed/);
  });
});

describe('seedTransactions', () => {
  it('writes the generated rows to the transactions table', () => {
    const file = path.join(dir, 'rows.db');
    expect(seedTransactions(file, { rows: 300, seed: 5 })).toEqual({ rows: 300 });
    const db = new Database(file, { readonly: true });
    try {
      const columns = (db.prepare(`PRAGMA table_info(${TRANSACTIONS_TABLE})`).all() as { name: string }[]).map(
        (c) => c.name,
      );
      expect(columns).toEqual(TRANSACTION_COLUMNS.map((c) => c.name));
      const stored = db.prepare(`SELECT * FROM ${TRANSACTIONS_TABLE} ORDER BY id`).all();
      expect(stored).toEqual(generateTransactions({ rows: 300, seed: 5 }));
    } finally {
      db.close();
    }
  });

  it('produces byte-identical files for the same seed and different ones for another seed', () => {
    const a = path.join(dir, 'a.db');
    const b = path.join(dir, 'nested', 'b.db'); // parent created on demand
    const c = path.join(dir, 'c.db');
    seedTransactions(a, { rows: 2000, seed: 11 });
    seedTransactions(b, { rows: 2000, seed: 11 });
    seedTransactions(c, { rows: 2000, seed: 12 });
    expect(sha256(a)).toBe(sha256(b));
    expect(sha256(a)).not.toBe(sha256(c));
  });

  it('replaces an existing database and leaves no temporary file behind', () => {
    const file = path.join(dir, 'replace.db');
    seedTransactions(file, { rows: 50, seed: 1 });
    seedTransactions(file, { rows: 80, seed: 2 });
    const db = new Database(file, { readonly: true });
    try {
      expect((db.prepare(`SELECT COUNT(*) AS n FROM ${TRANSACTIONS_TABLE}`).get() as { n: number }).n).toBe(80);
    } finally {
      db.close();
    }
    expect(fs.readdirSync(dir).filter((f) => f.startsWith('replace.db'))).toEqual(['replace.db']);
  });

  it('leaves the previous file untouched and cleans up when seeding fails', () => {
    const file = path.join(dir, 'keep.db');
    seedTransactions(file, { rows: 20, seed: 1 });
    const before = sha256(file);
    expect(() => seedTransactions(file, { rows: -5, seed: 1 })).toThrow(/rows/);
    expect(sha256(file)).toBe(before);

    // The final rename fails (the target is a non-empty directory): nothing may be left behind.
    const blocked = path.join(dir, 'blocked.db');
    fs.mkdirSync(blocked);
    fs.writeFileSync(path.join(blocked, 'occupant'), '');
    expect(() => seedTransactions(blocked, { rows: 20, seed: 1 })).toThrow();
    expect(fs.readdirSync(dir).filter((f) => f.startsWith('blocked.db'))).toEqual(['blocked.db']);
  });
});
