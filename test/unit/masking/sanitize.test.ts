import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { main } from '../../../src/cli/main';
import { ConfigError } from '../../../src/validation/errors';
import { CsvReader } from '../../../src/data/masking/csv';
import { NotProvisionedError, sanitize, type SanitizeOptions } from '../../../src/data/masking/sanitize';
import { seedTransactions } from '../../../src/data/transactions';
import {
  asyncConfigErrorOf,
  CUSTOMERS_CSV,
  listFiles,
  MASKING_FIXTURES,
  tempDir,
  type TestKeyring,
  writeKeyring,
  writePolicy,
} from '../../fixtures/masking/helpers';

const REPO = path.resolve(__dirname, '..', '..', '..');

let root: string;
let keyring: TestKeyring;
let policy: string;

beforeAll(() => {
  root = tempDir('sanitize');
  keyring = writeKeyring(path.join(root));
  policy = writePolicy(root, keyring.file);
});
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

let caseNo = 0;
/** A fresh STRATA_HOME with provisioned (empty-directory) environments for `layers`. */
function home(...layers: string[]): string {
  const dir = path.join(root, `home-${caseNo++}`);
  for (const layer of layers) fs.mkdirSync(path.join(dir, 'envs', layer), { recursive: true });
  return dir;
}

function readCsv(file: string): { header: string[]; rows: Record<string, string>[] } {
  const reader = new CsvReader(file);
  const rows = [...reader.records()].map((r) => Object.fromEntries(reader.header.map((h, i) => [h, r.fields[i]])));
  return { header: reader.header, rows };
}

function tableRows(dbPath: string, table: string): Record<string, unknown>[] {
  const db = new Database(dbPath, { readonly: true });
  try {
    return db.prepare(`SELECT * FROM "${table}"`).all() as Record<string, unknown>[];
  } finally {
    db.close();
  }
}

const sha256 = (file: string): string => createHash('sha256').update(fs.readFileSync(file)).digest('hex');

/** The PII of customers.csv that must not survive sanitization. */
const SOURCE_PII = [
  'Ada Lovelace',
  'ada@analytical.example',
  '+1-212-555-0142',
  '4111111111111111',
  '02134',
  '1985-11-05',
  'c001',
  'prefers',
];

describe('sanitize: CSV → CSV', () => {
  it('applies each op, drops dropped columns, keeps joins inside one environment, and leaks no source PII', async () => {
    const out = path.join(root, 'csv-out', 'customers.masked.csv');
    const report = await sanitize({
      source: CUSTOMERS_CSV,
      policy,
      target: { kind: 'file', path: out },
      environment: 'mirror',
    });
    expect(report).toMatchObject({
      rowsRead: 5,
      rowsWritten: 5,
      source: { kind: 'csv' },
      target: { kind: 'csv', path: out },
      key: { environment: 'mirror', name: 'main' },
    });
    expect(report.columns.find((c) => c.name === 'notes')).toEqual({ name: 'notes', op: 'drop', detail: 'drop' });

    const { header, rows } = readCsv(out);
    expect(header).toEqual([
      'id',
      'full_name',
      'email',
      'phone',
      'card',
      'zip',
      'birth_date',
      'balance',
      'city',
      'segment',
    ]);
    expect(rows[0]).toMatchObject({
      phone: '[phone]',
      card: '****1111',
      zip: '021',
      birth_date: '1985-11',
      balance: '[1000,2000)',
      city: 'Boston, MA',
      segment: 'retail',
    });
    expect(rows[0].id).toMatch(/^cust_[a-z2-7]{16}$/);
    expect(rows[0].email).toMatch(/@example\.(com|net|org)$/);
    expect(rows[2]).toMatchObject({ birth_date: '1978-12', balance: '[10000,+inf)', zip: '205' });
    expect(rows[3].phone).toBe(''); // missing stays missing
    // Rows 1 and 5 are the same customer: same pseudonym, same fake name and email.
    expect(rows[4].id).toBe(rows[0].id);
    expect(rows[4].full_name).toBe(rows[0].full_name);
    expect(rows[4].email).toBe(rows[0].email);
    expect(new Set(rows.map((r) => r.id)).size).toBe(4);

    const text = fs.readFileSync(out, 'utf8');
    for (const pii of SOURCE_PII) expect(text).not.toContain(pii);
    expect(listFiles(path.dirname(out))).toEqual(['customers.masked.csv']); // no temporary file left
  });

  it('pseudonyms differ across environments and repeat within one', async () => {
    const run = async (environment: string, name: string) => {
      const out = path.join(root, 'envs-compare', name);
      await sanitize({ source: CUSTOMERS_CSV, policy, target: { kind: 'file', path: out }, environment });
      return readCsv(out).rows;
    };
    const mirror1 = await run('mirror', 'a.csv');
    const mirror2 = await run('mirror', 'b.csv');
    const integration = await run('integration', 'c.csv');
    expect(mirror2).toEqual(mirror1);
    for (let i = 0; i < mirror1.length; i++) {
      expect(integration[i].id).not.toBe(mirror1[i].id);
      expect(integration[i].email).not.toBe(mirror1[i].email);
    }
  });
});

describe('sanitize: into an environment', () => {
  it('adds the table to the layer’s data.db, keeping its other tables; a rerun replaces it', async () => {
    const strataHome = home('mirror');
    const dbPath = path.join(strataHome, 'envs', 'mirror', 'data.db');
    seedTransactions(dbPath, { rows: 200, seed: 1 });
    const opts: SanitizeOptions = {
      source: CUSTOMERS_CSV,
      policy,
      target: { kind: 'env', home: strataHome, layer: 'mirror' },
    };
    const report = await sanitize(opts);
    expect(report.target).toEqual({ kind: 'sqlite', path: dbPath, table: 'customers', layer: 'mirror' });
    expect(report.key?.environment).toBe('mirror');
    expect(tableRows(dbPath, 'transactions')).toHaveLength(200);
    const rows = tableRows(dbPath, 'customers');
    expect(rows).toHaveLength(5);
    expect(rows[3].phone).toBeNull(); // an empty CSV field is NULL in SQLite
    expect(Object.keys(rows[0])).not.toContain('notes');
    await sanitize(opts);
    expect(tableRows(dbPath, 'customers')).toEqual(rows); // deterministic: same policy, key and source
    expect(tableRows(dbPath, 'transactions')).toHaveLength(200);
    expect(listFiles(path.dirname(dbPath))).toEqual(['data.db']);
  });

  it('reads an SQLite source table and keeps column types for kept columns', async () => {
    const strataHome = home('integration');
    const sourceDb = path.join(root, 'prod.db');
    const db = new Database(sourceDb);
    db.exec(
      'CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT, zip INTEGER, score REAL, big INTEGER); CREATE TABLE other (x)',
    );
    db.prepare('INSERT INTO users VALUES (?, ?, ?, ?, ?)').run(1, 'a@b.example', 2134, 0.5, 2n ** 62n);
    db.prepare('INSERT INTO users VALUES (?, ?, ?, ?, ?)').run(2, null, 94105, 1.25, 7);
    db.close();
    const p = path.join(root, 'users.yaml');
    fs.writeFileSync(
      p,
      `keyring: ${keyring.file}\ntable: users\noutputTable: app_users\ncolumns:\n  id: { op: hmac, alphabet: digits, length: 12 }\n  email: { op: fake, kind: email }\n  zip: { op: generalize, to: zip3 }\n  score: keep\n  big: keep\n`,
    );
    await sanitize({ source: sourceDb, policy: p, target: { kind: 'env', home: strataHome, layer: 'integration' } });
    const dbPath = path.join(strataHome, 'envs', 'integration', 'data.db');
    const rows = tableRows(dbPath, 'app_users');
    expect(rows[0]).toMatchObject({ zip: '021', score: 0.5 });
    expect(rows[0].id).toMatch(/^\d{12}$/);
    expect(rows[1]).toMatchObject({ email: null, zip: '941', score: 1.25, big: 7 });
    const out = new Database(dbPath, { readonly: true });
    const types = (out.prepare('PRAGMA table_info(app_users)').all() as { name: string; type: string }[]).map(
      (c) => `${c.name} ${c.type}`,
    );
    expect(out.prepare('SELECT big FROM app_users WHERE rowid = 1').safeIntegers(true).get()).toEqual({
      big: 2n ** 62n,
    });
    out.close();
    expect(types).toEqual(['id TEXT', 'email TEXT', 'zip TEXT', 'score REAL', 'big INTEGER']);

    // A policy without `table` is refused when the database holds more than one.
    fs.writeFileSync(p, fs.readFileSync(p, 'utf8').replace('table: users\n', ''));
    const error = await asyncConfigErrorOf(() =>
      sanitize({
        source: sourceDb,
        policy: p,
        target: { kind: 'file', path: path.join(root, 'u.csv') },
        environment: 'x',
      }),
    );
    expect(error.message).toMatch(
      /users\.yaml: table: missing; the SQLite source .*prod\.db has tables "other", "users"/,
    );
  });

  it('refuses a layer that is not provisioned, writing nothing', async () => {
    const strataHome = home();
    const error = await asyncConfigErrorOf(() =>
      sanitize({ source: CUSTOMERS_CSV, policy, target: { kind: 'env', home: strataHome, layer: 'mirror' } }),
    );
    expect(error).toBeInstanceOf(NotProvisionedError);
    expect(error.message).toMatch(/envs\/mirror: layer mirror has no environment; provision the layer first/);
    expect(fs.existsSync(strataHome)).toBe(false);
  });
});

describe('atomic writes: a failure mid-way leaves the target as it was', () => {
  /** 20 000 rows of customers.csv's shape; row `badAt` (if given) has an invalid date. */
  function bigCsv(name: string, rows: number, badAt?: number): string {
    const file = path.join(root, name);
    const lines = ['id,full_name,email,phone,card,zip,birth_date,balance,city,notes,segment'];
    for (let i = 1; i <= rows; i++) {
      const date = i === badAt ? 'not-a-date' : `19${50 + (i % 50)}-0${1 + (i % 9)}-1${i % 10}`;
      lines.push(
        `u${i},Person ${i},p${i}@mail.example,+1-212-555-${String(i % 10000).padStart(4, '0')},4111${String(i).padStart(12, '0')},${String(10000 + (i % 89999))},${date},${i % 20000},City ${i % 100},,retail`,
      );
    }
    fs.writeFileSync(file, lines.join('\n') + '\n');
    return file;
  }

  function seededEnv(layer: string): { strataHome: string; dbPath: string; before: string } {
    const strataHome = home(layer);
    const dbPath = path.join(strataHome, 'envs', layer, 'data.db');
    seedTransactions(dbPath, { rows: 300, seed: 2 });
    return { strataHome, dbPath, before: sha256(dbPath) };
  }

  it('an error thrown after some batches were written (simulated kill)', async () => {
    const source = bigCsv('big-ok.csv', 20_000);
    const { strataHome, dbPath, before } = seededEnv('mirror');
    let batches = 0;
    await expect(
      sanitize({
        source,
        policy,
        target: { kind: 'env', home: strataHome, layer: 'mirror' },
        batchRows: 1000,
        onProgress: () => {
          if (++batches === 5) throw new Error('killed mid-way');
        },
      }),
    ).rejects.toThrow('killed mid-way');
    expect(sha256(dbPath)).toBe(before);
    expect(listFiles(path.dirname(dbPath))).toEqual(['data.db']);
  });

  it('a value rejected on row 15 000, named by file, line and column', async () => {
    const source = bigCsv('big-bad.csv', 20_000, 15_000);
    const { strataHome, dbPath, before } = seededEnv('mirror');
    const error = await asyncConfigErrorOf(() =>
      sanitize({ source, policy, target: { kind: 'env', home: strataHome, layer: 'mirror' }, batchRows: 1000 }),
    );
    expect(error.message).toBe(
      `${source}: line 15001, column "birth_date": not a date (expected YYYY-MM-DD, optionally with a time); fix the source or set \`invalid: empty\` on the column`,
    );
    expect(sha256(dbPath)).toBe(before);
    expect(listFiles(path.dirname(dbPath))).toEqual(['data.db']);
  });

  it('a malformed line deep in the file', async () => {
    const source = bigCsv('big-malformed.csv', 12_000);
    fs.appendFileSync(source, 'u-x,"unterminated,a,b\n');
    const { strataHome, dbPath, before } = seededEnv('mirror');
    const error = await asyncConfigErrorOf(() =>
      sanitize({ source, policy, target: { kind: 'env', home: strataHome, layer: 'mirror' }, batchRows: 1000 }),
    );
    expect(error.message).toBe(`${source}: line 12002: a quoted field is never closed (unbalanced double quote)`);
    expect(sha256(dbPath)).toBe(before);
    expect(listFiles(path.dirname(dbPath))).toEqual(['data.db']);
  });

  it('a real SIGKILL of the CLI mid-way; the next run clears the leftover temporary file', async () => {
    const source = bigCsv('big-kill.csv', 200_000);
    const { strataHome, dbPath, before } = seededEnv('mirror');
    const envDir = path.dirname(dbPath);
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', 'src/cli/main.ts', 'data', 'sanitize', source, '--policy', policy, '--env', 'mirror'],
      {
        cwd: REPO,
        env: { ...process.env, STRATA_HOME: strataHome },
        stdio: 'ignore',
      },
    );
    const exited = new Promise<NodeJS.Signals | null>((resolve) =>
      child.on('exit', (_code, signal) => resolve(signal)),
    );
    const temp = () => fs.readdirSync(envDir).find((f) => f.includes('.sanitize-'));
    // Kill once rows are being written into the temporary copy.
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline && child.exitCode === null) {
      const t = temp();
      if (t && fs.statSync(path.join(envDir, t)).size > 1 << 20) break;
      await new Promise((r) => setTimeout(r, 5));
    }
    expect(child.exitCode).toBeNull(); // still running: the kill lands mid-way
    child.kill('SIGKILL');
    expect(await exited).toBe('SIGKILL');
    expect(sha256(dbPath)).toBe(before);
    expect(temp()).toBeDefined();

    await sanitize({ source: CUSTOMERS_CSV, policy, target: { kind: 'env', home: strataHome, layer: 'mirror' } });
    expect(listFiles(envDir)).toEqual(['data.db']);
    expect(tableRows(dbPath, 'customers')).toHaveLength(5);
  });
});

describe('bad input: exit code 2, the file and the column or line, nothing written', () => {
  let out: string[];
  let err: string[];
  beforeAll(() => {
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => (out.push(String(chunk)), true));
    vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => (err.push(String(chunk)), true));
  });
  afterEach(() => {
    out = [];
    err = [];
  });
  afterAll(() => vi.restoreAllMocks());
  out = [];
  err = [];

  async function cli(...args: string[]): Promise<number> {
    return main(['node', 'strata', 'data', 'sanitize', ...args]);
  }

  /** Runs the CLI into a fresh environment and checks exit 2, the message, and an untouched environment. */
  async function refused(args: { source?: string; policy: string }, message: RegExp): Promise<void> {
    const strataHome = home('mirror');
    const envDir = path.join(strataHome, 'envs', 'mirror');
    const previous = process.env.STRATA_HOME;
    process.env.STRATA_HOME = strataHome;
    try {
      expect(await cli(args.source ?? CUSTOMERS_CSV, '--policy', args.policy, '--env', 'mirror')).toBe(2);
    } finally {
      if (previous === undefined) delete process.env.STRATA_HOME;
      else process.env.STRATA_HOME = previous;
    }
    expect(err.join('')).toMatch(message);
    expect(out.join('')).toBe('');
    expect(listFiles(envDir)).toEqual([]);
  }

  const policyWith = (name: string, edit: (text: string) => string, keyringFile = keyring.file) =>
    writePolicy(root, keyringFile, edit, name);

  it('a source column the policy does not cover', async () => {
    const p = policyWith('uncovered.yaml', (t) => t.replace('  city: keep\n', ''));
    await refused(
      { policy: p },
      /uncovered\.yaml: columns: column "city" of .*customers\.csv is not covered by the policy/,
    );
  });

  it('a policy column the source lacks', async () => {
    const p = policyWith('unknown.yaml', (t) => `${t}  ssn: drop\n`);
    await refused({ policy: p }, /unknown\.yaml: columns\.ssn: .*customers\.csv has no column "ssn"/);
  });

  it('a malformed CSV', async () => {
    const src = path.join(MASKING_FIXTURES, 'wrong-field-count.csv');
    const p = path.join(root, 'small.yaml');
    fs.writeFileSync(p, 'columns: { id: keep, name: redact, amount: keep }\n');
    await refused(
      { source: src, policy: p },
      /wrong-field-count\.csv: line 4: expected 3 fields \(as in the header\), got 4/,
    );
  });

  it('a missing keyring', async () => {
    const p = policyWith('nokeyring.yaml', (t) => t, path.join(root, 'absent', 'keyring.yaml'));
    await refused({ policy: p }, /absent\/keyring\.yaml: keyring file not found/);
  });

  it('a keyring inside a repository', async () => {
    const repo = path.join(root, 'a-repo');
    fs.mkdirSync(path.join(repo, '.git'), { recursive: true });
    const inRepo = writeKeyring(repo);
    const p = policyWith('inrepo.yaml', (t) => t, inRepo.file);
    await refused({ policy: p }, /a-repo\/keyring\.yaml: the keyring is inside the git repository/);
  });

  it('a world-readable keyring', async () => {
    const open = writeKeyring(fs.mkdtempSync(path.join(root, 'open-')), { mode: 0o644 });
    const p = policyWith('open.yaml', (t) => t, open.file);
    await refused(
      { policy: p },
      /keyring\.yaml: the keyring is readable or writable by group or others \(mode 644\); run `chmod 600/,
    );
  });

  it('a policy error, and flags: neither or both targets, --out without an environment for keyed columns', async () => {
    const p = policyWith('badop.yaml', (t) => t.replace('op: mask, keep: 4', 'op: mask, keep: four'));
    await refused({ policy: p }, /badop\.yaml: columns\.card\.keep: expected an integer between 0 and 64, got "four"/);
    expect(await cli(CUSTOMERS_CSV, '--policy', policy)).toBe(2);
    expect(err.join('')).toMatch(/give exactly one of --out FILE and --env LAYER/);
    const target = path.join(root, 'flags', 'x.csv');
    expect(await cli(CUSTOMERS_CSV, '--policy', policy, '--out', target)).toBe(2);
    expect(err.join('')).toMatch(
      /--environment-key-name: missing; columns "id", "full_name", "email" are keyed per environment/,
    );
    expect(
      await cli(
        CUSTOMERS_CSV,
        '--policy',
        policy,
        '--out',
        path.join(root, 'flags', 'x.parquet'),
        '--environment-key-name',
        'e',
      ),
    ).toBe(2);
    expect(err.join('')).toMatch(/--out: expected a \.csv file or an SQLite database/);
    expect(listFiles(path.join(root, 'flags'))).toEqual([]);
  });

  it('prints rows and a per-column summary, never a value; --json too', async () => {
    const target = path.join(root, 'cli-out', 'c.csv');
    expect(await cli(CUSTOMERS_CSV, '--policy', policy, '--out', target, '--environment-key-name', 'mirror')).toBe(0);
    const text = out.join('');
    expect(text).toMatch(/rows read: 5, written: 5/);
    expect(text).toMatch(/card\s+mask\s+mask, keep last 4/);
    expect(text).toMatch(/key: main \(id [0-9a-f]{12}\) for environment mirror/);
    out = [];
    expect(
      await cli(CUSTOMERS_CSV, '--policy', policy, '--out', target, '--environment-key-name', 'mirror', '--json'),
    ).toBe(0);
    const report = JSON.parse(out.join(''));
    expect(report.rowsWritten).toBe(5);
    expect(report.columns).toHaveLength(11);
    // The key id is a random public fingerprint (12 hex digits): it may contain "c001" by chance.
    const shown = (out.join('') + text).replaceAll(report.key.id, '<key id>');
    for (const pii of SOURCE_PII) expect(shown).not.toContain(pii);
  });
});

describe('no secret in any output', () => {
  it('greps reports, messages, logs and written files for every encoding of the keys', async () => {
    const strataHome = home('mirror');
    const outputs: string[] = [];
    const capture = (chunk: unknown) => (outputs.push(String(chunk)), true);
    const stdout = vi.spyOn(process.stdout, 'write').mockImplementation(capture);
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(capture);
    const logs = ['log', 'info', 'warn', 'error', 'debug'].map((m) =>
      vi.spyOn(console, m as 'log').mockImplementation((...a) => void outputs.push(a.join(' '))),
    );
    const previous = process.env.STRATA_HOME;
    process.env.STRATA_HOME = strataHome;
    try {
      const csvOut = path.join(root, 'secret-check', 'out.csv');
      const dbOut = path.join(root, 'secret-check', 'out.db');
      await main([
        'node',
        'strata',
        'data',
        'sanitize',
        CUSTOMERS_CSV,
        '--policy',
        policy,
        '--env',
        'mirror',
        '--json',
      ]);
      await main(['node', 'strata', 'data', 'sanitize', CUSTOMERS_CSV, '--policy', policy, '--env', 'mirror']);
      await main([
        'node',
        'strata',
        'data',
        'sanitize',
        CUSTOMERS_CSV,
        '--policy',
        policy,
        '--out',
        csvOut,
        '--environment-key-name',
        'x',
        '--key',
        'old',
      ]);
      await main([
        'node',
        'strata',
        'data',
        'sanitize',
        CUSTOMERS_CSV,
        '--policy',
        policy,
        '--out',
        dbOut,
        '--environment-key-name',
        'x',
        '--key',
        'nope',
      ]);
      await main([
        'node',
        'strata',
        'data',
        'sanitize',
        CUSTOMERS_CSV,
        '--policy',
        policy,
        '--out',
        dbOut,
        '--environment-key-name',
        'x',
      ]);
      const report = await sanitize({
        source: CUSTOMERS_CSV,
        policy,
        target: { kind: 'file', path: csvOut },
        environment: 'y',
      });
      outputs.push(JSON.stringify(report));
      for (const file of [csvOut, dbOut, path.join(strataHome, 'envs', 'mirror', 'data.db')])
        outputs.push(fs.readFileSync(file).toString('latin1'));
      // A keyring with a short secret and one with a syntax error: their messages quote nothing.
      const broken = writeKeyring(fs.mkdtempSync(path.join(root, 'broken-')));
      fs.writeFileSync(broken.file, fs.readFileSync(broken.file, 'utf8').replace('active: main', 'active: [main'));
      const brokenPolicy = writePolicy(root, broken.file, (t) => t, 'broken.yaml');
      await main([
        'node',
        'strata',
        'data',
        'sanitize',
        CUSTOMERS_CSV,
        '--policy',
        brokenPolicy,
        '--out',
        csvOut,
        '--environment-key-name',
        'x',
      ]);
      outputs.push(...broken.secrets.map((s) => (outputs.join('').includes(s) ? `LEAK ${s}` : '')));
    } finally {
      stdout.mockRestore();
      stderr.mockRestore();
      for (const l of logs) l.mockRestore();
      if (previous === undefined) delete process.env.STRATA_HOME;
      else process.env.STRATA_HOME = previous;
    }
    const all = outputs.join('\n');
    expect(all).toMatch(/no key named "nope"/);
    expect(all).toMatch(/cannot parse the keyring/);
    expect(all).not.toContain('LEAK');
    for (const secret of keyring.secrets) {
      expect(all).not.toContain(secret);
      expect(all.toLowerCase()).not.toContain(secret.toLowerCase());
    }
  });
});

describe('ConfigError everywhere', () => {
  it('every refusal above is a ConfigError (exit code 2 through the CLI)', () => {
    expect(new NotProvisionedError('x', [{ path: '', message: 'm' }])).toBeInstanceOf(ConfigError);
  });
});
