import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import Database from 'better-sqlite3';
import { beforeAll, describe, expect, it } from 'vitest';
import { auditTrail } from '../../src/audit/trail';
import { loadLadder } from '../../src/config/ladder';
import { ApprovalRegistry } from '../../src/data/approvals';
import { scanSqlite } from '../../src/data/pii/scan';
import { profileSource } from '../../src/data/profile/profiler';
import { transactionRows } from '../../src/data/transactions';
import { getStatus, startPromotion, waitForResult } from '../../src/temporal/promotions';
import { artifactsOf, type TestWorker, workerSuite } from '../helpers/harness';
import { exampleCandidate } from '../helpers/ladders';

// The data plane wired into the ladder, end to end on the real dev server: policy decisions,
// dataset approvals, synthesis with a fidelity threshold, sanitization of a production source, the
// seed-time PII gate and many seeds as child workflows. Every refusal happens before a row reaches
// the environment, fails once (non-retryable) and is in the audit trail.

const suite = workerSuite('data');
let client: Client;
let home: string;
let taskQueue: string;
let worker: TestWorker;
let dir: string;

const FEATURES = [
  'txn_id',
  'amount',
  'merchant_risk',
  'account_age_days',
  'hour',
  'is_foreign',
  'velocity_24h',
  'channel',
  'is_fraud',
] as const;
/** The hidden fraud model of src/data/transactions.ts, as a label rule over the generated features. */
const LABEL =
  "is_fraud ~ logistic(-7.5 + 1.7 * (log1p(amount) - 3.6) + 4.85 * merchant_risk - 1.1 * (log1p(account_age_days) - 6) + 2.2 * (hour <= 5) + 2.8 * is_foreign + 0.7 * min(velocity_24h, 10) + 1.2 * (channel == 'web') + 0.6 * (channel == 'app') + normal(1.2))";

/** A Luhn-valid 16-digit Visa number (the scanner's card detector accepts these). */
function cardNumber(i: number): string {
  const body = `4${String(100000000000000 + i * 7919).padStart(14, '0')}`;
  let sum = 0;
  for (let k = 0; k < body.length; k++) {
    let d = Number(body[body.length - 1 - k]);
    if (k % 2 === 0) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return `${body}${(10 - (sum % 10)) % 10}`;
}

function writeFixtures(): void {
  const rows = (seed: number, n: number) => Array.from(transactionRows({ rows: n, seed }));
  const csv = (header: string[], lines: unknown[][]) =>
    `${header.join(',')}\n${lines.map((l) => l.join(',')).join('\n')}\n`;
  fs.writeFileSync(
    path.join(dir, 'features.csv'),
    csv(
      [...FEATURES],
      rows(7, 3000).map((r) => FEATURES.map((c) => r[c])),
    ),
  );
  fs.writeFileSync(
    path.join(dir, 'production.csv'),
    csv(
      [...FEATURES, 'email', 'card_number'],
      rows(8, 1200).map((r, i) => [...FEATURES.map((c) => r[c]), `customer${i}@mailbox${i % 9}.com`, cardNumber(i)]),
    ),
  );
  const keyring = path.join(dir, 'keyring.yaml');
  fs.writeFileSync(keyring, `keys: { k1: "hex:${randomBytes(32).toString('hex')}" }\nactive: k1\n`, { mode: 0o600 });
  const keep = `amount: { op: keep, type: REAL }
  merchant_risk: { op: keep, type: REAL }
  account_age_days: { op: keep, type: INTEGER }
  hour: { op: keep, type: INTEGER }
  is_foreign: { op: keep, type: INTEGER }
  velocity_24h: { op: keep, type: INTEGER }
  channel: { op: keep, type: TEXT }
  is_fraud: { op: keep, type: INTEGER }`;
  fs.writeFileSync(
    path.join(dir, 'mirror.yaml'),
    `keyring: ${keyring}\ncolumns:\n  txn_id: { op: hmac, prefix: txn_ }\n  email: { op: hmac }\n  card_number: { op: mask, keep: 4 }\n  ${keep}\n`,
  );
  // Forgets the email: the PII gate must catch it.
  fs.writeFileSync(
    path.join(dir, 'leaky.yaml'),
    `keyring: ${keyring}\ncolumns:\n  txn_id: { op: hmac, prefix: txn_ }\n  email: { op: keep, type: TEXT }\n  card_number: { op: mask, keep: 4 }\n  ${keep}\n`,
  );
}

/** A one-layer ladder around `layer` (YAML lines indented under the layer entry). */
function ladderFile(name: string, layer: string): string {
  const file = path.join(dir, `ladder-${name}.yaml`);
  fs.writeFileSync(
    file,
    `name: ${name}
data:
  sources:
    - { name: profile, classification: synthetic, file: transactions.profile.json, labels: ["${LABEL.replace(/"/g, '\\"')}"] }
    - { name: prod, classification: production, file: production.csv }
layers:
  - name: ${name}
    approval: auto
    rollback: keep
${layer}
`,
  );
  return file;
}

async function promote(name: string, layer: string) {
  const ladder = loadLadder(ladderFile(name, layer));
  const id = await startPromotion(client, {
    ladder,
    layers: ladder.layers,
    candidate: await exampleCandidate('fraud-v2'),
    initiator: 'dana',
    taskQueue,
    artifacts: artifactsOf(home),
  });
  const result = await waitForResult(client, id);
  return {
    id,
    result,
    status: await getStatus(client, id),
    audit: await auditTrail(client, id),
    dbPath: path.join(home, 'envs', name, 'data.db'),
  };
}

/** The layer's activities in order, with the attempt each ended on (a non-retryable refusal: attempt 1). */
async function activityAttempts(promotionId: string, layer: string): Promise<Array<[string, number]>> {
  const history = await client.workflow.getHandle(`${promotionId}.${layer}`).fetchHistory();
  const types = new Map<string, string>();
  const out: Array<[string, number]> = [];
  for (const e of history.events ?? []) {
    if (e.activityTaskScheduledEventAttributes)
      types.set(String(e.eventId), e.activityTaskScheduledEventAttributes.activityType?.name ?? '');
    if (e.activityTaskStartedEventAttributes) {
      const a = e.activityTaskStartedEventAttributes;
      out.push([types.get(String(a.scheduledEventId)) ?? '', a.attempt ?? 0]);
    }
  }
  return out;
}

beforeAll(async () => {
  ({ client, home, taskQueue, worker } = suite);
  void worker;
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-data-plane-'));
  writeFixtures();
  const profile = await profileSource(path.join(dir, 'features.csv'), { table: 'transactions' });
  fs.writeFileSync(path.join(dir, 'transactions.profile.json'), JSON.stringify(profile));
}, 60_000);

describe('the data plane in the seed step (real dev server)', () => {
  it('refuses an unapproved dataset before any row moves, once, and audits it', async () => {
    const { id, result, status, audit, dbPath } = await promote(
      'unapproved',
      `    data: { source: profile, rows: 1000, seed: 1 }
    gates: [ { type: schema } ]`,
    );
    expect(result.state).toBe('failed');
    const layer = status.layers[0];
    expect(layer.phase).toBe('failed');
    expect(layer.failure).toMatch(
      /seeding failed: dataset not approved: layer "unapproved" may not seed from .*transactions\.profile\.json \(sha256 [0-9a-f]{12}\)/,
    );
    expect(layer.data).toMatchObject({
      refused: 'DatasetNotApproved',
      policy: { allowed: true, rule: 'synthetic-from-profile' },
    });
    expect(fs.existsSync(dbPath)).toBe(false); // nothing written
    expect(audit.find((e) => e.action === 'data.not-approved')?.detail).toMatch(/strata data approve/);
    // Refused at the seed step on its first attempt: no deploy, no gate ran.
    expect(await activityAttempts(id, 'unapproved')).toEqual([
      // The environment's answer came back with the request itself (lease-answer-in-request):
      // no grant signal, no separate standing check.
      ['requestLease', 1],
      ['provisionEnvironment', 1],
      ['populateEnvironment', 1],
    ]);
  });

  it('seeds synthetic rows from an approved profile, with fidelity and a PII scan in status and audit', async () => {
    await new ApprovalRegistry(home).approve(
      path.join(dir, 'transactions.profile.json'),
      'carol',
      'stats only, reviewed',
    );
    const { result, status, audit, dbPath } = await promote(
      'synthetic',
      `    data: { source: profile, rows: 2000, seed: 1, fidelity: 0.85 }
    gates:
      - { type: schema }
      - { type: quality, threshold: 0.75 }`,
    );
    expect(result.state).toBe('promoted');
    const data = status.layers[0].data!;
    expect(data).toMatchObject({
      source: 'profile',
      classification: 'synthetic',
      rows: 2000,
      approvedBy: 'carol',
      policy: { allowed: true },
    });
    expect(data.fidelity!.overall).toBeGreaterThanOrEqual(0.85);
    expect(data.pii).toMatchObject({ total: 0, allowance: 0 });
    const db = new Database(dbPath, { readonly: true });
    expect((db.prepare('SELECT COUNT(*) AS n FROM transactions').get() as { n: number }).n).toBe(2000);
    db.close();
    const seeded = audit.find((e) => e.action === 'data.seeded')!;
    expect(seeded.detail).toMatch(
      /2000 rows of transactions from synthetic source profile .*approved by carol.*fidelity 0\.\d{3} ≥ 0\.85; PII 0 findings/,
    );
  });

  it('refuses a production source in a layer that does not allow it, before reading it', async () => {
    await new ApprovalRegistry(home).approve(path.join(dir, 'production.csv'), 'carol', 'for the mirror only');
    const { id, result, status, audit, dbPath } = await promote(
      'lower',
      `    data: { source: prod, policy: mirror.yaml }
    gates: [ { type: schema } ]`,
    );
    expect(result.state).toBe('failed');
    expect(status.layers[0].failure).toMatch(
      /data policy production-requires-allowSanitizedProduction: layer "lower" may not seed from source "prod" \(production\)/,
    );
    expect(status.layers[0].data?.policy).toEqual({
      allowed: false,
      rule: 'production-requires-allowSanitizedProduction',
    });
    expect(fs.existsSync(dbPath)).toBe(false);
    expect(audit.some((e) => e.action === 'data.policy-refused' && e.detail.includes('layer "lower"'))).toBe(true);
    const lease = new Set(['requestLease', 'leaseStanding']);
    expect((await activityAttempts(id, 'lower')).filter(([type]) => !lease.has(String(type)))).toEqual([
      ['provisionEnvironment', 1],
      ['populateEnvironment', 1],
    ]);
  });

  it('sanitizes a production source into a mirror: zero PII findings there, hundreds in the source', async () => {
    const source = await scanSqliteOrCsv(path.join(dir, 'production.csv'));
    expect(source).toBeGreaterThanOrEqual(1200);
    const { result, status, dbPath } = await promote(
      'mirror',
      `    allowSanitizedProduction: true
    data: { source: prod, policy: mirror.yaml }
    gates:
      - { type: schema }
      - { type: quality, threshold: 0.78 }`,
    );
    expect(result.state).toBe('promoted');
    expect(status.layers[0].data).toMatchObject({
      classification: 'production',
      rows: 1200,
      policy: { allowed: true, rule: 'production-sanitized' },
      pii: { total: 0 },
    });
    expect((await scanSqlite(dbPath)).total).toBe(0);
  });

  it('fails the seed when the masking lets PII through, naming table, column, detector and count — never a value', async () => {
    const { result, status, audit, dbPath } = await promote(
      'leaky',
      `    allowSanitizedProduction: true
    data: { source: prod, policy: leaky.yaml }
    gates: [ { type: schema } ]`,
    );
    expect(result.state).toBe('failed');
    expect(status.layers[0].failure).toMatch(
      /PII found in the data seeded into layer "leaky": 1200 findings \(allowance 0\): transactions\.email email ×1200/,
    );
    expect(JSON.stringify(status)).not.toMatch(/customer\d+@mailbox/);
    expect(JSON.stringify(audit)).not.toMatch(/customer\d+@mailbox/);
    expect(audit.some((e) => e.action === 'data.pii-found')).toBe(true);
    expect(fs.existsSync(dbPath)).toBe(false);
    expect(fs.readdirSync(path.dirname(dbPath)).filter((f) => f.includes('seeding'))).toEqual([]);
  });

  it('fails the seed below the fidelity threshold and keeps the previous data', async () => {
    const { result, status } = await promote(
      'noisy',
      `    data: { source: profile, rows: 1000, seed: 1, realism: { noise: 1, missingRate: 0.5 }, fidelity: 0.95 }
    gates: [ { type: schema } ]`,
    );
    expect(result.state).toBe('failed');
    expect(status.layers[0].failure).toMatch(/fidelity below threshold in layer "noisy": fidelity 0\.\d{3} < 0\.95/);
    expect(status.layers[0].data?.fidelity?.passed).toBe(false);
  });

  it('evaluates many seeds as child workflows and gates on their mean and spread', async () => {
    const { id, result, status, audit } = await promote(
      'seeds',
      `    data: { source: profile, rows: 1500, seed: 1, realism: { seasonality: 1.5, missingRate: 0.05, noise: 0.05 } }
    seeds: [41, 42, 43]
    gates:
      - { type: seeds, threshold: 0.7, options: { metric: auc, maxStd: 0.05 } }`,
    );
    expect(result.state).toBe('promoted');
    const gate = status.layers[0].gates.find((g) => g.type === 'seeds')!;
    expect(gate.passed).toBe(true);
    expect(gate.checks?.map((c) => c.name)).toEqual(['seed 41', 'seed 42', 'seed 43']);
    expect(gate.measured?.std).toBeLessThanOrEqual(0.05);
    expect(gate.value).toBeGreaterThanOrEqual(0.7);
    // Each seed ran as its own child workflow with its own database.
    for (const seed of [41, 42, 43]) {
      const child = await client.workflow.getHandle(`${id}.seeds.seed-${seed}`).describe();
      expect(child.status.name).toBe('COMPLETED');
      expect(fs.existsSync(path.join(home, 'envs', 'seeds', 'seeds', String(seed), 'data.db'))).toBe(true);
    }
    expect(audit.filter((e) => e.action === 'seed.measured')).toHaveLength(3);
    expect(audit.some((e) => e.action === 'gate.passed' && e.detail.startsWith('gate seeds: auc over 3 seeds'))).toBe(
      true,
    );
  });

  it('fails the seeds gate when the spread is above maxStd', async () => {
    const { result, status } = await promote(
      'spread',
      `    data: { source: profile, rows: 300, seed: 1, realism: { noise: 0.3 } }
    seeds: [1, 2, 3, 4]
    gates:
      - { type: seeds, threshold: 0.5, options: { metric: auc, maxStd: 0.0001 } }`,
    );
    expect(result.state).toBe('failed');
    const gate = status.layers[0].gates[0];
    expect(gate.passed).toBe(false);
    expect(gate.detail).toMatch(/std 0\.\d+ > 0\.0001/);
  });
});

async function scanSqliteOrCsv(file: string): Promise<number> {
  const { scanFile } = await import('../../src/data/pii/scan');
  return (await scanFile(file)).total;
}
