import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Client, Connection } from '@temporalio/client';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { auditTrail } from '../../src/audit/trail';
import { loadLadder } from '../../src/config/ladder';
import { ApprovalRegistry } from '../../src/data/approvals';
import { transactionRows } from '../../src/data/transactions';
import { approve, getStatus, startPromotion, waitForResult } from '../../src/temporal/promotions';
import {
  artifactsOf,
  connectTestClient,
  ROOT,
  teardownHome,
  temporalAddress,
  tempHome,
  uniqueTaskQueue,
  waitForStatus,
} from '../helpers/harness';
import { exampleCandidate } from '../helpers/ladders';

// The canary test: "no data value leaves the worker". Unique canary strings and numbers are
// planted in every column of a production source; a mirror layer keeps them (`op: keep`), so they
// reach the environment's database. Then a full promotion with two approvers, two DR drills and a
// second promotion that fails a gate *because of* the canaries (an in-set and a between
// expectation they violate, consistency ranges they break). Afterwards no canary may appear in any
// workflow history of the namespace (read through the Temporal API, payloads decoded), in status,
// in the audit trail, in the CLI's output, in the worker process's logs or in any file under
// $STRATA_HOME other than the SQLite databases that hold the data on purpose.

/** One canary per column; numbers are out of every declared range, strings are in no set. */
const CANARY = {
  txn_id: 'canary-txn-Wk27pJ',
  amount: 98765.4321,
  merchant_risk: 97531.8642,
  account_age_days: 8642975310,
  hour: 9182736450,
  is_foreign: 5556667771,
  velocity_24h: 7364519283,
  channel: 'canary-chan-Qz81xT',
  is_fraud: 4455667788,
  email: 'canary.Mv93rB@leak-test.example',
  card_number: '4929187362540018',
} as const;
const NEEDLES = Object.values(CANARY).map(String);
const CANARY_ROWS = 3;

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

/** The canaries found in `text`, by column. */
function canariesIn(text: string): string[] {
  return Object.entries(CANARY)
    .filter(([, v]) => text.includes(String(v)))
    .map(([k, v]) => `${k}=${v}`);
}

let client: Client;
let connection: Connection;
let home: string;
let taskQueue: string;
let dir: string;
let worker: ChildProcess;
let workerLog = '';
const cliOutputs: string[] = [];
const promotions: string[] = [];

function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const env = {
    ...process.env,
    TEMPORAL_ADDRESS: temporalAddress(),
    TEMPORAL_NAMESPACE: inject('namespace'),
    STRATA_TASK_QUEUE: taskQueue,
    STRATA_HOME: home,
    STRATA_LOG_LEVEL: 'debug',
  };
  return new Promise((resolve) => {
    execFile(path.join(ROOT, 'bin/strata'), args, { env, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      cliOutputs.push(`$ strata ${args.join(' ')}\n${stdout}\n${stderr}`);
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

/** The worker as its own process, logging at debug level into `workerLog`. */
function startWorkerProcess(): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'workers/main.ts')], {
    cwd: ROOT,
    env: {
      ...process.env,
      TEMPORAL_ADDRESS: temporalAddress(),
      TEMPORAL_NAMESPACE: inject('namespace'),
      STRATA_HOME: home,
      STRATA_TASK_QUEUE: taskQueue,
      STRATA_LOG_LEVEL: 'debug',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.on('data', (chunk: Buffer) => (workerLog += chunk.toString()));
  return new Promise((resolve, reject) => {
    child.stderr!.on('data', (chunk: Buffer) => {
      workerLog += chunk.toString();
      if (workerLog.includes('worker running')) resolve(child);
    });
    child.on('exit', (code) => reject(new Error(`worker exited (${code}) before running:\n${workerLog}`)));
  });
}

function writeFixtures(): void {
  const lines: unknown[][] = Array.from(transactionRows({ rows: 1200, seed: 8 }), (r, i) => [
    ...FEATURES.map((c) => r[c]),
    `customer${i}@mailbox${i % 9}.com`,
    `4000${String(100000000000 + i * 7919).padStart(12, '0')}`,
  ]);
  const canaryRow = [...FEATURES.map((c) => CANARY[c]), CANARY.email, CANARY.card_number];
  // Spread through the file, as production rows would be.
  for (let k = 0; k < CANARY_ROWS; k++) lines.splice(100 + k * 400, 0, canaryRow);
  fs.writeFileSync(
    path.join(dir, 'production.csv'),
    `${[...FEATURES, 'email', 'card_number'].join(',')}\n${lines.map((l) => l.join(',')).join('\n')}\n`,
  );
  const keyring = path.join(dir, 'keyring.yaml');
  fs.writeFileSync(keyring, `keys: { k1: "hex:${randomBytes(32).toString('hex')}" }\nactive: k1\n`, { mode: 0o600 });
  // Every feature and the label are kept as they are: the canaries reach the environment.
  fs.writeFileSync(
    path.join(dir, 'mirror.yaml'),
    `keyring: ${keyring}
columns:
  txn_id: { op: hmac, prefix: txn_ }
  email: { op: hmac }
  card_number: { op: mask, keep: 4 }
  amount: { op: keep, type: REAL }
  merchant_risk: { op: keep, type: REAL }
  account_age_days: { op: keep, type: INTEGER }
  hour: { op: keep, type: INTEGER }
  is_foreign: { op: keep, type: INTEGER }
  velocity_24h: { op: keep, type: INTEGER }
  channel: { op: keep, type: TEXT }
  is_fraud: { op: keep, type: INTEGER }
`,
  );
}

/**
 * The mirror layer. `tolerated` is the expectations and consistency gates' threshold: high, their
 * failed checks are recorded and the layer still passes; 0, the canaries fail the layer.
 */
function ladderFile(name: string, tolerated: number): string {
  const file = path.join(dir, `${name}.yaml`);
  fs.writeFileSync(
    file,
    `name: ${name}
data:
  sources:
    - { name: prod, classification: production, file: production.csv }
layers:
  - name: mirror
    allowSanitizedProduction: true
    data: { source: prod, policy: mirror.yaml }
    rollback: previous
    gates:
      - { type: schema }
      - { type: schema-compatibility, threshold: ${tolerated} }
      - { type: consistency, threshold: ${tolerated}, options: { minRows: 1000 } }
      - type: expectations
        threshold: ${tolerated}
        options:
          table: transactions
          expectations:
            - { expect: not-null, column: amount }
            - { expect: between, column: amount, min: 0, max: 10000 }
            - { expect: between, column: merchant_risk, min: 0, max: 1 }
            - { expect: between, column: account_age_days, min: 0, max: 100000 }
            - { expect: between, column: hour, min: 0, max: 23 }
            - { expect: between, column: velocity_24h, max: 1000 }
            - { expect: in-set, column: channel, values: [web, pos, app] }
            - { expect: in-set, column: is_foreign, values: [0, 1] }
            - { expect: in-set, column: is_fraud, values: [0, 1] }
            - { expect: unique, column: txn_id }
            - { expect: row-count, min: 1000 }
      - { type: quality, threshold: 0.7 }
      - type: slo
        threshold: 2000
        options:
          load: { phases: [ { constant: { rate: 20, duration: 2s } } ], maxConcurrency: 8 }
          errorRate: 0.5
    approval: { required: 2, approvers: [alice, bob, carol], expiry: 1h }
    drills:
      table-dropped: { rto: 60s, rpo: 5s }
      rows-corrupted: { rto: 60s, rpo: 5s }
`,
  );
  return file;
}

/** Every workflow of the namespace, each history as text with its payloads decoded (JSON). */
async function allHistories(): Promise<Array<{ id: string; type: string; ours: boolean; text: string }>> {
  const executions = [];
  for await (const wf of client.workflow.list()) executions.push(wf);
  const out = [];
  for (let i = 0; i < executions.length; i += 16) {
    out.push(
      ...(await Promise.all(
        executions.slice(i, i + 16).map(async (wf) => ({
          id: wf.workflowId,
          type: wf.type,
          ours: wf.taskQueue === taskQueue,
          text: decoded(await client.workflow.getHandle(wf.workflowId, wf.runId).fetchHistory()),
        })),
      )),
    );
  }
  return out;
}

/**
 * A history as text: its JSON, plus every base64 field decoded (payload data, search attributes,
 * failure details, markers), so a value inside a payload is as visible as one in a message.
 */
function decoded(history: unknown): string {
  const parts: string[] = [];
  const walk = (v: unknown): void => {
    if (typeof v === 'string') {
      parts.push(v);
      if (v.length >= 4 && v.length % 4 === 0 && /^[A-Za-z0-9+/]+={0,2}$/.test(v))
        parts.push(Buffer.from(v, 'base64').toString('utf8'));
    } else if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object') Object.values(v).forEach(walk);
  };
  walk(JSON.parse(JSON.stringify(history)));
  return parts.join('\n');
}

/** Text files under `root`, with SQLite databases (the data itself, on purpose) left out. */
function filesUnder(root: string): { files: string[]; databases: string[] } {
  const files: string[] = [];
  const databases: string[] = [];
  const walk = (d: string) => {
    for (const entry of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, entry.name);
      if (entry.isDirectory()) walk(p);
      else if (entry.isFile()) {
        const head = Buffer.alloc(16);
        const fd = fs.openSync(p, 'r');
        const n = fs.readSync(fd, head, 0, 16, 0);
        fs.closeSync(fd);
        if (n === 16 && head.toString('latin1') === 'SQLite format 3\0') databases.push(p);
        else files.push(p);
      }
    }
  };
  walk(root);
  return { files, databases };
}

beforeAll(async () => {
  ({ client, connection } = await connectTestClient());
  home = tempHome('canary');
  taskQueue = uniqueTaskQueue('canary');
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-canary-'));
  writeFixtures();
  await new ApprovalRegistry(home).approve(path.join(dir, 'production.csv'), 'carol', 'canary test: mirror only');
  worker = await startWorkerProcess();
}, 120_000);

afterAll(async () => {
  if (worker && worker.exitCode === null) {
    worker.kill('SIGTERM');
    await new Promise((r) => worker.once('exit', r));
  }
  await connection?.close();
  if (home) await teardownHome(home);
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

describe('canary: no data value leaves the worker (real dev server, worker process, real SQLite)', () => {
  it('promotes through a mirror that keeps the canaries, approved by two', async () => {
    const ladder = loadLadder(ladderFile('canary', 50));
    const id = await startPromotion(client, {
      ladder,
      layers: ladder.layers,
      candidate: await exampleCandidate('fraud-v2'),
      initiator: 'dana',
      taskQueue,
      artifacts: artifactsOf(home),
    });
    promotions.push(id);
    const waiting = await waitForStatus(client, id, (s) => s.state !== 'running', 180_000);
    expect(waiting.state, JSON.stringify(waiting.layers[0])).toBe('awaiting-approval');
    const gates = waiting.layers[0].gates;
    // The canaries did fail checks: those failure messages are what must not carry them.
    expect(gates.find((g) => g.type === 'expectations')?.value).toBeGreaterThanOrEqual(8);
    expect(gates.find((g) => g.type === 'consistency')?.value).toBe(5); // hour, merchant_risk, is_foreign, channel, label
    expect(gates.find((g) => g.type === 'expectations')?.detail).toMatch(/in-set\(channel\) [\d.]+ % < mostly 1/);
    await approve(client, id, { layer: 'mirror', actor: 'alice', reason: 'canaries only' });
    await approve(client, id, { layer: 'mirror', actor: 'bob', reason: 'canaries only' });
    expect((await waitForResult(client, id)).state).toBe('promoted');

    // The test means something only if the canaries did reach the environment.
    const db = new Database(path.join(home, 'envs', 'mirror', 'data.db'), { readonly: true });
    try {
      const row = db
        .prepare('SELECT COUNT(*) AS n FROM transactions WHERE channel = ? AND hour = ?')
        .get(CANARY.channel, CANARY.hour) as { n: number };
      expect(row.n).toBe(CANARY_ROWS);
    } finally {
      db.close();
    }
  }, 240_000);

  it('drills the mirror twice through the CLI', async () => {
    const file = path.join(dir, 'canary.yaml');
    for (const scenario of ['table-dropped', 'rows-corrupted']) {
      const run = await cli([
        'drill',
        'run',
        '--ladder',
        file,
        '--layer',
        'mirror',
        '--scenario',
        scenario,
        '--as',
        'erin',
      ]);
      expect(run.code, run.stderr).toBe(0);
    }
    expect((await cli(['drill', 'history', '--layer', 'mirror'])).code).toBe(0);
  }, 180_000);

  it('fails a second promotion on gates the canaries break, and rolls back', async () => {
    const ladder = loadLadder(ladderFile('canary-strict', 0));
    const id = await startPromotion(client, {
      ladder,
      layers: ladder.layers,
      candidate: await exampleCandidate('fraud-v1'),
      initiator: 'dana',
      taskQueue,
      artifacts: artifactsOf(home),
    });
    promotions.push(id);
    const result = await waitForResult(client, id);
    expect(result.state).toBe('failed');
    expect(result.reason).toMatch(/gate (schema-compatibility|consistency|expectations) failed/);
  }, 240_000);

  it('leaves no canary in any history, status, audit, CLI output, worker log or file of STRATA_HOME', async () => {
    const found: string[] = [];
    const check = (where: string, text: string) => {
      const hits = canariesIn(text);
      if (hits.length > 0) found.push(`${where}: ${hits.join(', ')}`);
    };

    // Every workflow history in the namespace, through the Temporal API.
    const histories = await allHistories();
    const ours = histories.filter((h) => h.ours).map((h) => h.type);
    for (const type of ['promotion', 'layer', 'drill', 'environment']) expect(ours).toContain(type);
    expect(ours.length).toBeGreaterThanOrEqual(2 * 2 + 2 + 1); // promotions, layers, drills, environment
    for (const h of histories) check(`history of ${h.id} (${h.type})`, h.text);
    // The payloads were decoded: the gates' findings are readable in the histories.
    const layerHistory = histories.find((h) => h.id === `${promotions[0]}.mirror`)!.text;
    expect(layerHistory).toContain('"name":"in-set(channel)","passed":false');
    expect(layerHistory).toContain('column hour: 3 ');

    for (const id of promotions) {
      check(`status of ${id}`, JSON.stringify(await getStatus(client, id)));
      check(`audit of ${id}`, JSON.stringify(await auditTrail(client, id)));
      for (const args of [
        ['status', id],
        ['status', id, '--json'],
        ['audit', id],
        ['audit', id, '--json'],
      ]) {
        const out = await cli(args);
        expect(out.code, out.stderr).toBe(0);
      }
    }
    const runs = JSON.parse((await cli(['runs', 'ls', '--json'])).stdout) as Array<{ id: string }>;
    expect(runs.length).toBeGreaterThanOrEqual(2);
    for (const r of runs) await cli(['runs', 'show', r.id]);
    await cli(['env', 'show', 'mirror']);
    for (const out of cliOutputs) check(`CLI output of ${out.split('\n')[0]}`, out);

    check('the worker log', workerLog);
    expect(workerLog).toContain('worker running');

    const { files, databases } = filesUnder(home);
    expect(files.some((f) => f.includes(`${path.sep}runs${path.sep}`))).toBe(true);
    expect(files.some((f) => f.includes(`${path.sep}drills${path.sep}`) && f.endsWith('.md'))).toBe(true);
    expect(databases.length).toBeGreaterThan(0);
    for (const f of files) check(path.relative(home, f), fs.readFileSync(f, 'latin1'));

    expect(found).toEqual([]);
    expect(NEEDLES).toHaveLength(11);
  }, 240_000);
});
