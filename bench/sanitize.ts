// `npm run bench -- sanitize [--rows N] [--rounds N] [--memory]`
//
// Baseline: the same per-row masking a competent script would write — read the CSV, derive the
// environment's keys once, compute each row's outputs with the same algorithms, insert every row
// in one transaction — and its output must be byte-identical to the sanitizer's (checked; the
// benchmark fails if not).
//
// Arms, on the same generated customers CSV (~200k rows, no quoted fields, so that the baseline's
// `split(',')` reads it correctly), alternating order, medians of --rounds (≥ 5) with min and max:
// - streaming: sanitize() into an environment's data.db (temporary copy, batched transactions,
//   fsync + rename), and into a CSV file;
// - per-row baseline in one transaction, into a fresh SQLite file (its commit fsyncs): HKDF once,
//   HMAC-SHA256 → base32 pseudonyms, the library's keyed faker reseeding (fake.ts; a script must
//   use it to produce the same stand-ins), mask, ZIP3, month and bucket generalization inline.
// After the rounds, the environment's table and the baseline's are dumped (column names and
// types, then every row in order as JSON) and compared byte for byte.
//
// --memory also runs the streaming sanitizer in child processes on N and 5·N rows and reports each
// one's peak RSS: flat memory means the two peaks are close.

import { spawnSync } from 'node:child_process';
import { createHash, createHmac, hkdfSync, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { fakeGenerator } from '../src/data/masking/fake';
import { sanitize } from '../src/data/masking/sanitize';
import { flag, ratios, roundsFlag, spread, spreadCells, spreadText, table, times } from './support';

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
const HKDF_SALT = 'strata/masking/v1';

/** The first `length` base32 characters of `bytes` (5 bits each, most significant first). */
function base32(bytes: Buffer, length: number): string {
  let out = '';
  let acc = 0;
  let bits = 0;
  for (let k = 0; out.length < length; k++) {
    acc = ((acc << 8) | bytes[k]) & 0xffff;
    bits += 8;
    while (bits >= 5 && out.length < length) {
      bits -= 5;
      out += B32[(acc >>> bits) & 31];
    }
  }
  return out;
}

/** A bucket bound without float noise. */
const bound = (x: number): string => String(Number(x.toPrecision(12)));

/**
 * The per-row script: whole file in memory, split on commas, keys derived once, each row's outputs
 * computed by the same algorithms as the policy's ops, one INSERT per row, all in one transaction.
 */
function perRowSanitize(csvFile: string, dbPath: string, secret: Buffer, environment: string, seed: number): number {
  const lines = fs.readFileSync(csvFile, 'utf8').split('\n');
  const header = lines[0].split(',');
  const at = Object.fromEntries(header.map((name, i) => [name, i])) as Record<string, number>;
  const hmacKey = Buffer.from(hkdfSync('sha256', secret, HKDF_SALT, `strata/masking/hmac/${environment}`, 32));
  const fakeKey = Buffer.from(hkdfSync('sha256', secret, HKDF_SALT, `strata/masking/fake/${environment}`, 32));
  const fakeName = fakeGenerator('name', fakeKey, seed);
  const fakeEmail = fakeGenerator('email', fakeKey, seed);
  const db = new Database(dbPath);
  db.exec(
    'CREATE TABLE customers (id TEXT, full_name TEXT, email TEXT, phone TEXT, card TEXT, zip TEXT, birth_date TEXT, balance TEXT, city TEXT, segment TEXT)',
  );
  const insert = db.prepare('INSERT INTO customers VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)');
  let written = 0;
  db.transaction(() => {
    for (let i = 1; i < lines.length; i++) {
      if (lines[i] === '') continue;
      const f = lines[i].split(',');
      const id = 'cust_' + base32(createHmac('sha256', hmacKey).update('\u0000').update(f[at.id]).digest(), 16);
      const card = f[at.card];
      let q = Number(f[at.balance]) / 1000;
      if (Math.abs(q - Math.round(q)) < 1e-9) q = Math.round(q);
      const k = Math.floor(q);
      insert.run(
        id,
        fakeName(f[at.full_name]),
        fakeEmail(f[at.email]),
        '[redacted]',
        `****${card.slice(-4)}`,
        f[at.zip].slice(0, 3),
        f[at.birth_date].slice(0, 7),
        `[${bound(k * 1000)},${bound((k + 1) * 1000)})`,
        f[at.city],
        f[at.segment],
      );
      written++;
    }
  })();
  db.close();
  return written;
}

/** sha256 of a table's column names and types, then every row in rowid order as JSON, and the row count. */
function dumpDigest(dbPath: string, tableName: string): { digest: string; rows: number } {
  const db = new Database(dbPath, { readonly: true, fileMustExist: true });
  try {
    const hash = createHash('sha256');
    const columns = db.prepare(`PRAGMA table_info(${tableName})`).all() as { name: string; type: string }[];
    hash.update(JSON.stringify(columns.map((c) => [c.name, c.type.toUpperCase()])) + '\n');
    let rows = 0;
    for (const row of db.prepare(`SELECT * FROM ${tableName} ORDER BY rowid`).raw().iterate()) {
      hash.update(JSON.stringify(row) + '\n');
      rows++;
    }
    return { digest: hash.digest('hex'), rows };
  } finally {
    db.close();
  }
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
  const rounds = roundsFlag(args, 5);
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

    const baselineDb = path.join(dir, 'per-row.db');
    const arms = {
      perRowTx: {
        label: 'per-row script, one transaction (baseline)',
        run: () => perRowSanitize(csvFile, baselineDb, secret, 'mirror', 7),
      },
      stream: {
        label: 'streaming sanitize → env data.db',
        run: () => sanitize({ source: csvFile, policy, target: { kind: 'env', home, layer: 'mirror' } }),
      },
      streamCsv: {
        label: 'streaming sanitize → CSV file',
        run: () =>
          sanitize({
            source: csvFile,
            policy,
            target: { kind: 'file', path: path.join(dir, 'out.csv') },
            environment: 'mirror',
          }),
      },
    };
    type Arm = keyof typeof arms;
    const names = Object.keys(arms) as Arm[];
    const seconds = Object.fromEntries(names.map((k) => [k, [] as number[]])) as Record<Arm, number[]>;
    for (let r = 0; r < rounds; r++) {
      const order = r % 2 ? [...names].reverse() : names;
      for (const k of order) {
        if (k === 'perRowTx') fs.rmSync(baselineDb, { force: true });
        seconds[k].push(await timed(arms[k].run));
      }
    }
    const ours = dumpDigest(path.join(home, 'envs', 'mirror', 'data.db'), 'customers');
    const theirs = dumpDigest(baselineDb, 'customers');
    if (ours.rows !== rows) throw new Error(`streaming wrote ${ours.rows} rows, expected ${rows}`);
    if (ours.digest !== theirs.digest || ours.rows !== theirs.rows)
      throw new Error(
        `the outputs differ: the sanitizer's table (${ours.rows} rows, sha256 ${ours.digest.slice(0, 12)}) is not byte-identical to the baseline's (${theirs.rows} rows, sha256 ${theirs.digest.slice(0, 12)})`,
      );
    console.log(
      `outputs byte-identical: the environment's table and the baseline's dump to the same ${ours.rows} rows (sha256 ${ours.digest.slice(0, 12)})`,
    );

    const rate = (k: Arm) => seconds[k].map((s) => rows / s);
    console.log(`\nthroughput, rows/s (${rounds} rounds; vs baseline = per-round ratio of rows/s, median)`);
    const fmt0 = (n: number) => n.toFixed(0);
    console.log(
      table([
        ['implementation', 'median rows/s', 'min', 'max', 'vs baseline'],
        ...names.map((k) => [
          arms[k].label,
          ...spreadCells(rate(k), fmt0),
          times(spread(ratios(rate(k), rate('perRowTx'))).median),
        ]),
      ]),
    );
    console.log(
      `\nstreaming sanitize into an environment vs the per-row script in one transaction: ${spreadText(ratios(rate('stream'), rate('perRowTx')), times)}`,
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
