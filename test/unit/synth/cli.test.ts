import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { main } from '../../../src/cli/main';
import { sourceRows, writeSourceCsv } from '../../fixtures/profile/sources';

const FIXTURES = path.join(__dirname, '../../fixtures/profile');

let dir: string;
let source: string;
let profileFile: string;

/** Runs the CLI in-process; returns the exit code and what it wrote. */
async function strata(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const out = vi
    .spyOn(process.stdout, 'write')
    .mockImplementation((chunk: unknown) => ((stdout += String(chunk)), true));
  const err = vi
    .spyOn(process.stderr, 'write')
    .mockImplementation((chunk: unknown) => ((stderr += String(chunk)), true));
  try {
    const code = await main(['node', 'strata', ...args]);
    return { code, stdout, stderr };
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
}

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-data-cli-'));
  source = path.join(dir, 'payments.csv');
  writeSourceCsv(source, sourceRows(5000, 3));
  profileFile = path.join(dir, 'profile.json');
});

afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('strata data profile / generate', () => {
  it('profiles a CSV file and generates from the profile, with a fidelity report', async () => {
    const profiled = await strata('data', 'profile', source, '--out', profileFile, '--k', '10');
    expect(profiled.code).toBe(0);
    expect(profiled.stdout).toMatch(/profile of table payments \(csv\): 5000 rows, 15 columns, k = 10/);
    expect(profiled.stdout).toMatch(/txn_id +identifier +0\.0 % +format txn_\\d\{6\}/);
    expect(JSON.parse(fs.readFileSync(profileFile, 'utf8')).version).toBe(1);

    const out = path.join(dir, 'synthetic.csv');
    const generated = await strata(
      'data',
      'generate',
      '--profile',
      profileFile,
      '--rows',
      '3000',
      '--seed',
      '5',
      '--out',
      out,
      '--label',
      'big ~ logistic(amount - 100)',
    );
    expect(generated.code).toBe(0);
    expect(generated.stdout).toMatch(/generated 3000 rows \(seed 5\)/);
    expect(generated.stdout).toMatch(/fidelity 0\.9\d+ ≥ 0\.85/);
    expect(fs.readFileSync(out, 'utf8').split('\n')[0]).toMatch(/^id,txn_id,created_at,.*,is_fraud,big$/);
    const report = JSON.parse(fs.readFileSync(`${out}.fidelity.json`, 'utf8'));
    expect(report.overall).toBeGreaterThanOrEqual(0.85);

    const db = path.join(dir, 'env.db');
    expect(
      (await strata('data', 'generate', '--profile', profileFile, '--rows', '100', '--db', db, '--json')).code,
    ).toBe(0);
    expect(fs.existsSync(`${db}.payments.fidelity.json`)).toBe(true);
  });

  it('exits 1 when the fidelity is below --min-fidelity, keeping the data for inspection', async () => {
    const out = path.join(dir, 'strict.csv');
    const run = await strata(
      'data',
      'generate',
      '--profile',
      profileFile,
      '--rows',
      '200',
      '--out',
      out,
      '--noise',
      '3',
      '--drift',
      '3',
      '--min-fidelity',
      '0.99',
    );
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/strata: data generate: fidelity 0\.\d+ < 0\.99 .*kept for inspection/);
  });

  it('exits 2 naming the file and table for an empty table, and the line and column for a malformed CSV', async () => {
    const empty = await strata(
      'data',
      'profile',
      path.join(FIXTURES, 'header-only.csv'),
      '--out',
      path.join(dir, 'x.json'),
    );
    expect(empty.code).toBe(2);
    expect(empty.stderr).toContain('header-only.csv: table "header-only": the table has no rows');
    expect(fs.existsSync(path.join(dir, 'x.json'))).toBe(false);

    const malformed = await strata(
      'data',
      'profile',
      path.join(FIXTURES, 'short-row.csv'),
      '--out',
      path.join(dir, 'y.json'),
    );
    expect(malformed.code).toBe(2);
    expect(malformed.stderr).toContain('short-row.csv: line 3, column "amount": missing');
  });

  it('exits 2 naming the file for a corrupt profile, and the option for bad arguments', async () => {
    const corrupt = await strata(
      'data',
      'generate',
      '--profile',
      path.join(FIXTURES, 'corrupt-profile.json'),
      '--rows',
      '10',
      '--out',
      path.join(dir, 'z.csv'),
    );
    expect(corrupt.code).toBe(2);
    expect(corrupt.stderr).toMatch(/corrupt-profile\.json: not a valid profile: the JSON does not parse/);
    expect(fs.existsSync(path.join(dir, 'z.csv'))).toBe(false);

    const rows = await strata(
      'data',
      'generate',
      '--profile',
      profileFile,
      '--rows',
      'many',
      '--out',
      path.join(dir, 'z.csv'),
    );
    expect(rows.code).toBe(2);
    expect(rows.stderr).toContain('--rows: expected an integer ≥ 1, got "many"');
    const both = await strata(
      'data',
      'generate',
      '--profile',
      profileFile,
      '--rows',
      '1',
      '--out',
      'a.csv',
      '--db',
      'b.db',
    );
    expect(both.code).toBe(2);
    expect(both.stderr).toContain('give exactly one of --out FILE.csv, --db FILE.db and --env LAYER');
    const label = await strata(
      'data',
      'generate',
      '--profile',
      profileFile,
      '--rows',
      '1',
      '--out',
      path.join(dir, 'z.csv'),
      '--label',
      'y = nope + 1',
    );
    expect(label.code).toBe(2);
    expect(label.stderr).toContain('--label "y = nope + 1": at character 5: no column named "nope"');
  });
});
