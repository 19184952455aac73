import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { beforeEach, describe, expect, it } from 'vitest';
import { parseLadder } from '../../../src/config/ladder';
import { ApprovalRegistry } from '../../../src/data/approvals';
import { readPopulationReport, populateFromSource, PopulationRefused } from '../../../src/data/populate';
import type { LayerSpec } from '../../../src/domain/ladder';

// Populating an environment through the data plane, on real files: what it writes, what it
// refuses, and that doing it again does nothing. The example data (examples/data) is the source.
const EXAMPLES = path.resolve(__dirname, '../../../examples');
let home: string;
let dbPath: string;

function layer(yaml: string, extra = ''): LayerSpec {
  const text = `name: t
data:
  keyring: ${path.join(home, 'keyring.yaml')}
  sources:
    - { name: profile, classification: synthetic, file: ${EXAMPLES}/data/transactions.profile.json }
    - { name: prod, classification: production, file: ${EXAMPLES}/data/production-transactions.csv }
layers:
  - name: mirror
    approval: auto
${extra}    data: ${yaml}
    gates: []
`;
  return parseLadder(text, path.join(home, 'ladder.yaml')).layers[0];
}

const approve = (file: string) => new ApprovalRegistry(home).approve(file, 'carol', 'test');
const tables = () => {
  const db = new Database(dbPath, { readonly: true });
  try {
    return db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").pluck().all();
  } finally {
    db.close();
  }
};

async function refusal(p: Promise<unknown>): Promise<PopulationRefused> {
  try {
    await p;
  } catch (err) {
    if (err instanceof PopulationRefused) return err;
    throw err;
  }
  throw new Error('expected the population to be refused');
}

beforeEach(() => {
  home = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-seed-'));
  fs.writeFileSync(
    path.join(home, 'keyring.yaml'),
    `keys: { k1: "hex:${randomBytes(32).toString('hex')}" }\nactive: k1\n`,
    { mode: 0o600 },
  );
  dbPath = path.join(home, 'envs', 'mirror', 'data.db');
  fs.mkdirSync(path.dirname(dbPath), { recursive: true });
  // What the environment held before: a refusal must leave it as it was.
  const db = new Database(dbPath);
  db.exec('CREATE TABLE before (x INTEGER)');
  db.close();
});

describe('populateFromSource', () => {
  it('sanitizes the production-like CSV: rows in, zero PII, a report and the fidelity-free sidecar; again: nothing', async () => {
    await approve(path.join(EXAMPLES, 'data/production-transactions.csv'));
    const spec = layer(
      '{ source: prod, policy: ' + EXAMPLES + '/data/masking/mirror.yaml }',
      '    allowSanitizedProduction: true\n',
    );
    // What a worker killed mid-population left behind is cleared.
    fs.writeFileSync(`${dbPath}.99999.seeding.db`, 'half a database');
    const first = await populateFromSource({ home, layer: spec, dbPath });
    expect(first).toMatchObject({
      created: true,
      rows: 4000,
      table: 'transactions',
      pii: { total: 0, allowance: 0 },
      policy: { allowed: true, rule: 'production-sanitized' },
    });
    expect(first.masking?.keyId).toMatch(/^[0-9a-f]{12}$/);
    expect(tables()).toEqual(['transactions']);
    expect(fs.readdirSync(path.dirname(dbPath)).filter((f) => f.includes('seeding'))).toEqual([]);
    const mtime = fs.statSync(dbPath).mtimeMs;
    const again = await populateFromSource({ home, layer: spec, dbPath });
    expect(again.created).toBe(false);
    expect(again.fingerprint).toBe(first.fingerprint);
    expect(fs.statSync(dbPath).mtimeMs).toBe(mtime); // not rewritten
    expect(readPopulationReport(dbPath)?.fingerprint).toBe(first.fingerprint);
  });

  it('refuses production data without allowSanitizedProduction, before reading the file', async () => {
    // Not even approved: the policy is decided first.
    const err = await refusal(
      populateFromSource({
        home,
        layer: layer('{ source: prod, policy: ' + EXAMPLES + '/data/masking/mirror.yaml }'),
        dbPath,
      }),
    );
    expect(err.kind).toBe('DataPolicyViolation');
    expect(err.message).toBe(
      'data policy production-requires-allowSanitizedProduction: layer "mirror" may not seed from source "prod" (production): only a layer that declares `allowSanitizedProduction: true` may read production data',
    );
    expect(err.report.source.digest).toBeUndefined();
    expect(tables()).toEqual(['before']);
  });

  it('refuses production data without a masking policy even where it is allowed', async () => {
    const err = await refusal(
      populateFromSource({ home, layer: layer('{ source: prod }', '    allowSanitizedProduction: true\n'), dbPath }),
    );
    expect(err.kind).toBe('DataPolicyViolation');
    expect(err.message).toContain('production-only-through-sanitize');
  });

  it('refuses an unapproved or revoked dataset, naming the digest', async () => {
    const spec = layer('{ source: profile, rows: 500, seed: 1 }');
    let err = await refusal(populateFromSource({ home, layer: spec, dbPath }));
    expect(err.kind).toBe('DatasetNotApproved');
    expect(err.message).toMatch(
      /sha256 [0-9a-f]{12}\): it has not been approved; approve it with `strata data approve/,
    );
    const profile = path.join(EXAMPLES, 'data/transactions.profile.json');
    await approve(profile);
    await new ApprovalRegistry(home).revoke(profile, 'erin', 'stale');
    err = await refusal(populateFromSource({ home, layer: spec, dbPath }));
    expect(err.message).toContain('its approval was revoked by erin (stale)');
    expect(tables()).toEqual(['before']);
  });

  it('refuses rows below the fidelity threshold and rows with PII, leaving no staging file behind', async () => {
    await approve(path.join(EXAMPLES, 'data/transactions.profile.json'));
    const low = await refusal(
      populateFromSource({
        home,
        layer: layer('{ source: profile, rows: 500, seed: 1, realism: { noise: 2 }, fidelity: 0.97 }'),
        dbPath,
      }),
    );
    expect(low.kind).toBe('FidelityBelowThreshold');
    expect(low.report.fidelity).toMatchObject({ passed: false, threshold: 0.97 });
    // Synthetic rows without the policy that drops the PII-shaped columns: the scan catches them.
    const pii = await refusal(
      populateFromSource({ home, layer: layer('{ source: profile, rows: 500, seed: 1 }'), dbPath }),
    );
    expect(pii.kind).toBe('PiiFound');
    expect(pii.report.pii!.findings.map((f) => f.column)).toEqual(expect.arrayContaining(['email']));
    expect(pii.message).toMatch(/transactions\.email email ×\d+/);
    expect(tables()).toEqual(['before']);
    expect(fs.readdirSync(path.dirname(dbPath)).filter((f) => f.includes('seeding'))).toEqual([]);
    // An allowance lets that many through.
    const allowed = await populateFromSource({
      home,
      layer: layer(`{ source: profile, rows: 500, seed: 1, pii: { allow: ${pii.report.pii!.total} } }`),
      dbPath,
    });
    expect(allowed.created).toBe(true);
    expect(JSON.parse(fs.readFileSync(`${dbPath}.fidelity.json`, 'utf8')).overall).toBeGreaterThan(0.85);
  });

  it('bad input fails with the file and the field named, and the environment untouched', async () => {
    await approve(path.join(EXAMPLES, 'data/production-transactions.csv'));
    const allow = '    allowSanitizedProduction: true\n';
    // A keyring that does not exist.
    fs.rmSync(path.join(home, 'keyring.yaml'));
    const policy = `${EXAMPLES}/data/masking/mirror.yaml`;
    await expect(
      populateFromSource({ home, layer: layer(`{ source: prod, policy: ${policy} }`, allow), dbPath }),
    ).rejects.toThrow(new RegExp(`${path.join(home, 'keyring.yaml').replace(/[.]/g, '\\.')}: keyring file not found`));
    // A policy that forgets a column of the source.
    const partial = path.join(home, 'partial.yaml');
    fs.writeFileSync(partial, fs.readFileSync(policy, 'utf8').replace(/^\s*phone:.*$/m, ''));
    fs.writeFileSync(
      path.join(home, 'keyring.yaml'),
      `keys: { k1: "hex:${randomBytes(32).toString('hex')}" }\nactive: k1\n`,
      { mode: 0o600 },
    );
    await expect(
      populateFromSource({ home, layer: layer(`{ source: prod, policy: ${partial} }`, allow), dbPath }),
    ).rejects.toThrow(/phone/);
    // A corrupt profile.
    const corrupt = path.join(home, 'corrupt.profile.json');
    fs.writeFileSync(corrupt, '{ "version": 1, "columns": [');
    await new ApprovalRegistry(home).approve(corrupt, 'carol', 'test');
    const text = `name: t
data:
  sources: [ { name: p, classification: synthetic, file: ${corrupt} } ]
layers:
  - { name: mirror, approval: auto, data: { source: p, rows: 10 }, gates: [] }
`;
    await expect(
      populateFromSource({ home, layer: parseLadder(text, path.join(home, 'l.yaml')).layers[0], dbPath }),
    ).rejects.toThrow(/corrupt\.profile\.json/);
    expect(tables()).toEqual(['before']);
  });
});

describe('populateFromSource against held-out real rows', () => {
  const profile = path.join(EXAMPLES, 'data/transactions.profile.json');
  const real = path.join(EXAMPLES, 'data/production-transactions.csv');
  const label = fs.readFileSync(path.join(EXAMPLES, 'data/labels.txt'), 'utf8').trim().replace(/"/g, '\\"');
  function scored(data: string): LayerSpec {
    const text = `name: t
data:
  sources:
    - { name: profile, classification: synthetic, file: ${profile}, holdout: ${real}, labels: ["${label}"] }
layers:
  - name: mirror
    approval: auto
    data: ${data}
    gates: []
`;
    return parseLadder(text, path.join(home, 'ladder.yaml')).layers[0];
  }

  it('refuses when the real file is not approved, then scores against a sample kept in the steward area', async () => {
    await approve(profile);
    const spec = scored('{ source: profile, rows: 1000, seed: 1, pii: { allow: 100000 } }');
    const err = await refusal(populateFromSource({ home, layer: spec, dbPath }));
    expect(err.kind).toBe('DatasetNotApproved');
    expect(err.message).toContain('may not score against');
    await approve(real);
    const report = await populateFromSource({ home, layer: spec, dbPath });
    expect(report.fidelity).toMatchObject({ basis: 'rows', passed: true });
    expect(report.fidelity!.detection).toBeGreaterThan(0.6);
    expect(report.fidelity!.mlEfficacy![0]).toMatchObject({ label: 'is_fraud' });
    const full = JSON.parse(fs.readFileSync(`${dbPath}.fidelity.json`, 'utf8'));
    expect(full).toMatchObject({ basis: 'rows', realRows: 4000 });
    // The sample lives in $STRATA_HOME/data/holdout (mode 600), never beside the environment's database.
    const kept = fs.readdirSync(path.join(home, 'data', 'holdout'));
    expect(kept).toHaveLength(1);
    expect(fs.statSync(path.join(home, 'data', 'holdout', kept[0])).mode & 0o777).toBe(0o600);
    expect(fs.readdirSync(path.dirname(dbPath)).some((f) => f.includes('holdout'))).toBe(false);
  });

  it('fails broken data on a threshold only real rows measure (detection), with the failure named', async () => {
    await approve(profile);
    await approve(real);
    const spec = scored(
      '{ source: profile, rows: 1000, seed: 1, realism: { noise: 1, missingRate: 0.5 }, fidelity: { overall: 0.5, detection: 0.6 }, pii: { allow: 100000 } }',
    );
    const err = await refusal(populateFromSource({ home, layer: spec, dbPath }));
    expect(err.kind).toBe('FidelityBelowThreshold');
    expect(err.message).toMatch(/against 4000 real rows.*failed: .*detection 0\.\d{3} < 0\.6/);
    expect(err.report.fidelity!.failures).toEqual(expect.arrayContaining([expect.stringMatching(/^detection /)]));
    expect(tables()).toEqual(['before']);
  });
});
