// The data plane's approval and keyring commands, and `data generate --env`, through the real CLI
// (child processes, real SQLite files). No Temporal needed.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/harness';

const STRATA = path.join(ROOT, 'bin/strata');
const PROFILE = path.join(ROOT, 'examples/data/transactions.profile.json');
let home: string;

function strata(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(STRATA, args, {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, STRATA_HOME: home, ...env },
    timeout: 120_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

beforeAll(() => {
  home = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-data-cli-'));
});
afterAll(() => fs.rmSync(home, { recursive: true, force: true }));

describe('strata data approve / approvals / revoke', () => {
  it('records who approved which digest and why, idempotently, and revokes', () => {
    const csv = path.join(home, 'set.csv');
    fs.writeFileSync(csv, 'a,b\n1,2\n');
    const first = strata(['data', 'approve', csv, '--as', ' Carol ', '--reason', 'reviewed']);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toMatch(/^approved .*set\.csv \(sha256 [0-9a-f]{64}, 8 bytes\) by carol: reviewed/);
    expect(strata(['data', 'approve', csv, '--as', 'dave', '--reason', 'again']).stdout).toMatch(
      /^already approved: .* by carol/,
    );
    const listed = JSON.parse(strata(['data', 'approvals', '--json']).stdout);
    expect(listed).toHaveLength(1);
    expect(listed[0]).toMatchObject({ actor: 'carol', reason: 'reviewed', bytes: 8 });

    // Changed content is a new digest: not approved.
    fs.appendFileSync(csv, '3,4\n');
    expect(JSON.parse(strata(['data', 'approve', csv, '--as', 'carol', '--reason', 'v2', '--json']).stdout).added).toBe(
      true,
    );
    const revoked = strata(['data', 'revoke', csv, '--as', 'erin', '--reason', 'leaked a column']);
    expect(revoked.code, revoked.stderr).toBe(0);
    const after = JSON.parse(strata(['data', 'approvals', '--json']).stdout);
    expect(after.find((a: { reason: string }) => a.reason === 'v2').revoked).toMatchObject({
      actor: 'erin',
      reason: 'leaked a column',
    });
    expect(strata(['data', 'revoke', csv, '--as', 'erin', '--reason', 'twice']).code).toBe(2);
  });

  it('exits 2 naming the file for a missing dataset, and for a missing reason', () => {
    const missing = strata(['data', 'approve', path.join(home, 'nope.csv'), '--as', 'carol', '--reason', 'x']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('nope.csv: dataset file not found');
    expect(strata(['data', 'approve', PROFILE, '--as', 'carol', '--reason', '  ']).code).toBe(2);
  });
});

describe('strata data keyring init', () => {
  it('creates a 600 keyring outside the repository, and refuses one inside it', () => {
    const file = path.join(home, 'keys', 'keyring.yaml');
    const made = strata(['data', 'keyring', 'init', '--file', file]);
    expect(made.code, made.stderr).toBe(0);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(made.stdout).not.toMatch(/hex:/); // the secret is never printed
    expect(strata(['data', 'keyring', 'init', '--file', file]).stdout).toContain('exists; nothing written');
    const inside = strata(['data', 'keyring', 'init', '--file', path.join(ROOT, 'keyring-test.yaml')]);
    expect(inside.code).toBe(2);
    expect(inside.stderr).toContain('is inside the git repository');
    expect(fs.existsSync(path.join(ROOT, 'keyring-test.yaml'))).toBe(false);
  });
});

describe('strata data sanitize with STRATA_KEYRING', () => {
  it('keys the example mirror policy with the named keyring: zero PII findings after, thousands before', () => {
    const keyring = path.join(home, 'sanitize-keys', 'keyring.yaml');
    expect(strata(['data', 'keyring', 'init', '--file', keyring]).code).toBe(0);
    const out = path.join(home, 'mirror.db');
    const csv = path.join(ROOT, 'examples/data/production-transactions.csv');
    const r = strata(
      [
        'data',
        'sanitize',
        csv,
        '--policy',
        path.join(ROOT, 'examples/data/masking/mirror.yaml'),
        '--out',
        out,
        '--environment-key-name',
        'mirror',
      ],
      { STRATA_KEYRING: keyring },
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/rows read: 4000, written: 4000/);
    const after = strata(['data', 'scan', out]);
    expect(after.code, after.stderr).toBe(0);
    expect(after.stdout).toMatch(/^no findings/);
    const before = strata(['data', 'scan', csv]);
    expect(before.stdout).toMatch(/11,813 findings/);
  });
});

describe('strata data generate --env', () => {
  it('refuses an unprovisioned layer, an unapproved profile, failing fidelity and PII; swaps in a passing table', async () => {
    // A profile of the example's feature columns only (no PII-shaped column).
    const csv = path.join(home, 'features.csv');
    const source = fs
      .readFileSync(path.join(ROOT, 'examples/data/production-transactions.csv'), 'utf8')
      .trim()
      .split('\n');
    const keep = [
      'amount',
      'merchant_risk',
      'account_age_days',
      'hour',
      'is_foreign',
      'velocity_24h',
      'channel',
      'is_fraud',
    ];
    const header = source[0].split(',');
    fs.writeFileSync(
      csv,
      [
        keep.join(','),
        ...source.slice(1).map((line) => keep.map((c) => line.split(',')[header.indexOf(c)]).join(',')),
      ].join('\n') + '\n',
    );
    const profile = path.join(home, 'features.profile.json');
    expect(strata(['data', 'profile', csv, '--table', 'transactions', '--out', profile]).code).toBe(0);

    expect(strata(['data', 'generate', '--profile', profile, '--rows', '200', '--env', 'sandbox']).code).toBe(2);
    const env = path.join(home, 'envs', 'sandbox');
    fs.mkdirSync(env, { recursive: true });
    const db = path.join(env, 'data.db');
    const before = new Database(db);
    before.exec('CREATE TABLE keepme (x INTEGER); INSERT INTO keepme VALUES (1)');
    before.close();
    const onlyKeepme = () => {
      const check = new Database(db, { readonly: true });
      try {
        return check.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").pluck().all();
      } finally {
        check.close();
      }
    };

    const unapproved = strata(['data', 'generate', '--profile', profile, '--rows', '300', '--env', 'sandbox']);
    expect(unapproved.code).toBe(1);
    expect(unapproved.stderr).toMatch(
      /dataset not approved: .*features\.profile\.json \(sha256 [0-9a-f]{12}\) has not been approved/,
    );
    expect(onlyKeepme()).toEqual(['keepme']);
    expect(strata(['data', 'approve', profile, '--as', 'carol', '--reason', 'stats only']).code).toBe(0);
    expect(strata(['data', 'approve', PROFILE, '--as', 'carol', '--reason', 'stats only']).code).toBe(0);

    const bad = strata([
      'data',
      'generate',
      '--profile',
      profile,
      '--rows',
      '300',
      '--env',
      'sandbox',
      '--noise',
      '3',
      '--min-fidelity',
      '0.99',
    ]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/fidelity 0\.\d+ < 0\.99 .*environment sandbox left unchanged/);
    expect(onlyKeepme()).toEqual(['keepme']);

    // The example profile keeps e-mail, phone and card shapes: synthetic values that look like PII.
    const pii = strata(['data', 'generate', '--profile', PROFILE, '--rows', '300', '--env', 'sandbox']);
    expect(pii.code).toBe(1);
    expect(pii.stderr).toMatch(
      /PII found in the generated rows: \d+ findings \(allowance 0\): .*transactions\.email email ×\d+.*environment sandbox left unchanged/,
    );
    expect(onlyKeepme()).toEqual(['keepme']);

    const good = strata(['data', 'generate', '--profile', profile, '--rows', '300', '--seed', '4', '--env', 'sandbox']);
    expect(good.code, good.stderr).toBe(0);
    const check = new Database(db, { readonly: true });
    expect(check.prepare('SELECT COUNT(*) FROM transactions').pluck().get()).toBe(300);
    expect(check.prepare('SELECT x FROM keepme').pluck().get()).toBe(1); // other tables stay
    check.close();
    const report = JSON.parse(fs.readFileSync(`${db}.fidelity.json`, 'utf8'));
    expect(report.overall).toBeGreaterThanOrEqual(0.85);
    expect(fs.readdirSync(env).filter((f) => f.includes('generating'))).toEqual([]);
  });
});
