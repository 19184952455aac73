// A deterministic "production-like" transactions table for the data examples:
//
//   npx tsx examples/data/generate-production-like.ts [--rows N] [--out FILE]
//
// writes examples/data/production-transactions.csv (4000 rows by default). The features and the
// fraud label are src/data/transactions.ts's (transactionRows, fixed seed), so the example
// candidates score it as they score a seeded environment. On top of them it plants what a real
// payments table holds and what must never reach a lower layer: a customer id, the customer's
// name (faker, fixed seed), e-mail (ordinary mail domains, not the reserved example.* ones), US
// phone number and card number (Luhn-valid, with real issuer prefixes), and a created_at
// timestamp whose hour is the row's `hour` and whose day follows a weekly pattern. Rows come in
// time order, as an export of a live table would.
//
// The same rows count and the same versions of this file, transactions.ts and @faker-js/faker give
// a byte-identical file (test/unit/example-data.test.ts checks the committed one).

import fs from 'node:fs';
import path from 'node:path';
import { base, en, Faker } from '@faker-js/faker';
import { createRandom, type Random } from '../../src/data/profile/random';
import { TRANSACTION_FEATURES, TRANSACTIONS_LABEL, transactionRows } from '../../src/data/transactions';

export const DEFAULT_ROWS = 4000;
export const DEFAULT_OUT = path.join(__dirname, 'production-transactions.csv');
/** Seed of the features and labels (transactionRows) and of every planted value. */
const SEED = 20_260_105;

export const PRODUCTION_COLUMNS = [
  'txn_id',
  'created_at',
  'customer_id',
  'customer_name',
  'email',
  'phone',
  'card_number',
  ...TRANSACTION_FEATURES,
  TRANSACTIONS_LABEL,
] as const;

/** The columns that hold personal data: the profile records them by format only, masking policies drop or transform them. */
export const PII_COLUMNS = ['customer_id', 'customer_name', 'email', 'phone', 'card_number'] as const;

// --- planted personal data ----------------------------------------------------------------------

const ALPHANUMERIC = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const LOWER_ALNUM = '0123456789abcdefghijklmnopqrstuvwxyz';

function randomString(random: Random, alphabet: string, length: number): string {
  let s = '';
  for (let i = 0; i < length; i++) s += alphabet[random.int(alphabet.length)];
  return s;
}

/** Picks from [value, weight] pairs. */
function weighted<T>(random: Random, choices: ReadonlyArray<readonly [T, number]>): T {
  const total = choices.reduce((sum, [, w]) => sum + w, 0);
  let u = random.next() * total;
  for (const [value, w] of choices) {
    u -= w;
    if (u < 0) return value;
  }
  return choices[choices.length - 1][0];
}

const MAIL_DOMAINS: ReadonlyArray<readonly [string, number]> = [
  ['gmail.com', 40],
  ['yahoo.com', 14],
  ['outlook.com', 10],
  ['hotmail.com', 9],
  ['icloud.com', 8],
  ['aol.com', 4],
  ['comcast.net', 4],
  ['proton.me', 3],
  ['att.net', 3],
  ['verizon.net', 3],
  ['msn.com', 2],
];

/** Area codes in service across the US (none of them N11 or 555). */
const AREA_CODES = [
  '201',
  '202',
  '206',
  '212',
  '213',
  '214',
  '215',
  '216',
  '217',
  '240',
  '248',
  '267',
  '281',
  '301',
  '303',
  '305',
  '310',
  '312',
  '313',
  '314',
  '317',
  '323',
  '330',
  '347',
  '404',
  '407',
  '412',
  '415',
  '424',
  '469',
  '480',
  '502',
  '503',
  '504',
  '510',
  '512',
  '513',
  '571',
  '602',
  '612',
  '614',
  '617',
  '619',
  '626',
  '646',
  '650',
  '678',
  '702',
  '703',
  '704',
  '713',
  '714',
  '718',
  '720',
  '732',
  '754',
  '773',
  '786',
  '801',
  '805',
  '818',
  '832',
  '847',
  '857',
  '858',
  '904',
  '913',
  '916',
  '917',
  '919',
  '925',
  '949',
  '954',
  '971',
  '972',
  '978',
];

function phoneNumber(random: Random): string {
  const area = AREA_CODES[random.int(AREA_CODES.length)];
  let exchange: string;
  // 2–9 first digit; not an N11 service code, not the 555 range kept for fiction.
  do exchange = String(200 + random.int(800));
  while (exchange === '555' || exchange.endsWith('11'));
  const line = String(random.int(10_000)).padStart(4, '0');
  return weighted(random, [
    [`(${area}) ${exchange}-${line}`, 40],
    [`${area}-${exchange}-${line}`, 35],
    [`+1 ${area} ${exchange} ${line}`, 15],
    [`${area}.${exchange}.${line}`, 10],
  ]);
}

function luhnCheckDigit(partial: string): string {
  // Doubling starts at the digit next to where the check digit goes.
  let sum = 0;
  for (let i = partial.length - 1, double = true; i >= 0; i--, double = !double) {
    let d = partial.charCodeAt(i) - 48;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return String((10 - (sum % 10)) % 10);
}

function cardNumber(random: Random): string {
  const digits = (n: number) => randomString(random, '0123456789', n);
  const [prefix, length] = weighted<readonly [string, number]>(random, [
    [['4', 16], 50], // Visa
    [[String(51 + random.int(5)), 16], 22], // Mastercard 51–55
    [[String(2221 + random.int(500)), 16], 8], // Mastercard 2221–2720
    [[random.int(2) ? '34' : '37', 15], 12], // American Express
    [[random.int(2) ? '6011' : '65', 16], 8], // Discover
  ]);
  const partial = prefix + digits(length - 1 - prefix.length);
  const number = partial + luhnCheckDigit(partial);
  if (random.next() < 0.75) return number;
  // Grouped as printed on the card: 4-6-5 for Amex, 4-4-4-4 for the others.
  return length === 15
    ? `${number.slice(0, 4)} ${number.slice(4, 10)} ${number.slice(10)}`
    : number.replace(/(\d{4})(?=\d)/g, '$1 ');
}

const ascii = (name: string): string =>
  name
    .normalize('NFKD')
    .toLowerCase()
    .replace(/[^a-z]/g, '');

interface Customer {
  id: string;
  name: string;
  email: string;
  phone: string;
  card: string;
}

function makeCustomers(count: number, random: Random): Customer[] {
  const faker = new Faker({ locale: [en, base] });
  faker.seed(SEED);
  const emails = new Set<string>();
  const customers: Customer[] = [];
  for (let i = 0; i < count; i++) {
    const first = faker.person.firstName();
    const last = faker.person.lastName();
    const f = ascii(first) || 'user';
    const l = ascii(last) || 'mail';
    const year = String(60 + random.int(45)).slice(-2);
    const local = weighted(random, [
      [`${f}.${l}`, 35],
      [`${f}${l}${random.int(100)}`, 20],
      [`${f[0]}${l}`, 15],
      [`${f}_${l}${year}`, 10],
      [`${l}.${f}`, 10],
      [`${f}${year}`, 10],
    ]);
    let email = `${local}@${weighted(random, MAIL_DOMAINS)}`;
    for (let n = 2; emails.has(email); n++) email = `${local}${n}@${email.split('@')[1]}`;
    emails.add(email);
    customers.push({
      id: `cus_${randomString(random, ALPHANUMERIC, 14)}`,
      name: `${first} ${last}`,
      email,
      // About 4 % of customers gave no phone number.
      phone: random.next() < 0.04 ? '' : phoneNumber(random),
      card: cardNumber(random),
    });
  }
  return customers;
}

// --- time ------------------------------------------------------------------------------------------

/** Monday 6 January 2025, 00:00 UTC: the first day of the 26 weeks the transactions span. */
const START_MS = Date.UTC(2025, 0, 6);
const DAYS = 26 * 7;
const DAY_MS = 86_400_000;
/** Weekly pattern, Monday first: busier towards the weekend, quiet on Sunday. */
const WEEKDAY_WEIGHTS = [0.9, 0.9, 1.0, 1.05, 1.35, 1.3, 0.75];

function pad(n: number, width = 2): string {
  return String(n).padStart(width, '0');
}

function formatDateTime(ms: number): string {
  const d = new Date(ms);
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
}

/** A timestamp at `hour` on a day drawn with the weekly pattern. */
function createdAt(hour: number, random: Random): number {
  const weekday = weighted(
    random,
    WEEKDAY_WEIGHTS.map((w, d) => [d, w] as const),
  );
  const day = 7 * random.int(DAYS / 7) + weekday;
  return START_MS + day * DAY_MS + hour * 3_600_000 + random.int(3600) * 1000;
}

// --- the table ---------------------------------------------------------------------------------------

const CSV_QUOTES = /[",\r\n]/;
const csvField = (text: string): string => (CSV_QUOTES.test(text) ? `"${text.replace(/"/g, '""')}"` : text);

/** The CSV text of `rows` production-like transactions. */
export function productionLikeCsv(rows = DEFAULT_ROWS): string {
  const random = createRandom(SEED, 1);
  // Fewer customers than transactions, some much more active than others.
  const customers = makeCustomers(Math.max(1, Math.ceil(rows * 0.4)), random);
  const records: Array<{ at: number; line: string }> = [];
  const txnIds = new Set<string>();
  for (const t of transactionRows({ rows, seed: SEED })) {
    const customer = customers[Math.floor(customers.length * random.next() ** 1.6)];
    let txnId: string;
    do txnId = `txn_${randomString(random, LOWER_ALNUM, 16)}`;
    while (txnIds.has(txnId));
    txnIds.add(txnId);
    const at = createdAt(t.hour, random);
    const fields = [
      txnId,
      formatDateTime(at),
      customer.id,
      customer.name,
      customer.email,
      customer.phone,
      customer.card,
      t.amount.toFixed(2),
      t.merchant_risk.toFixed(4),
      String(t.account_age_days),
      String(t.hour),
      String(t.is_foreign),
      String(t.velocity_24h),
      t.channel,
      String(t.is_fraud),
    ];
    records.push({ at, line: fields.map(csvField).join(',') });
  }
  // Stable: rows with the same second keep their generation order.
  records.sort((a, b) => a.at - b.at);
  return `${PRODUCTION_COLUMNS.join(',')}\n${records.map((r) => `${r.line}\n`).join('')}`;
}

export function writeProductionLike(
  file = DEFAULT_OUT,
  rows = DEFAULT_ROWS,
): { file: string; rows: number; bytes: number } {
  const text = productionLikeCsv(rows);
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, text);
  fs.renameSync(tmp, file);
  return { file, rows, bytes: Buffer.byteLength(text) };
}

function main(args: string[]): void {
  let rows = DEFAULT_ROWS;
  let out = DEFAULT_OUT;
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--rows') {
      rows = Number(args[++i]);
      if (!Number.isSafeInteger(rows) || rows <= 0)
        throw new Error(`--rows: expected a positive integer, got ${JSON.stringify(args[i])}`);
    } else if (args[i] === '--out') {
      out = args[++i];
      if (!out) throw new Error('--out: expected a file name');
    } else {
      throw new Error(
        `unknown argument ${JSON.stringify(args[i])}; usage: generate-production-like.ts [--rows N] [--out FILE]`,
      );
    }
  }
  const written = writeProductionLike(path.resolve(out), rows);
  console.log(
    `${path.relative(process.cwd(), written.file)}: ${written.rows} rows, ${(written.bytes / 1024).toFixed(0)} KiB`,
  );
}

if (require.main === module) {
  try {
    main(process.argv.slice(2));
  } catch (err) {
    console.error((err as Error).message);
    process.exitCode = 2;
  }
}
