import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { luhnValid, PiiDetectors } from '../../../src/data/pii/detectors';
import {
  detectSourceFormat,
  type PiiFinding,
  PiiSourceError,
  scanCsv,
  scanFile,
  scanSqlite,
} from '../../../src/data/pii/scan';

/** Findings without their confidence (asserted on its own in the column evidence tests). */
const counted = (findings: PiiFinding[]) => findings.map(({ confidence: _, ...f }) => f);

let dir: string;

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-pii-scan-'));
});

afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

/** Values planted in the fixtures; no report may contain any of them. */
const PLANTED = [
  'jane.doe@example.com',
  '4111 1111 1111 1111',
  '6011000990139424',
  '123-45-6789',
  'DE89370400440532013000',
  '415-555-0132',
  '203.0.113.7',
];

function makeDatabase(file: string): void {
  const db = new Database(file);
  db.exec(`
    CREATE TABLE customers (id INTEGER PRIMARY KEY, email TEXT, phone TEXT, note TEXT, card INTEGER, photo BLOB);
    CREATE TABLE "odd ""name""" ("col one" TEXT);
    CREATE TABLE orders (id INTEGER PRIMARY KEY, amount REAL, placed TEXT);
  `);
  const insert = db.prepare('INSERT INTO customers (email, phone, note, card, photo) VALUES (?, ?, ?, ?, ?)');
  db.transaction(() => {
    for (let i = 0; i < 100; i++) {
      insert.run(
        i % 2 === 0 ? 'jane.doe@example.com' : 'nobody',
        i % 4 === 0 ? '415-555-0132' : null,
        i === 7
          ? 'card 4111 1111 1111 1111, ssn 123-45-6789, iban DE89370400440532013000, ip 203.0.113.7'
          : 'all good, order 12345',
        i === 9 ? 6011000990139424n : i,
        Buffer.from('jane.doe@example.com'),
      );
    }
  })();
  db.prepare('INSERT INTO "odd ""name""" VALUES (?)').run('mail jane.doe@example.com');
  const order = db.prepare('INSERT INTO orders (amount, placed) VALUES (?, ?)');
  for (let i = 0; i < 50; i++) order.run(19.99 + i, '2026-03-15T10:30:00Z');
  db.close();
}

describe('scanSqlite', () => {
  it('counts findings per table, column and detector, streaming every table', async () => {
    const file = path.join(dir, 'data.db');
    makeDatabase(file);
    const report = await scanSqlite(file);
    expect(report.format).toBe('sqlite');
    expect(report.tables).toEqual(['customers', 'odd "name"', 'orders']);
    expect(counted(report.findings)).toEqual([
      { table: 'customers', column: 'email', detector: 'email', count: 50 },
      { table: 'customers', column: 'phone', detector: 'phone', count: 25 },
      { table: 'customers', column: 'note', detector: 'iban', count: 1 },
      { table: 'customers', column: 'note', detector: 'ipv4', count: 1 },
      { table: 'customers', column: 'note', detector: 'card', count: 1 },
      { table: 'customers', column: 'note', detector: 'ssn', count: 1 },
      { table: 'customers', column: 'card', detector: 'card', count: 1 },
      { table: 'odd "name"', column: 'col one', detector: 'email', count: 1 },
    ]);
    expect(report.total).toBe(81);
    expect(report.rows).toBe(151);
    expect(report.skippedBlobs).toBe(100);
    // UTF-8 bytes of the text values, plus the one number long enough to be scanned (16 digits).
    const db = new Database(file, { readonly: true });
    const bytesOf = (column: string, table: string): number =>
      db
        .prepare(
          `SELECT coalesce(sum(length(CAST(${column} AS BLOB))), 0) FROM ${table} WHERE typeof(${column}) = 'text'`,
        )
        .pluck()
        .get() as number;
    const textBytes =
      bytesOf('email', 'customers') +
      bytesOf('phone', 'customers') +
      bytesOf('note', 'customers') +
      bytesOf('"col one"', '"odd ""name"""') +
      bytesOf('placed', 'orders');
    db.close();
    expect(report.bytes).toBe(textBytes + 16);
    // Text values, the integers and reals (checked by magnitude), not the BLOBs or NULLs.
    expect(report.values).toBe(/* customers */ 100 + 100 + 25 + 100 + 100 + /* odd */ 1 + /* orders */ 50 + 50 + 50);
    expect(report.durationMs).toBeGreaterThan(0);
  });

  it('keeps every digit of a 19-digit card stored as INTEGER', async () => {
    // 19 digits, above 2^53: read as a JS number it would lose its last digits and fail Luhn.
    const payload = '601100099013942412';
    const digits = payload + [...'0123456789'].find((d) => luhnValid(payload + d));
    expect(BigInt(digits) > BigInt(Number.MAX_SAFE_INTEGER)).toBe(true);
    const file = path.join(dir, 'big.db');
    const db = new Database(file);
    db.exec('CREATE TABLE t (n INTEGER)');
    db.prepare('INSERT INTO t VALUES (?)').run(BigInt(digits));
    db.close();
    expect(counted((await scanSqlite(file)).findings)).toEqual([
      { table: 't', column: 'n', detector: 'card', count: 1 },
    ]);
  });

  it('reads every row once whatever the table: rowid gaps and negative rowids, WITHOUT ROWID, a shadowed rowid, rowids beyond 2^53', async () => {
    const file = path.join(dir, 'shapes.db');
    const db = new Database(file);
    db.exec(`
      CREATE TABLE gaps (note TEXT);
      CREATE TABLE keyed (k TEXT PRIMARY KEY, note TEXT) WITHOUT ROWID;
      CREATE TABLE shadow (rowid TEXT, _rowid_ TEXT, oid TEXT, note TEXT);
      CREATE TABLE huge (note TEXT);
    `);
    const email = 'reach me at jane.doe@example.com';
    db.transaction(() => {
      const gaps = db.prepare('INSERT INTO gaps (rowid, note) VALUES (?, ?)');
      // 2,500 rows over three batches, rowids from -1000 with holes.
      for (let i = 0; i < 2500; i++) gaps.run(-1000 + i * 3, email);
      const keyed = db.prepare('INSERT INTO keyed VALUES (?, ?)');
      for (let i = 0; i < 1500; i++) keyed.run(`k${i}`, email);
      const shadow = db.prepare('INSERT INTO shadow VALUES (?, ?, ?, ?)');
      for (let i = 0; i < 1200; i++) shadow.run('a', 'b', 'c', email);
      const huge = db.prepare('INSERT INTO huge (rowid, note) VALUES (?, ?)');
      for (let i = 0; i < 1100; i++) huge.run(9007199254740000n + BigInt(i) * 1000n, email);
    })();
    db.close();
    const report = await scanSqlite(file);
    expect(counted(report.findings)).toEqual([
      { table: 'gaps', column: 'note', detector: 'email', count: 2500 },
      { table: 'huge', column: 'note', detector: 'email', count: 1100 },
      { table: 'keyed', column: 'note', detector: 'email', count: 1500 },
      { table: 'shadow', column: 'note', detector: 'email', count: 1200 },
    ]);
    expect(report.rows).toBe(2500 + 1100 + 1500 + 1200);
  });

  it('never puts a scanned value in the report', async () => {
    const file = path.join(dir, 'data.db');
    makeDatabase(file);
    const json = JSON.stringify(await scanSqlite(file));
    for (const value of PLANTED) expect(json).not.toContain(value);
  });

  it('scans only the tables asked for, and names a missing one', async () => {
    const file = path.join(dir, 'data.db');
    makeDatabase(file);
    const report = await scanSqlite(file, { tables: ['orders'] });
    expect(report.tables).toEqual(['orders']);
    expect(report.total).toBe(0);
    await expect(scanSqlite(file, { tables: ['nope'] })).rejects.toThrow(
      /data\.db: no table nope; the database has customers/,
    );
  });

  it('uses the detectors it is given', async () => {
    const file = path.join(dir, 'data.db');
    makeDatabase(file);
    const report = await scanSqlite(file, { detectors: new PiiDetectors({ builtins: ['phone'], denyList: ['good'] }) });
    expect(report.detectors).toEqual(['phone', 'deny-list']);
    expect(report.findings.map((f) => `${f.column}/${f.detector}/${f.count}`)).toEqual([
      'phone/phone/25',
      'note/deny-list/99',
    ]);
  });

  it('reports progress and gives the event loop turns during a long scan', async () => {
    const file = path.join(dir, 'long.db');
    const db = new Database(file);
    db.exec('CREATE TABLE t (note TEXT)');
    const insert = db.prepare('INSERT INTO t VALUES (?)');
    const text = 'nothing to see here but 42 apples and a date 2026-01-01 '.repeat(20);
    db.transaction(() => {
      for (let i = 0; i < 60_000; i++) insert.run(text);
    })();
    db.close();
    const seen: number[] = [];
    let ticks = 0;
    const timer = setInterval(() => ticks++, 1);
    try {
      await scanSqlite(file, { onProgress: (p) => seen.push(p.rows) });
    } finally {
      clearInterval(timer);
    }
    expect(seen.length).toBeGreaterThan(0);
    expect([...seen].sort((a, b) => a - b)).toEqual(seen);
    expect(ticks).toBeGreaterThan(0);
  });

  it('fails with the file named for a missing, non-SQLite or corrupt database', async () => {
    await expect(scanSqlite(path.join(dir, 'missing.db'))).rejects.toThrow(/missing\.db: no such file/);

    const garbage = path.join(dir, 'garbage.db');
    fs.writeFileSync(garbage, 'this is not a database at all, just text'.repeat(200));
    await expect(scanSqlite(garbage)).rejects.toThrow(PiiSourceError);
    await expect(scanSqlite(garbage)).rejects.toThrow(/garbage\.db: not a SQLite database/);

    // A valid header, then pages overwritten with junk.
    const corrupt = path.join(dir, 'corrupt.db');
    const db = new Database(corrupt);
    db.exec('CREATE TABLE t (note TEXT)');
    const insert = db.prepare('INSERT INTO t VALUES (?)');
    for (let i = 0; i < 2000; i++) insert.run(`row ${i} `.repeat(20));
    db.close();
    const fd = fs.openSync(corrupt, 'r+');
    fs.writeSync(fd, Buffer.alloc(4096 * 8, 0xa5), 0, 4096 * 8, 4096);
    fs.closeSync(fd);
    expect(detectSourceFormat(corrupt)).toBe('sqlite');
    await expect(scanSqlite(corrupt)).rejects.toThrow(/corrupt\.db: .*(corrupt|malformed|not a database)/i);
  });
});

describe('scanCsv', () => {
  it('reports findings per column under the file name, with quoted fields', async () => {
    const file = path.join(dir, 'people.csv');
    fs.writeFileSync(
      file,
      [
        'name,contact,"free, text"',
        'Jane,jane.doe@example.com,"said ""call 415-555-0132"", then left"',
        'Joe,nobody,"multi',
        'line with 123-45-6789"',
        '',
        'Ann,"jane.doe@example.com, 203.0.113.7",plain',
      ].join('\r\n') + '\r\n',
    );
    const report = await scanCsv(file);
    expect(report.format).toBe('csv');
    expect(report.tables).toEqual(['people']);
    expect(report.rows).toBe(3);
    expect(counted(report.findings)).toEqual([
      { table: 'people', column: 'contact', detector: 'email', count: 2 },
      { table: 'people', column: 'contact', detector: 'ipv4', count: 1 },
      { table: 'people', column: 'free, text', detector: 'ssn', count: 1 },
      { table: 'people', column: 'free, text', detector: 'phone', count: 1 },
    ]);
    const json = JSON.stringify(report);
    for (const value of PLANTED) expect(json).not.toContain(value);
  });

  it('streams a file larger than one read chunk', async () => {
    const file = path.join(dir, 'big.csv');
    const row = 'x,"a ""quoted"" value with jane.doe@example.com",y\n';
    fs.writeFileSync(file, 'a,b,c\n' + row.repeat(60_000));
    expect(fs.statSync(file).size).toBeGreaterThan(2 * (1 << 20));
    const report = await scanCsv(file);
    expect(report.rows).toBe(60_000);
    expect(counted(report.findings)).toEqual([{ table: 'big', column: 'b', detector: 'email', count: 60_000 }]);
  });

  it('names the file and the line of a malformed record', async () => {
    const cases: Array<[string, RegExp]> = [
      ['a,b\n1,2\n3,4,5\n', /bad\.csv: line 3: 3 fields, but the header has 2/],
      ['a,b\n1,"2"x\n', /bad\.csv: line 2: unexpected "x" after the closing quote of field 2/],
      ['a,b\n1,2\n3,"open\nstill open\n', /bad\.csv: line 3: a quoted field is not closed/],
      ['', /bad\.csv: empty: expected a header row/],
    ];
    for (const [content, message] of cases) {
      const file = path.join(dir, 'bad.csv');
      fs.writeFileSync(file, content);
      await expect(scanCsv(file)).rejects.toThrow(message);
    }
  });
});

describe('scanFile', () => {
  it('tells SQLite from CSV by the file header', async () => {
    const db = path.join(dir, 'data.bin');
    makeDatabase(db);
    const csv = path.join(dir, 'export.txt');
    fs.writeFileSync(csv, 'email\njane.doe@example.com\n');
    expect((await scanFile(db)).format).toBe('sqlite');
    expect((await scanFile(csv)).format).toBe('csv');
  });

  it('refuses a missing file, a directory, binary data and a .db file without the SQLite header', async () => {
    await expect(scanFile(path.join(dir, 'none.csv'))).rejects.toThrow(/none\.csv: no such file/);
    await expect(scanFile(dir)).rejects.toThrow(/is a directory/);
    const binary = path.join(dir, 'blob.csv');
    fs.writeFileSync(binary, Buffer.from([0x50, 0x4b, 0x03, 0x04, 0, 0, 0, 0]));
    await expect(scanFile(binary)).rejects.toThrow(/blob\.csv: binary data/);
    const fake = path.join(dir, 'fake.sqlite');
    fs.writeFileSync(fake, 'id,name\n1,x\n');
    await expect(scanFile(fake)).rejects.toThrow(/fake\.sqlite: not a SQLite database/);
  });
});
