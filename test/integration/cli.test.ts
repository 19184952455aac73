// The `strata` CLI end to end: real child processes (bin/strata → tsx), the run's one Temporal dev
// server, and one in-process worker on this file's own task queue and STRATA_HOME.

import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Client, Connection } from '@temporalio/client';
import { WorkflowNotFoundError } from '@temporalio/client';
import { bundleWorkflowCode } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { AuditEntry } from '../../src/audit/trail';
import type { PromotionStatus } from '../../src/domain/status';
import { freePort } from '../../src/tools/ports';
import type { PromotionSummary } from '../../src/temporal/promotions';
import { WORKFLOWS_PATH } from '../../workers/worker';
import { connectTestClient, ROOT, startTestWorker, teardownHome, tempHome, uniqueTaskQueue } from '../helpers/harness';
import { testLadderYaml } from '../helpers/ladders';

const STRATA = path.join(ROOT, 'bin/strata');
const FIXTURES = 'test/fixtures/ladders'; // relative to ROOT, the CLI's cwd: messages name files as given
const V1 = 'examples/candidates/fraud-v1';
const V2 = 'examples/candidates/fraud-v2';
const V3 = 'examples/candidates/fraud-v3';
/** Distinguishes this run's promotions from those of other files sharing the dev server. */
const RUN = randomBytes(3).toString('hex');

let home: string;
let taskQueue: string;
let ladderFile: string;
let worker: Awaited<ReturnType<typeof startTestWorker>> | undefined;
let client: Client;
let connection: Connection;

interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `bin/strata ...args` from the repository root and collects its exit code and output. */
function strata(args: string[], env: Record<string, string> = {}, timeoutMs = 120_000): Promise<CliResult> {
  const base: NodeJS.ProcessEnv = { ...process.env };
  for (const key of ['STRATA_USER', 'TEMPORAL_NAMESPACE', 'STRATA_RETENTION_DAYS', 'NODE_OPTIONS']) delete base[key];
  return new Promise((resolve, reject) => {
    const child = spawn(STRATA, args, {
      cwd: ROOT,
      env: {
        ...base,
        TEMPORAL_ADDRESS: inject('temporalAddress'),
        TEMPORAL_NAMESPACE: inject('namespace'),
        STRATA_HOME: home,
        STRATA_TASK_QUEUE: taskQueue,
        STRATA_LOG_LEVEL: 'warn',
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Output worth seeing when an assertion on a CLI call fails. */
function show(r: CliResult): string {
  return `exit ${r.code}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;
}

function parseJson<T>(r: CliResult): T {
  try {
    return JSON.parse(r.stdout) as T;
  } catch {
    throw new Error(`stdout is not JSON:\n${show(r)}`);
  }
}

async function statusJson(id: string): Promise<PromotionStatus> {
  const r = await strata(['status', id, '--json']);
  expect(r.code, show(r)).toBe(0);
  return parseJson<PromotionStatus>(r);
}

/** Polls `strata status <id> --json` until `pred` holds. */
async function pollStatus(
  id: string,
  pred: (s: PromotionStatus) => boolean,
  timeoutMs = 60_000,
): Promise<PromotionStatus> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const s = await statusJson(id);
    if (pred(s)) return s;
    if (Date.now() > deadline) throw new Error(`timed out waiting on ${id}: ${JSON.stringify(s)}`);
    await new Promise((r) => setTimeout(r, 300));
  }
}

/** Polls `strata list ...args --json` (visibility lags) until the listing has `id`. */
async function pollList(args: string[], id: string, timeoutMs = 10_000): Promise<PromotionSummary[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const r = await strata(['list', ...args, '--json']);
    expect(r.code, show(r)).toBe(0);
    const rows = parseJson<PromotionSummary[]>(r);
    if (rows.some((row) => row.id === id)) return rows;
    if (Date.now() > deadline)
      throw new Error(`strata list ${args.join(' ')} has no ${id} after ${timeoutMs} ms:\n${r.stdout}`);
    await new Promise((res) => setTimeout(res, 500));
  }
}

/** Runs `fn` over `items`, at most `size` at a time. */
async function inBatches<T, R>(items: T[], size: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = [];
  for (let i = 0; i < items.length; i += size) out.push(...(await Promise.all(items.slice(i, i + size).map(fn))));
  return out;
}

const TEST_LADDER_YAML = testLadderYaml({ name: 'cli-test-ladder' });

// --- the bad ladders: `# expect: <path>` and `# message: <phrase>` head each file ---------------

interface BadLadder {
  file: string; // relative to ROOT
  expectPath: string; // '' for the whole document
  phrase: string;
  id: string;
}

const BAD_LADDERS: BadLadder[] = fs
  .readdirSync(path.join(ROOT, FIXTURES))
  .filter((f) => /^bad-.*\.yaml$/.test(f))
  .sort()
  .map((f) => {
    const [first, second] = fs.readFileSync(path.join(ROOT, FIXTURES, f), 'utf8').split('\n');
    const expectPath = /^# expect: (.+)$/.exec(first)?.[1]?.trim();
    const phrase = /^# message: (.+)$/.exec(second)?.[1]?.trim();
    if (!expectPath || !phrase) throw new Error(`${f}: the first two lines must be "# expect: …" and "# message: …"`);
    return {
      file: `${FIXTURES}/${f}`,
      expectPath: expectPath === '(document)' ? '' : expectPath,
      phrase,
      id: `cli-bad-${RUN}-${f.replace(/\.yaml$/, '')}`,
    };
  });

const badResults = new Map<string, CliResult>();

beforeAll(async () => {
  home = tempHome('cli');
  taskQueue = uniqueTaskQueue('cli');
  ladderFile = path.join(home, 'test-ladder.yaml');
  fs.writeFileSync(ladderFile, TEST_LADDER_YAML);
  ({ client, connection } = await connectTestClient());
  const bundle = await bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH });
  worker = await startTestWorker({ home, taskQueue, bundle });
  // With the worker polling, a promotion started by mistake would provision into $STRATA_HOME/envs.
  const results = await inBatches(BAD_LADDERS, 4, (bad) =>
    strata(['promote', '--ladder', bad.file, '--candidate', V2, '--id', bad.id, '--as', 'dana']),
  );
  BAD_LADDERS.forEach((bad, i) => badResults.set(bad.file, results[i]));
});

afterAll(async () => {
  await worker?.stop();
  await connection?.close();
  if (home) await teardownHome(home);
});

describe('strata promote with a bad ladder', () => {
  it('finds the bad ladder fixtures', () => {
    expect(BAD_LADDERS.length).toBeGreaterThanOrEqual(10);
  });

  it.each(BAD_LADDERS)('$file: exit 2, names the file, $expectPath and the problem', (bad) => {
    const r = badResults.get(bad.file)!;
    expect(r.code, show(r)).toBe(2);
    expect(r.stdout).toBe('');
    const line = r.stderr.split('\n').find((l) => l.includes(bad.phrase));
    expect(line, `no stderr line says "${bad.phrase}":\n${show(r)}`).toBeDefined();
    const prefix = `strata: ${bad.file}: `;
    expect(line!.startsWith(prefix), show(r)).toBe(true);
    const rest = line!.slice(prefix.length);
    if (bad.expectPath) {
      expect(rest.startsWith(`${bad.expectPath}: `), show(r)).toBe(true);
    } else {
      // About the whole document: the message follows the file name, with no path before it.
      expect(rest).not.toMatch(/^[A-Za-z_][A-Za-z0-9_-]*(\[\d+\]|\.[A-Za-z_][A-Za-z0-9_-]*)*: /);
    }
    expect(r.stderr).not.toMatch(/\n\s+at /); // a clear message, not a stack trace
  });

  it('started nothing: no promotion, no environment', async () => {
    expect(badResults.size).toBe(BAD_LADDERS.length);
    // Strongly consistent: none of the ids exists as a workflow.
    for (const bad of BAD_LADDERS) {
      await expect(client.workflow.getHandle(bad.id).describe(), bad.id).rejects.toBeInstanceOf(WorkflowNotFoundError);
    }
    const r = await strata(['list', '--json']);
    expect(r.code, show(r)).toBe(0);
    const ids = parseJson<PromotionSummary[]>(r).map((row) => row.id);
    expect(ids.filter((id) => id.startsWith(`cli-bad-${RUN}-`))).toEqual([]);
    expect(fs.existsSync(path.join(home, 'envs'))).toBe(false);
  });
});

describe.concurrent('usage errors exit 2, failures exit 1', () => {
  it('an unknown command', async ({ expect }) => {
    const r = await strata(['frobnicate']);
    expect(r.code, show(r)).toBe(2);
    expect(r.stderr).toContain("unknown command 'frobnicate'");
  });

  it('promote without --ladder', async ({ expect }) => {
    const r = await strata(['promote', '--candidate', V2]);
    expect(r.code, show(r)).toBe(2);
    expect(r.stderr).toMatch(/required option '--ladder <name\|file>' not specified/);
  });

  it('promote --from an unknown layer', async ({ expect }) => {
    const r = await strata(['promote', '--ladder', ladderFile, '--candidate', V2, '--from', 'nope', '--as', 'dana']);
    expect(r.code, show(r)).toBe(2);
    expect(r.stderr).toMatch(
      /--from: unknown layer "nope"; ladder "cli-test-ladder" has "sandbox", "integration", "traffic", "mirror"/,
    );
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('list --phase with an unknown phase', async ({ expect }) => {
    const r = await strata(['list', '--phase', 'bogus']);
    expect(r.code, show(r)).toBe(2);
    expect(r.stderr).toContain(
      '--phase: expected one of running, awaiting-approval, promoted, failed, aborted (got "bogus")',
    );
    expect(r.stdout).toBe('');
  });

  it('promote a candidate directory that does not exist', async ({ expect }) => {
    const r = await strata([
      'promote',
      '--ladder',
      ladderFile,
      '--candidate',
      'examples/candidates/no-such-candidate',
      '--as',
      'dana',
    ]);
    expect(r.code, show(r)).toBe(2);
    expect(r.stderr).toMatch(/no-such-candidate: candidate directory not found/);
  });

  it('an unreachable Temporal: one line naming `strata up` and TEMPORAL_ADDRESS', async ({ expect }) => {
    const port = await freePort();
    const r = await strata(['status', 'x'], { TEMPORAL_ADDRESS: `127.0.0.1:${port}` });
    expect(r.code, show(r)).toBe(1);
    const lines = r.stderr.split('\n').filter((l) => l.trim() !== '');
    expect(lines, show(r)).toHaveLength(1);
    expect(lines[0]).toContain(`127.0.0.1:${port}`);
    expect(lines[0]).toContain('strata up');
    expect(lines[0]).toContain('TEMPORAL_ADDRESS');
    expect(r.stdout).toBe('');
  });

  it('a namespace the server does not have: one line naming it and TEMPORAL_NAMESPACE', async ({ expect }) => {
    const r = await strata(['status', 'x'], { TEMPORAL_NAMESPACE: 'no-such-namespace' });
    expect(r.code, show(r)).toBe(1);
    const lines = r.stderr.split('\n').filter((l) => l.trim() !== '');
    expect(lines, show(r)).toHaveLength(1);
    expect(lines[0]).toContain('"no-such-namespace"');
    expect(lines[0]).toContain('TEMPORAL_NAMESPACE');
  });

  it('status of an unknown id names the id', async ({ expect }) => {
    const r = await strata(['status', 'does-not-exist']);
    expect(r.code, show(r)).toBe(1);
    expect(r.stderr).toContain('no promotion with id "does-not-exist"');
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });
});

let endedId: string | undefined;

describe.concurrent('promotions through the CLI', () => {
  it('promote --wait: fraud-v1 exits 0, fraud-v3 exits 1 on the quality gate of integration and rolls back', async ({
    expect,
  }) => {
    const common = ['promote', '--ladder', ladderFile, '--to', 'integration', '--as', 'dana', '--wait'];
    const v1 = await strata([...common, '--candidate', V1]);
    expect(v1.code, show(v1)).toBe(0);
    expect(v1.stdout).toMatch(/^promotion \S+: promoted/);

    const v3 = await strata([...common, '--candidate', V3]);
    expect(v3.code, show(v3)).toBe(1);
    const id = /^strata: started (\S+)$/m.exec(v3.stderr)?.[1];
    expect(id, show(v3)).toBeDefined();
    expect(v3.stdout).toMatch(new RegExp(`^promotion ${id}: failed — layer integration: gate quality failed`));
    expect(v3.stdout).toMatch(/^integration\s+quality\s+FAIL\s/m);
    expect(v3.stdout).toMatch(/^integration\s+rolled-back\s+1\.0\.0\s/m);

    const s = await statusJson(id!);
    expect(s).toMatchObject({
      id,
      candidate: { name: 'fraud-scoring', version: '3.0.0', digest: expect.stringMatching(/^[0-9a-f]{64}$/) },
      initiator: 'dana',
      state: 'failed',
    });
    expect(s.layers.map((l) => l.name)).toEqual(['sandbox', 'integration']);
    for (const layer of s.layers) {
      expect(layer).toEqual(
        expect.objectContaining({
          name: expect.any(String),
          phase: expect.any(String),
          running: expect.any(String),
          gates: expect.any(Array),
          approval: { required: 0, allowed: [] },
          approvals: [],
        }),
      );
      for (const gate of layer.gates) {
        expect(gate).toEqual(
          expect.objectContaining({
            name: expect.any(String),
            passed: expect.any(Boolean),
            value: expect.any(Number),
            threshold: expect.any(Number),
          }),
        );
      }
    }
    const integration = s.layers[1];
    expect(integration).toMatchObject({ phase: 'rolled-back', running: '1.0.0' });
    const quality = integration.gates.find((g) => g.name === 'quality');
    expect(quality).toMatchObject({ passed: false, threshold: 0.78 });
    expect(quality!.value).toBeLessThan(0.78);
    endedId = id;
  });

  it('approvals: the initiator is refused and audited, another approver promotes', async ({ expect }) => {
    const id = `cli-approve-${RUN}`;
    const started = await strata([
      'promote',
      '--ladder',
      ladderFile,
      '--candidate',
      V2,
      '--from',
      'traffic',
      '--to',
      'traffic',
      '--as',
      'dana',
      '--id',
      id,
      '--json',
    ]);
    expect(started.code, show(started)).toBe(0);
    expect(parseJson(started)).toEqual({ id });

    const waiting = await pollStatus(
      id,
      (s) => s.layers[0]?.phase === 'awaiting-approval' || ['promoted', 'failed', 'aborted'].includes(s.state),
    );
    expect(waiting.state).toBe('awaiting-approval');
    expect(waiting.layers[0]).toMatchObject({
      name: 'traffic',
      phase: 'awaiting-approval',
      approval: { required: 1, allowed: ['alice', 'bob'] },
    });

    const mine = await strata(['approve', id, '--layer', 'traffic', '--as', 'dana', '--reason', 'mine']);
    expect(mine.code, show(mine)).toBe(1);
    expect(mine.stderr).toContain('may not approve');
    expect(mine.stdout).toBe('');

    const audit = await strata(['audit', id, '--json']);
    expect(audit.code, show(audit)).toBe(0);
    const entries = parseJson<AuditEntry[]>(audit);
    expect(entries.find((e) => e.action === 'approval.refused')).toMatchObject({ actor: 'dana', layer: 'traffic' });
    expect(entries.some((e) => e.action === 'approval.granted')).toBe(false);

    const ok = await strata(['approve', id, '--layer', 'traffic', '--as', 'alice', '--reason', 'ok']);
    expect(ok.code, show(ok)).toBe(0);
    expect(ok.stdout).toContain(`alice approved traffic of ${id} (1/1): quorum reached`);

    const done = await pollStatus(id, (s) => ['promoted', 'failed', 'aborted'].includes(s.state));
    expect(done.state).toBe('promoted');
    expect(done.layers[0]).toMatchObject({ phase: 'promoted', running: '2.0.0' });
    expect(done.layers[0].approvals.map((a) => [a.actor, a.decision])).toEqual([['alice', 'approve']]);

    await pollList([], id);
    const promoted = await pollList(['--phase', 'promoted'], id);
    expect(promoted.find((row) => row.id === id)).toMatchObject({
      candidate: 'fraud-scoring',
      version: '2.0.0',
      phase: 'promoted',
    });
  });
});

describe('abort', () => {
  it('abort of an ended promotion exits 1 and says it has ended', async () => {
    expect(endedId, 'needs the failed fraud-v3 promotion of the --wait test').toBeDefined();
    const r = await strata(['abort', endedId!, '--as', 'erin', '--reason', 'x']);
    expect(r.code, show(r)).toBe(1);
    expect(r.stderr).toContain(`promotion ${endedId} has already ended`);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stdout).toBe('');
  });
});
