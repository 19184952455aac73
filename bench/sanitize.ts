// `npm run bench -- sanitize [--rows N] [--baseline-rows N] [--rounds N] [--memory]`
//
// Throughput of the streaming sanitizer (src/data/masking) against a straightforward per-row
// implementation of the same policy, in one run, on the same generated customers CSV (~200k rows,
// no quoted fields, so that the baseline's `split(',')` reads it correctly):
//
// - streaming: sanitize() into an environment's data.db (temp copy, batched transactions, keys
//   derived once, cheap reseeding of faker), and into a CSV file;
// - per-row baseline: readFileSync + split, the environment key re-derived (HKDF) for every row,
//   faker reseeded with its own Mersenne Twister, one INSERT per row with no transaction (each row
//   its own commit). Its commits make it slow, so it runs on --baseline-rows rows (default 10k):
//   rows/s do not depend on the row count for a per-row loop;
// - the same per-row baseline inside one transaction, on all rows: how much of the gap is commits.
//
// --memory also runs the streaming sanitizer in child processes on N and 5·N rows and reports each
// one's peak RSS: flat memory means the two peaks are close.

import { spawnSync } from 'node:child_process';
import { createHmac, hkdfSync, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Faker, base, en } from '@faker-js/faker';
import Database from 'better-sqlite3';
import { sanitize } from '../src/data/masking/sanitize';
import { flag, median, table } from './support';

const HEADER = [
  'id',
  'full_name',
  'email',
  'phone',
  'card',
  'zip',
  'birth_date',
  'balance',
  'city',
  'notes',
  'segment',
];
const FIRST = ['Ada', 'Alan', 'Grace', 'Katherine', 'Edsger', 'Barbara', 'Donald', 'Frances', 'John', 'Radia'];
const LAST = ['Lovelace', 'Turing', 'Hopper', 'Johnson', 'Dijkstra', 'Liskov', 'Knuth', 'Allen', 'Backus', 'Perlman'];

/** A customers CSV of `rows` rows (ids repeat every 50k rows, as a join key would). */
function writeCustomers(file: string, rows: number): void {
  const fd = fs.openSync(file, 'w');
  let buf = `${HEADER.join(',')}\n`;
  for (let i = 1; i <= rows; i++) {
    const n = i % 50_000;
    const first = FIRST[n % 10];
    const last = LAST[Math.floor(n / 10) % 10];
    buf +=
      `c${n},${first} ${last} ${n},${first.toLowerCase()}.${last.toLowerCase()}${n}@mail.example,+1-212-555-${String(n % 10000).padStart(4, '0')},` +
      `4111${String(n).padStart(12, '0')},${String(10000 + ((n * 37) % 89999))},19${50 + (n % 50)}-${String(1 + (n % 12)).padStart(2, '0')}-${String(1 + (n % 28)).padStart(2, '0')},` +
      `${(n * 13) % 25000}.${n % 100},City ${n % 300},note ${n},${n % 3 ? 'retail' : 'business'}\n`;
    if (buf.length > 1 << 20) {
      fs.writeSync(fd, buf);
      buf = '';
    }
  }
  fs.writeSync(fd, buf);
  fs.closeSync(fd);
}

const POLICY = (keyring: string) => `keyring: ${keyring}
seed: 7
columns:
  id: { op: hmac, prefix: cust_ }
  full_name: { op: fake, kind: name }
  email: { op: fake, kind: email }
  phone: redact
  card: { op: mask, keep: 4 }
  zip: { op: generalize, to: zip3 }
  birth_date: { op: generalize, to: month }
  balance: { op: generalize, to: bucket, size: 1000 }
  city: keep
  notes: drop
  segment: keep
`;

const B32 = 'abcdefghijklmnopqrstuvwxyz234567';

/**
 * The straightforward implementation of the same policy: whole file in memory, split on commas,
 * per-row key derivation, faker's own seeding, one autocommitted INSERT per row (unless
 * `oneTransaction`).
 */
function perRowSanitize(
  csvFile: string,
  dbPath: string,
  secret: Buffer,
  environment: string,
  limit: number,
  oneTransaction: boolean,
): number {
  const lines = fs.readFileSync(csvFile, 'utf8').split('\n');
  const header = lines[0].split(',');
  const col = (name: string) => header.indexOf(name);
  const db = new Database(dbPath);
  db.exec('DROP TABLE IF EXISTS customers');
  db.exec(
    'CREATE TABLE customers (id TEXT, full_name TEXT, email TEXT, phone TEXT, card TEXT, zip TEXT, birth_date TEXT, balance TEXT, city TEXT, segment TEXT)',
  );
  const insert = db.prepare('INSERT INTO customers VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)');
  const faker = new Faker({ locale: [en, base] });
  let written = 0;
  const work = () => {
    for (let i = 1; i < lines.length && written < limit; i++) {
      if (lines[i] === '') continue;
      const f = lines[i].split(',');
      const hmacKey = Buffer.from(
        hkdfSync('sha256', secret, 'strata/masking/v1', `strata/masking/hmac/${environment}`, 32),
      );
      const fakeKey = Buffer.from(
        hkdfSync('sha256', secret, 'strata/masking/v1', `strata/masking/fake/${environment}`, 32),
      );
      const digest = createHmac('sha256', hmacKey).update('\u0000').update(f[col('id')]).digest();
      let id = 'cust_';
      for (let k = 0; k < 16; k++) id += B32[digest[k] & 31];
      faker.seed(createHmac('sha256', fakeKey).update(f[col('full_name')]).digest().readUInt32LE(0));
      const name = `${faker.person.firstName()} ${faker.person.lastName()}`;
      faker.seed(createHmac('sha256', fakeKey).update(f[col('email')]).digest().readUInt32LE(0));
      const email = faker.internet.exampleEmail().toLowerCase();
      const card = f[col('card')];
      const balance = Math.floor(Number(f[col('balance')]) / 1000) * 1000;
      insert.run(
        id,
        name,
        email,
        '[redacted]',
        `****${card.slice(-4)}`,
        f[col('zip')].slice(0, 3),
        f[col('birth_date')].slice(0, 7),
        `[${balance},${balance + 1000})`,
        f[col('city')],
        f[col('segment')],
      );
      written++;
    }
  };
  if (oneTransaction) db.transaction(work)();
  else work();
  db.close();
  return written;
}

async function timed(fn: () => unknown): Promise<number> {
  const t = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t) / 1e9;
}

/** Child mode for --memory: sanitize one file, print the peak RSS. */
async function child(csvFile: string, policyFile: string, out: string): Promise<void> {
  const report = await sanitize({
    source: csvFile,
    policy: policyFile,
    target: { kind: 'file', path: out },
    environment: 'mirror',
  });
  process.stdout.write(JSON.stringify({ rows: report.rowsWritten, maxRssKb: process.resourceUsage().maxRSS }));
}

export async function run(args: string[]): Promise<void> {
  const rows = flag(args, 'rows', 200_000);
  const baselineRows = Math.min(rows, flag(args, 'baseline-rows', 10_000));
  const rounds = flag(args, 'rounds', 3);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-bench-sanitize-'));
  try {
    const secret = randomBytes(32);
    const keyring = path.join(dir, 'keyring.yaml');
    fs.writeFileSync(keyring, `keys:\n  main: ${secret.toString('hex')}\nactive: main\n`, { mode: 0o600 });
    const policy = path.join(dir, 'masking.yaml');
    fs.writeFileSync(policy, POLICY(keyring));
    const csvFile = path.join(dir, 'customers.csv');
    writeCustomers(csvFile, rows);
    const home = path.join(dir, 'home');
    fs.mkdirSync(path.join(home, 'envs', 'mirror'), { recursive: true });
    const mb = (fs.statSync(csvFile).size / 1024 / 1024).toFixed(1);
    console.log(
      `sanitize bench: ${rows} rows (${mb} MB CSV, 11 columns: hmac, 2 fake, redact, mask, 3 generalize, 2 keep, drop), ${rounds} rounds, node ${process.version}, ${os.cpus().length} CPUs`,
    );

    const arms = {
      stream: {
        label: 'streaming sanitize → env data.db',
        rows,
        run: () => sanitize({ source: csvFile, policy, target: { kind: 'env', home, layer: 'mirror' } }),
      },
      streamCsv: {
        label: 'streaming sanitize → CSV file',
        rows,
        run: () =>
          sanitize({
            source: csvFile,
            policy,
            target: { kind: 'file', path: path.join(dir, 'out.csv') },
            environment: 'mirror',
          }),
      },
      perRow: {
        label: 'per-row baseline (autocommit per INSERT)',
        rows: baselineRows,
        run: () => perRowSanitize(csvFile, path.join(dir, 'per-row.db'), secret, 'mirror', baselineRows, false),
      },
      perRowTx: {
        label: 'per-row baseline in one transaction',
        rows,
        run: () => perRowSanitize(csvFile, path.join(dir, 'per-row-tx.db'), secret, 'mirror', rows, true),
      },
    };
    type Arm = keyof typeof arms;
    const names = Object.keys(arms) as Arm[];
    const seconds = Object.fromEntries(names.map((k) => [k, [] as number[]])) as Record<Arm, number[]>;
    for (let r = 0; r < rounds; r++) {
      const order = r % 2 ? [...names].reverse() : names;
      for (const k of order) {
        fs.rmSync(path.join(dir, 'per-row.db'), { force: true });
        fs.rmSync(path.join(dir, 'per-row-tx.db'), { force: true });
        seconds[k].push(await timed(arms[k].run));
      }
    }
    const written = (
      new Database(path.join(home, 'envs', 'mirror', 'data.db'), { readonly: true })
        .prepare('SELECT count(*) AS n FROM customers')
        .get() as { n: number }
    ).n;
    if (written !== rows) throw new Error(`streaming wrote ${written} rows, expected ${rows}`);

    const rate = Object.fromEntries(names.map((k) => [k, arms[k].rows / median(seconds[k])])) as Record<Arm, number>;
    console.log(`\nthroughput (median of ${rounds}; ratio = rows/s over the per-row baseline's rows/s)`);
    console.log(
      table([
        ['implementation', 'rows', 'median s', 'rows/s', 'vs per-row'],
        ...names.map((k) => [
          arms[k].label,
          String(arms[k].rows),
          median(seconds[k]).toFixed(2),
          rate[k].toFixed(0),
          `${(rate[k] / rate.perRow).toFixed(1)}×`,
        ]),
      ]),
    );
    console.log(
      `\nstreaming sanitize into an environment vs the straightforward per-row implementation: ${(rate.stream / rate.perRow).toFixed(1)}×`,
    );
    console.log(
      `streaming sanitize vs the per-row code given one transaction (the gap left once commits are batched): ${(rate.stream / rate.perRowTx).toFixed(1)}×`,
    );

    if (args.includes('--memory')) {
      console.log('\npeak RSS of the streaming sanitizer (CSV → CSV, child processes)');
      const lines = [['rows', 'CSV MB', 'peak RSS MB']];
      for (const n of [rows, rows * 5]) {
        const file = path.join(dir, `mem-${n}.csv`);
        writeCustomers(file, n);
        const result = spawnSync(
          process.execPath,
          ['--import', 'tsx', __filename, '--child', file, policy, path.join(dir, `mem-${n}.out.csv`)],
          { encoding: 'utf8' },
        );
        if (result.status !== 0) throw new Error(`child failed: ${result.stderr}`);
        const { rows: got, maxRssKb } = JSON.parse(result.stdout) as { rows: number; maxRssKb: number };
        if (got !== n) throw new Error(`child wrote ${got} rows, expected ${n}`);
        lines.push([String(n), (fs.statSync(file).size / 1024 / 1024).toFixed(0), (maxRssKb / 1024).toFixed(0)]);
        fs.rmSync(file);
        fs.rmSync(path.join(dir, `mem-${n}.out.csv`));
      }
      console.log(table(lines));
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

if (require.main === module && process.argv[2] === '--child') {
  child(process.argv[3], process.argv[4], process.argv[5]).catch((err) => {
    console.error(err);
    process.exitCode = 1;
  });
}
