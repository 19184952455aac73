// Synthetic labelled card transactions for the fraud-scoring example candidates.
//
// Every value is drawn from one xoroshiro128+ stream seeded by `spec.seed`, in a fixed order, so a
// seed always yields the same rows and the same database file. Labels come from a hidden logistic
// model over the features plus latent noise; the noise is what keeps even the best model's AUC
// near 0.9 rather than 1.

import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { uniformFloat64 } from 'pure-rand/distribution/uniformFloat64';
import type { SeedSpec } from '../domain/ladder';
import { fsyncDirectory } from '../tools/files';
import { seededXoroshiro } from './profile/random';

export const TRANSACTIONS_TABLE = 'transactions';
export const TRANSACTIONS_LABEL = 'is_fraud';

export const CHANNELS = ['web', 'pos', 'app'] as const;
export type Channel = (typeof CHANNELS)[number];

/**
 * Columns of the table, in order, with their SQLite declared types. No NOT NULL constraints: this
 * generator never writes a null, but later data steps (e.g. missing values in a fidelity layer)
 * may, and the consistency gate is what judges null rates.
 */
export const TRANSACTION_COLUMNS = [
  { name: 'id', type: 'INTEGER PRIMARY KEY' },
  { name: 'txn_id', type: 'TEXT' },
  { name: 'amount', type: 'REAL' },
  { name: 'merchant_risk', type: 'REAL' },
  { name: 'account_age_days', type: 'INTEGER' },
  { name: 'hour', type: 'INTEGER' },
  { name: 'is_foreign', type: 'INTEGER' },
  { name: 'velocity_24h', type: 'INTEGER' },
  { name: 'channel', type: 'TEXT' },
  { name: 'is_fraud', type: 'INTEGER' },
] as const;

export type TransactionColumn = (typeof TRANSACTION_COLUMNS)[number]['name'];

/** The feature columns a candidate scores (everything except the ids and the label). */
export const TRANSACTION_FEATURES = [
  'amount',
  'merchant_risk',
  'account_age_days',
  'hour',
  'is_foreign',
  'velocity_24h',
  'channel',
] as const satisfies readonly TransactionColumn[];

export interface Transaction {
  id: number;
  txn_id: string;
  /** In the card's currency, two decimals, >= 0. */
  amount: number;
  /** In [0, 1], four decimals. */
  merchant_risk: number;
  account_age_days: number;
  /** Local hour of the transaction, 0..23. */
  hour: number;
  is_foreign: 0 | 1;
  /** Transactions on the same card in the previous 24 hours. */
  velocity_24h: number;
  channel: Channel;
  is_fraud: 0 | 1;
}

/**
 * The hidden "true" model. Exported so tests and the example training script can reason about the
 * data; candidates never see it. Logit = intercept + sum of terms + N(0, noiseSd).
 */
export const TRUE_FRAUD_MODEL = {
  /** Sets the fraud base rate near 17 %. */
  intercept: -7.5,
  logAmount: 1.7, // per unit of ln(1 + amount) above 3.6
  merchantRisk: 4.85,
  logAccountAge: -1.1, // per unit of ln(1 + days) above 6
  night: 2.2, // hour in 0..5
  foreign: 2.8,
  velocity: 0.7, // per transaction, capped at 10
  channel: { web: 1.2, app: 0.6, pos: 0 } as Record<Channel, number>,
  /** Latent noise on the logit: information no feature carries. */
  noiseSd: 1.2,
} as const;

function assertSpec(spec: SeedSpec): void {
  if (!Number.isSafeInteger(spec.rows) || spec.rows < 0) {
    throw new RangeError(`transactions: rows must be a non-negative integer, got ${spec.rows}`);
  }
  if (!Number.isSafeInteger(spec.seed)) {
    throw new RangeError(`transactions: seed must be an integer, got ${spec.seed}`);
  }
}

// The same seeding as the synthesizer's streams (stream salt 0): seeds 1, 2, 3... are independent.
function createRandom(seed: number): () => number {
  const rng = seededXoroshiro(seed);
  return () => uniformFloat64(rng);
}

class Draws {
  constructor(private readonly uniform: () => number) {}

  /** Uniform in [0, 1). */
  next(): number {
    return this.uniform();
  }

  /** Standard normal (Box-Muller; uses 1 - u so the logarithm never sees 0). */
  normal(): number {
    const u1 = 1 - this.uniform();
    const u2 = this.uniform();
    return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
  }

  exponential(mean: number): number {
    return -Math.log(1 - this.uniform()) * mean;
  }

  /** Knuth's method; fine for the small means used here. */
  poisson(mean: number): number {
    const limit = Math.exp(-mean);
    let k = 0;
    let p = this.uniform();
    while (p > limit) {
      k++;
      p *= this.uniform();
    }
    return k;
  }
}

const round = (x: number, digits: number): number => {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
};

function fraudLogit(t: Omit<Transaction, 'id' | 'txn_id' | 'is_fraud'>, noise: number): number {
  const m = TRUE_FRAUD_MODEL;
  return (
    m.intercept +
    m.logAmount * (Math.log1p(t.amount) - 3.6) +
    m.merchantRisk * t.merchant_risk +
    m.logAccountAge * (Math.log1p(t.account_age_days) - 6) +
    (t.hour <= 5 ? m.night : 0) +
    (t.is_foreign ? m.foreign : 0) +
    m.velocity * Math.min(t.velocity_24h, 10) +
    m.channel[t.channel] +
    m.noiseSd * noise
  );
}

/** Yields the rows one by one, so seeding a large table does not hold it in memory. */
export function* transactionRows(spec: SeedSpec): Generator<Transaction> {
  assertSpec(spec);
  const d = new Draws(createRandom(spec.seed));
  for (let id = 1; id <= spec.rows; id++) {
    // The draw order below is part of the dataset's definition: changing it changes every seed.
    const c = d.next();
    const channel: Channel = c < 0.45 ? 'pos' : c < 0.8 ? 'web' : 'app';
    const amount = round(Math.exp(3.6 + 1.1 * d.normal()), 2);
    const merchant_risk = round(d.next() ** 1.8, 4);
    const account_age_days = Math.min(Math.floor(d.exponential(600)), 7300);
    // Mostly daytime traffic around 14:00, plus a uniform tail that covers the night.
    const hour = d.next() < 0.82 ? ((Math.floor(14 + 4 * d.normal()) % 24) + 24) % 24 : Math.floor(d.next() * 24);
    const is_foreign: 0 | 1 = d.next() < 0.08 ? 1 : 0;
    const velocity_24h = d.poisson(1.5);
    const features = { amount, merchant_risk, account_age_days, hour, is_foreign, velocity_24h, channel };
    const p = 1 / (1 + Math.exp(-fraudLogit(features, d.normal())));
    const is_fraud: 0 | 1 = d.next() < p ? 1 : 0;
    yield { id, txn_id: `txn_${String(id).padStart(6, '0')}`, ...features, is_fraud };
  }
}

/** All rows of the dataset for `spec`, as objects. */
export function generateTransactions(spec: SeedSpec): Transaction[] {
  return Array.from(transactionRows(spec));
}

/**
 * Creates (or replaces) the SQLite database at `dbPath` holding the `transactions` table for
 * `spec`. The file is written under a temporary name and renamed into place, so a crash leaves
 * either the previous file or the complete new one, never a half-seeded database.
 */
export function seedTransactions(dbPath: string, spec: SeedSpec): { rows: number } {
  assertSpec(spec);
  const target = path.resolve(dbPath);
  const dir = path.dirname(target);
  fs.mkdirSync(dir, { recursive: true });
  const tmp = `${target}.${process.pid}.seeding`;
  fs.rmSync(tmp, { force: true });
  fs.rmSync(`${tmp}-journal`, { force: true });

  let rows = 0;
  try {
    const db = new Database(tmp);
    try {
      const columns = TRANSACTION_COLUMNS.map((c) => `${c.name} ${c.type}`).join(', ');
      db.exec(`CREATE TABLE ${TRANSACTIONS_TABLE} (${columns})`);
      const names = TRANSACTION_COLUMNS.map((c) => c.name);
      const insert = db.prepare(
        `INSERT INTO ${TRANSACTIONS_TABLE} (${names.join(', ')}) VALUES (${names.map((n) => `@${n}`).join(', ')})`,
      );
      db.transaction(() => {
        for (const row of transactionRows(spec)) {
          insert.run(row);
          rows++;
        }
      })();
    } finally {
      db.close();
    }
    fs.renameSync(tmp, target);
    fsyncDirectory(dir);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    fs.rmSync(`${tmp}-journal`, { force: true });
    throw err;
  }
  return { rows };
}
