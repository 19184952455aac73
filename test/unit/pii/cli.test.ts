import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { main } from '../../../src/cli/main';
import { parseDenyList, parsePatterns } from '../../../src/data/pii/config';

let dir: string;
let out: string[];
let err: string[];

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-pii-cli-'));
  out = [];
  err = [];
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => (out.push(String(chunk)), true));
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => (err.push(String(chunk)), true));
});

afterEach(() => {
  vi.restoreAllMocks();
  fs.rmSync(dir, { recursive: true, force: true });
});

const scan = (...args: string[]): Promise<number> => main(['node', 'strata', 'data', 'scan', ...args]);

function csvWithPii(): string {
  const file = path.join(dir, 'customers.csv');
  fs.writeFileSync(
    file,
    'name,email,note\n' +
      'Jane,jane.doe@example.com,"card 4111 1111 1111 1111, Project Bluebird"\n' +
      'Joe,joe@example.org,EMP-123456 called from +44 20 7946 0958\n' +
      'Ann,none,nothing here\n',
  );
  return file;
}

describe('strata data scan', () => {
  it('prints table, column, detector and count, never a value, and exits 1 above the allowance', async () => {
    expect(await scan(csvWithPii())).toBe(1);
    const text = out.join('');
    expect(text).toMatch(/TABLE\s+COLUMN\s+DETECTOR\s+COUNT/);
    expect(text).toMatch(/customers\s+email\s+email\s+2/);
    expect(text).toMatch(/customers\s+note\s+card\s+1/);
    expect(text).toMatch(/customers\s+note\s+phone\s+1/);
    expect(text).toMatch(/4 findings in 1 table of .*customers\.csv; allowance 0: FAIL/);
    for (const value of ['jane.doe', 'joe@', '4111', '7946', 'Bluebird', 'EMP-']) expect(text).not.toContain(value);
  });

  it('exits 0 when the total is within --allow', async () => {
    expect(await scan(csvWithPii(), '--allow', '4')).toBe(0);
    expect(out.join('')).toMatch(/allowance 4: pass/);
  });

  it('adds custom patterns and deny-list terms', async () => {
    const patterns = path.join(dir, 'patterns.yaml');
    fs.writeFileSync(patterns, "employee_id: '\\bEMP-\\d{6}\\b'\ncode_name: '/blue\\w+/i'\n");
    const deny = path.join(dir, 'deny.txt');
    fs.writeFileSync(deny, '# code names\nproject bluebird\n\n');
    expect(await scan(csvWithPii(), '--patterns', patterns, '--deny-list', deny, '--json')).toBe(1);
    const report = JSON.parse(out.join(''));
    expect(report.detectors).toEqual([
      'email',
      'iban',
      'ipv6',
      'ipv4',
      'card',
      'ssn',
      'phone',
      'employee_id',
      'code_name',
      'deny-list',
    ]);
    expect(report.findings).toContainEqual(
      expect.objectContaining({ table: 'customers', column: 'note', detector: 'employee_id', count: 1 }),
    );
    expect(report.findings).toContainEqual(
      expect.objectContaining({ table: 'customers', column: 'note', detector: 'code_name', count: 1 }),
    );
    expect(report.findings).toContainEqual(
      expect.objectContaining({ table: 'customers', column: 'note', detector: 'deny-list', count: 1 }),
    );
    expect(report).toMatchObject({ total: 7, allow: 0, passed: false, format: 'csv', rows: 3 });
  });

  it('scans a SQLite database and says so when there is nothing', async () => {
    const file = path.join(dir, 'clean.db');
    const db = new Database(file);
    db.exec("CREATE TABLE t (a TEXT, b INTEGER); INSERT INTO t VALUES ('hello 2026-01-01', 42)");
    db.close();
    expect(await scan(file)).toBe(0);
    expect(out.join('')).toMatch(/no findings in 1 table of .*clean\.db; allowance 0: pass/);
    expect(out.join('')).not.toContain('TABLE');
  });

  it('exits 2 naming the file for a missing or corrupt source', async () => {
    expect(await scan(path.join(dir, 'missing.db'))).toBe(2);
    expect(err.join('')).toMatch(/strata: .*missing\.db: no such file/);
    const corrupt = path.join(dir, 'corrupt.sqlite');
    fs.writeFileSync(corrupt, 'not sqlite');
    expect(await scan(corrupt)).toBe(2);
    expect(err.join('')).toMatch(/corrupt\.sqlite: not a SQLite database/);
    const malformed = path.join(dir, 'bad.csv');
    fs.writeFileSync(malformed, 'a,b\n1,2,3\n');
    expect(await scan(malformed)).toBe(2);
    expect(err.join('')).toMatch(/bad\.csv: line 2: 3 fields, but the header has 2/);
    expect(out.join('')).toBe('');
  });

  it('exits 2 for a bad --allow, patterns file or deny-list', async () => {
    const source = csvWithPii();
    expect(await scan(source, '--allow', '-1')).toBe(2);
    expect(err.join('')).toMatch(/--allow: expected a whole number/);
    const patterns = path.join(dir, 'p.yaml');
    fs.writeFileSync(patterns, 'broken: "(unclosed"\n');
    expect(await scan(source, '--patterns', patterns)).toBe(2);
    expect(err.join('')).toMatch(/p\.yaml: broken: not a valid regular expression/);
    expect(await scan(source, '--deny-list', path.join(dir, 'nope.txt'))).toBe(2);
    expect(err.join('')).toMatch(/nope\.txt: file not found/);
    expect(await scan(source, '--what')).toBe(2);
  });
});

describe('pattern and deny-list files', () => {
  it('name the file and the entry for each problem', () => {
    expect(() => parsePatterns('email: x\n"9 lives": y\nempty: "a*"\nflags: "/x/g y"\nnum: 3\n', 'p.yaml')).toThrow(
      [
        'p.yaml: email: "email" is the name of a built-in detector; choose another name',
        'p.yaml: "9 lives": a pattern name starts with a letter and holds only letters, digits, "_", "-" and "."',
        'p.yaml: empty: the pattern matches the empty string; it must match at least one character',
        'p.yaml: num: expected a regular expression (a string), got 3',
      ].join('\n'),
    );
    expect(() => parsePatterns('', 'p.yaml')).toThrow(/p\.yaml: the file is empty/);
    expect(() => parsePatterns('x: "/a/y"\n', 'p.yaml')).toThrow(/unsupported regular expression flag "y"/);
  });

  it('read `/body/flags` and plain patterns', () => {
    const [plain, flagged] = parsePatterns("plain: 'EMP-\\d+'\nflagged: '/falcon/i'\n", 'p.yaml');
    expect(plain.regex.source).toBe('EMP-\\d+');
    expect(flagged.regex.flags).toBe('i');
  });

  it('deny-list: one term per line, comments and blanks ignored, at least one term', () => {
    expect(parseDenyList('# names\n Falcon \r\n\nfalcon\nBlue  Bird\n', 'd.txt')).toEqual(['falcon', 'blue bird']);
    expect(() => parseDenyList('# nothing\n\n', 'd.txt')).toThrow('d.txt: no terms; expected one term per line');
  });
});
