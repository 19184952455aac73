// `npm run bench -- pii [--mb N] [--rounds N]`   (defaults 50, 3)
//
// PII scan throughput on one core. Generates about N MiB of mixed text rows (prose with dates,
// prices, order ids and quantities; about 4 % of rows carry PII or look-alikes from the labelled
// corpus) in a temp SQLite database, seeded, then scans it in alternating rounds with:
//   - scanSqlite, the library scan (batched read, one shared number-run scan, pre-filters);
//   - the naive baseline: the same batched read, then every detector's textbook regex on every
//     value (numbers as text too), with no pre-filter, each match checked by the library's own
//     validators (Luhn and issuer, mod-97, SSN rules, octets, phone layouts);
//   - the read alone (the same batches, no detection), the floor of any scan.
// Throughput is the UTF-8 bytes of the text the library scans, per second, in MiB/s (2^20 bytes),
// the same byte count for every arm; medians of the rounds. Each arm is timed by the wall clock
// and by the process's CPU time (user + system): on a shared machine the CPU time is what one
// core did. Target: the library scan ≥ 50 MiB/s.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { base, en, Faker } from '@faker-js/faker';
import Database from 'better-sqlite3';
import {
  cardNumberValid,
  ibanValid,
  ipv4Valid,
  ipv6Valid,
  phoneNumberValid,
  PiiDetectors,
  ssnValid,
} from '../src/data/pii/detectors';
import { scanSqlite } from '../src/data/pii/scan';

const TARGET_MIB_PER_S = 50;
const CORPUS = path.join(__dirname, '..', 'test', 'fixtures', 'pii', 'corpus.jsonl');

function flag(args: string[], name: string, fallback: number): number {
  const i = args.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const n = Number(args[i + 1]);
  if (!Number.isSafeInteger(n) || n <= 0) throw new Error(`--${name} needs a positive integer`);
  return n;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

const utf8Bytes = (text: string): number => Buffer.byteLength(text, 'utf8');

/** Writes rows of mixed text until the values hold `targetBytes` UTF-8 bytes; returns rows and bytes. */
export function generate(file: string, targetBytes: number): { rows: number; bytes: number; pii: number } {
  const f = new Faker({ locale: [en, base] });
  f.seed(7);
  const corpus = fs
    .readFileSync(CORPUS, 'utf8')
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as { text: string; labels: string[] });
  const prose = Array.from({ length: 4000 }, () =>
    f.helpers.arrayElement([
      () => `${f.lorem.sentence()} ${f.company.catchPhrase()}.`,
      () =>
        `Shipped ${f.number.int({ min: 1, max: 500 })} units of ${f.commerce.productName()} on ${f.date.recent({ days: 400 }).toISOString()} for $${f.commerce.price()}.`,
      () =>
        `Order ORD-${f.string.numeric(8)} (${f.number.int({ min: 1, max: 40 })} items) was ${f.helpers.arrayElement(['packed', 'delayed', 'returned', 'refunded'])} at ${f.date.recent().toISOString().slice(11, 19)}.`,
      () =>
        `${f.person.firstName()} rated ${f.commerce.productName()} ${f.number.int({ min: 1, max: 5 })}/5: "${f.lorem.sentence({ min: 4, max: 12 })}"`,
      () =>
        `Invoice ${f.date.recent({ days: 900 }).toISOString().slice(0, 10)}-${f.string.numeric(4)} total ${f.finance.amount()} ${f.finance.currencyCode()}, version ${f.system.semver()}.`,
    ])(),
  );
  const names = Array.from({ length: 2000 }, () => f.person.fullName());
  // A seeded xorshift: faker per row would dominate the generation time.
  let state = 0x9e3779b9;
  const next = (n: number): number => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) % n;
  };
  const db = new Database(file);
  db.pragma('journal_mode = OFF');
  db.pragma('synchronous = OFF');
  db.exec(
    'CREATE TABLE events (id INTEGER PRIMARY KEY, customer TEXT, note TEXT, amount REAL, created_at TEXT, ref TEXT)',
  );
  const insert = db.prepare('INSERT INTO events (customer, note, amount, created_at, ref) VALUES (?, ?, ?, ?, ?)');
  let rows = 0;
  let bytes = 0;
  let pii = 0;
  db.transaction(() => {
    while (bytes < targetBytes) {
      const parts = [prose[next(prose.length)], prose[next(prose.length)]];
      if (next(3) === 0) parts.push(prose[next(prose.length)]);
      if (next(100) < 4) {
        const line = corpus[next(corpus.length)];
        parts.splice(next(parts.length + 1), 0, line.text);
        pii += line.labels.length;
      }
      const note = parts.join(' ');
      const customer = names[next(names.length)];
      const amount = next(1_000_000) / 100;
      const created = new Date(1_700_000_000_000 + next(100_000_000) * 1000).toISOString();
      const ref = `REF-${100000 + next(900000)}`;
      insert.run(customer, note, amount, created, ref);
      rows++;
      bytes += utf8Bytes(customer) + utf8Bytes(note) + String(amount).length + created.length + ref.length;
    }
  })();
  db.close();
  return { rows, bytes, pii };
}

// --- the naive baseline -------------------------------------------------------------------------

interface NaiveDetector {
  name: string;
  regex: RegExp;
  valid: (match: RegExpExecArray) => boolean;
}

const NAIVE: NaiveDetector[] = [
  { name: 'email', regex: /[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}/g, valid: () => true },
  {
    name: 'iban',
    regex: /\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?\b/g,
    valid: (m) => ibanValid(m[0]),
  },
  {
    name: 'ipv6',
    regex: /(?<![\w:])(?:[0-9A-Fa-f]{0,4}:){2,7}(?:[0-9A-Fa-f]{1,4}|(?:\d{1,3}\.){3}\d{1,3})?(?![\w:])/g,
    valid: (m) => ipv6Valid(m[0]),
  },
  { name: 'ipv4', regex: /(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?![\w]|\.\d)/g, valid: (m) => ipv4Valid(m[0]) },
  {
    name: 'card',
    regex: /(?<![\w+.-])\d(?:[ -]?\d){12,18}(?!\w)/g,
    valid: (m) => cardNumberValid(m[0].replace(/[ -]/g, '')),
  },
  { name: 'ssn', regex: /(?<![\w-])(\d{3})([- ])(\d{2})\2(\d{4})(?![\w-])/g, valid: (m) => ssnValid(m[1], m[3], m[4]) },
  {
    name: 'phone',
    regex: /(?<![\w+./-])(?:\+\d{1,3}[ .-]?)?(?:\(\d{1,5}\)[ .-]?)?\d{2,5}(?:[ ./-]\d{2,8}){1,4}(?![\w]|[./-]\d)/g,
    valid: (m) => phoneNumberValid(m[0]),
  },
];

function naiveCount(text: string, counts: Float64Array): void {
  for (let d = 0; d < NAIVE.length; d++) {
    const { regex, valid } = NAIVE[d];
    regex.lastIndex = 0;
    for (let m = regex.exec(text); m !== null; m = regex.exec(text)) if (valid(m)) counts[d]++;
  }
}

/** The library's read of the bench table: batches of 1000 rows by rowid, raw arrays; `visit` gets every non-null value as text. */
function readBatches(file: string, visit: (text: string) => void): void {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const next = db
      .prepare(
        'SELECT rowid, id, customer, note, amount, created_at, ref FROM events WHERE rowid > ? ORDER BY rowid LIMIT 1000',
      )
      .raw(true);
    let last = -1;
    for (let batch = next.all(last) as unknown[][]; batch.length > 0; batch = next.all(last) as unknown[][]) {
      for (const row of batch) {
        for (let c = 1; c < row.length; c++) {
          const value = row[c];
          if (value === null) continue;
          const text = typeof value === 'string' ? value : String(value);
          if (text !== '') visit(text);
        }
      }
      last = batch[batch.length - 1][0] as number;
    }
  } finally {
    db.close();
  }
}

interface Timing {
  wallMs: number;
  cpuMs: number;
}

async function timed(fn: () => unknown): Promise<Timing> {
  const cpu = process.cpuUsage();
  const wall = process.hrtime.bigint();
  await fn();
  const used = process.cpuUsage(cpu);
  return { wallMs: Number(process.hrtime.bigint() - wall) / 1e6, cpuMs: (used.user + used.system) / 1e3 };
}

const mibPerS = (bytes: number, ms: number): number => bytes / 2 ** 20 / (ms / 1000);
const fmt = (x: number): string => x.toFixed(1);
export async function run(args: string[]): Promise<void> {
  const targetMib = flag(args, 'mb', 50);
  const rounds = flag(args, 'rounds', 3);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-bench-pii-'));
  try {
    const file = path.join(dir, 'events.db');
    const t = Date.now();
    const made = generate(file, targetMib * 2 ** 20);
    console.log(
      `pii bench: ${made.rows} rows, ${fmt(made.bytes / 2 ** 20)} MiB of values (${made.pii} planted PII values), ` +
        `database ${fmt(fs.statSync(file).size / 2 ** 20)} MiB, made in ${Date.now() - t} ms; ${rounds} rounds; ` +
        `node ${process.version}, ${os.cpus().length} CPUs (${os.cpus()[0]?.model ?? 'unknown'}), load average ${os.loadavg()[0].toFixed(2)}`,
    );

    const detectors = new PiiDetectors();
    let scannedBytes = 0;
    let libraryTotal = 0;
    let naiveTotal = 0;
    const arms: Record<'library' | 'naive' | 'read', () => Promise<unknown>> = {
      library: async () => {
        const report = await scanSqlite(file, { detectors });
        libraryTotal = report.total;
        scannedBytes = report.bytes;
      },
      naive: async () => {
        const counts = new Float64Array(NAIVE.length);
        readBatches(file, (text) => naiveCount(text, counts));
        naiveTotal = counts.reduce((a, b) => a + b, 0);
      },
      read: async () => {
        let sink = 0;
        readBatches(file, (text) => (sink += text.length));
        return sink;
      },
    };
    const names = Object.keys(arms) as Array<keyof typeof arms>;
    const timings: Record<keyof typeof arms, Timing[]> = { library: [], naive: [], read: [] };
    // A warm-up round (JIT, page cache) that does not count.
    for (const name of names) await arms[name]();
    for (let round = 0; round < rounds; round++) {
      for (const name of round % 2 === 0 ? names : [...names].reverse()) timings[name].push(await timed(arms[name]));
    }

    const rate = (name: keyof typeof arms, clock: keyof Timing): number =>
      median(timings[name].map((x) => mibPerS(scannedBytes, x[clock])));
    const table: string[][] = [
      ['scan', 'MiB/s CPU', 'MiB/s wall', 'wall per round', 'findings'],
      ...(
        [
          ['library', 'library scanSqlite', String(libraryTotal)],
          ['naive', 'naive: every regex, every value', String(naiveTotal)],
          ['read', 'read only (no detection)', '-'],
        ] as const
      ).map(([name, label, findings]) => [
        label,
        fmt(rate(name, 'cpuMs')),
        fmt(rate(name, 'wallMs')),
        timings[name].map((x) => fmt(mibPerS(scannedBytes, x.wallMs))).join(' '),
        findings,
      ]),
    ];
    const widths = table[0].map((_, c) => Math.max(...table.map((r) => r[c].length)));
    console.log(
      '\n' +
        table
          .map((r) => r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join('  '))
          .join('\n'),
    );
    const lib = rate('library', 'cpuMs');
    const naive = rate('naive', 'cpuMs');
    const read = rate('read', 'cpuMs');
    console.log(
      `\nlibrary / naive (CPU time): ${(lib / naive).toFixed(2)}×; wall clock: ${(rate('library', 'wallMs') / rate('naive', 'wallMs')).toFixed(2)}×`,
    );
    // Detection alone, taking the read as the floor: time(scan) − time(read) per byte.
    const detect = (x: number): number => 1 / (1 / x - 1 / read);
    console.log(
      `detection alone (scan minus read, CPU time): library ${fmt(detect(lib))} MiB/s, naive ${fmt(detect(naive))} MiB/s, ${(detect(lib) / detect(naive)).toFixed(2)}×`,
    );
    console.log(
      `findings differ a little: the naive regexes are the textbook ones; text scanned per round ${fmt(scannedBytes / 2 ** 20)} MiB; peak RSS ${fmt(process.resourceUsage().maxRSS / 1024)} MiB`,
    );
    console.log(
      `target: library scan ≥ ${TARGET_MIB_PER_S} MiB/s on one core: ${lib >= TARGET_MIB_PER_S ? 'met' : 'NOT met'} ` +
        `(${fmt(lib)} MiB/s of CPU time, ${fmt(rate('library', 'wallMs'))} MiB/s of wall clock at load average ${os.loadavg()[0].toFixed(2)})`,
    );
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
