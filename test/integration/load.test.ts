// The load generator against real local servers (child processes), and the runs / replay /
// compare CLI end to end against a candidate deployed by the real local provider. None of this
// needs Temporal: the CLI commands here read $STRATA_HOME only.

import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { request } from 'undici';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadCandidate } from '../../src/config/candidate';
import type { CandidateRef } from '../../src/domain/ladder';
import type { RunComparison } from '../../src/load/compare';
import { type LoadResult, RUN_ID_HEADER, runLoad } from '../../src/load/generator';
import { type LoadProfileInput, loadProfileSchema } from '../../src/load/profile';
import { environmentBodies, replayBodies } from '../../src/load/requests';
import { newRunId, RunStore, type StoredRun } from '../../src/load/runs';
import { storeCandidate } from '../../src/artifacts/store';
import { LocalProvider } from '../../src/providers/local';
import { freePort } from '../../src/tools/ports';
import { artifactsOf, EXAMPLES, ROOT, teardownHome, tempHome } from '../helpers/harness';

const TARGET_SERVER = path.join(ROOT, 'test/fixtures/load/target-server.js');
const BODY = JSON.stringify({ records: [{ amount: 1 }] });

interface Target {
  url: string;
  child: ChildProcess;
}

async function startTarget(): Promise<Target> {
  const child = spawn(process.execPath, [TARGET_SERVER], { stdio: ['ignore', 'pipe', 'inherit'] });
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('target server did not start in 10 s')), 10_000);
    readline.createInterface({ input: child.stdout! }).once('line', (line) => {
      clearTimeout(timer);
      resolve((JSON.parse(line) as { url: string }).url);
    });
  });
  return { url, child };
}

/** What the target server counts (GET /stats). */
interface TargetStats {
  requests: number;
  runIds: Record<string, number>;
  /** The first 50 request bodies, as text. */
  bodies: string[];
}

async function call(url: string, method: 'GET' | 'POST' = 'GET'): Promise<TargetStats> {
  const res = await request(url, { method });
  return (await res.body.json()) as TargetStats;
}

/**
 * Polls the target's /stats until `ready` holds (the run has got that far, however slow the
 * machine), or until `run` has settled: then the caller's assertions say what went wrong.
 */
async function untilTargetSaw(url: string, run: Promise<unknown>, ready: (stats: { requests: number }) => boolean) {
  let settled = false;
  void run.then(
    () => (settled = true),
    () => (settled = true),
  );
  const deadline = Date.now() + 30_000;
  while (!settled && Date.now() < deadline && !ready(await call(`${url}/stats`))) {
    await new Promise((r) => setTimeout(r, 20));
  }
}

const profile = (input: LoadProfileInput) => loadProfileSchema.parse(input);
const constant = (rate: number, duration: string, extra: Partial<LoadProfileInput> = {}) =>
  profile({ phases: [{ constant: { rate, duration } }], ...extra });

describe('runLoad against a local server', () => {
  let target: Target;

  beforeAll(async () => {
    target = await startTarget();
  });

  afterAll(() => {
    target?.child.kill('SIGTERM');
  });

  beforeEach(async () => {
    await call(`${target.url}/stats`, 'POST');
  });

  it('achieves the target rate within a few percent, every request tagged with the run id', async () => {
    const progress: number[] = [];
    const r = await runLoad({
      baseUrl: target.url,
      profile: constant(200, '5s'),
      bodies: () => BODY,
      runId: 'run-rate-test',
      onProgress: (p) => progress.push(p.sent),
    });
    expect(r.aborted).toBe(false);
    expect(r.requests).toMatchObject({ intended: 1000, sent: 1000, answered: 1000, ok: 1000 });
    expect(r.achievedRatePercent).toBeGreaterThan(97);
    expect(r.achievedRatePercent).toBeLessThan(103);
    expect(r.throughput).toBeGreaterThan(190);
    expect(r.throughput).toBeLessThan(210);
    expect(r.errors).toMatchObject({ total: 0, rate: 0, timeouts: 0, dropped: 0, connection: 0 });
    expect(r.latencyMs.count).toBe(1000);
    expect(r.target).toBe(`${target.url}/predict`);
    // Per-second windows: five full seconds of about 200 answers each.
    const full = r.windows.filter((w) => !w.partial);
    expect(full.length).toBeGreaterThanOrEqual(4);
    for (const w of full) {
      expect(w.intended).toBe(200);
      expect(Math.abs(w.answered - 200)).toBeLessThan(20);
      expect(w.p99).not.toBeNull();
    }
    // About once a second, and growing.
    expect(progress.length).toBeGreaterThanOrEqual(3);
    expect(progress).toEqual([...progress].sort((a, b) => a - b));

    const stats = await call(`${target.url}/stats`);
    expect(stats.requests).toBe(1000);
    expect(stats.runIds).toEqual({ 'run-rate-test': 1000 });
  });

  it('follows a ramp: the later windows get more requests', async () => {
    const r = await runLoad({
      baseUrl: target.url,
      profile: profile({ phases: [{ ramp: { from: 20, to: 180, duration: '4s' } }] }),
      bodies: () => BODY,
      runId: newRunId(),
    });
    expect(r.requests.answered).toBe(400);
    const perSecond = r.windows.map((w) => w.intended);
    expect(perSecond.slice(0, 4)).toEqual([40, 80, 120, 160]);
    expect(r.achievedRatePercent).toBeGreaterThan(97);
  });

  it('measures latency from the intended send time: a 500 ms stall shows in the p99 (coordinated omission)', async () => {
    // One request in flight at a time, as a closed-loop client would: while the server is stopped
    // for 500 ms, about 100 requests fall due and wait. Their latency counts from when they were due.
    const running = runLoad({
      baseUrl: target.url,
      profile: constant(200, '3s', { maxConcurrency: 1 }),
      bodies: () => BODY,
      runId: newRunId(),
    });
    // Freeze once the run is well under way (a quarter of its requests answered), not after a fixed pause.
    await untilTargetSaw(target.url, running, (stats) => stats.requests >= 150);
    await call(`${target.url}/control/freeze?ms=500`, 'POST');
    const r = await running;
    expect(r.requests.answered).toBe(600);
    expect(r.errors.total).toBe(0);
    expect(r.latencyMs.p99!).toBeGreaterThanOrEqual(400);
    expect(r.latencyMs.max!).toBeGreaterThanOrEqual(450);
    // What the requests themselves took, from their actual send: the stall hides in one request.
    expect(r.serviceTimeMs.p99!).toBeLessThan(100);
    expect(r.serviceTimeMs.max!).toBeGreaterThanOrEqual(400);
  });

  it('counts non-2xx answers by status, and connection errors by code', async () => {
    const r = await runLoad({
      baseUrl: target.url,
      path: '/alternate',
      profile: constant(100, '1s'),
      bodies: () => BODY,
      runId: newRunId(),
    });
    expect(r.requests.answered).toBe(100);
    expect(r.requests.ok).toBe(50);
    expect(r.errors).toMatchObject({ total: 50, rate: 0.5, byStatus: { 500: 50 } });

    const unavailable = await runLoad({
      baseUrl: target.url,
      path: '/status/503',
      profile: constant(50, '1s'),
      bodies: () => BODY,
      runId: newRunId(),
    });
    expect(unavailable.errors.byStatus).toEqual({ 503: 50 });
    expect(unavailable.errors.rate).toBe(1);

    const closedPort = await freePort();
    const refused = await runLoad({
      baseUrl: `http://127.0.0.1:${closedPort}`,
      profile: constant(50, '1s'),
      bodies: () => BODY,
      runId: newRunId(),
    });
    expect(refused.requests.answered).toBe(0);
    expect(refused.errors.connection).toBe(50);
    expect(refused.errors.connectionByCode).toEqual({ ECONNREFUSED: 50 });
    expect(refused.latencyMs.p99).toBeNull();
  });

  it('times out slow answers, and drops requests the throttle held past their timeout', async () => {
    const slow = await runLoad({
      baseUrl: target.url,
      path: '/delay/400',
      profile: constant(20, '1s', { timeoutMs: 150 }),
      bodies: () => BODY,
      runId: newRunId(),
    });
    expect(slow.errors.timeouts).toBe(20);
    expect(slow.requests.answered).toBe(0);

    // Slow and fast requests interleaved: each slow one times out, no fast one does.
    await call(`${target.url}/stats`, 'POST');
    const mixed = await runLoad({
      baseUrl: target.url,
      path: '/delay-every/5/400',
      profile: constant(100, '2s', { timeoutMs: 200 }),
      bodies: () => BODY,
      runId: newRunId(),
    });
    expect(mixed.errors.timeouts).toBe(40);
    expect(mixed.requests.ok).toBe(160);
    expect(mixed.latencyMs.max!).toBeLessThan(200);
    await call(`${target.url}/stats`, 'POST');

    // 2 slots, each held 400 ms: 5 answers a second for 50 wanted; the rest wait, and those still
    // waiting 1 s after their intended time are dropped without being sent.
    const throttled = await runLoad({
      baseUrl: target.url,
      path: '/delay/400',
      profile: constant(50, '1s', { maxConcurrency: 2, timeoutMs: 1000 }),
      bodies: () => BODY,
      runId: newRunId(),
    });
    expect(throttled.errors.dropped).toBeGreaterThan(30);
    expect(throttled.requests.sent + throttled.errors.dropped).toBe(50);
    expect(throttled.achievedRatePercent).toBeLessThan(40);
    const stats = await call(`${target.url}/stats`);
    expect(stats.requests).toBe(throttled.requests.sent);
  });

  it('stops within a second of an abort, cancelling what is in flight, with partial figures', async () => {
    const controller = new AbortController();
    const running = runLoad({
      baseUrl: target.url,
      path: '/hang',
      profile: constant(100, '30s', { maxConcurrency: 10 }),
      bodies: () => BODY,
      runId: newRunId(),
      signal: controller.signal,
    });
    await new Promise((r) => setTimeout(r, 1500));
    const abortedAt = Date.now();
    controller.abort();
    const r: LoadResult = await running;
    expect(Date.now() - abortedAt).toBeLessThan(1000);
    expect(r.aborted).toBe(true);
    expect(r.requests.sent).toBe(10);
    expect(r.requests.cancelled).toBe(10);
    expect(r.requests.unsent).toBeGreaterThan(2800);
    expect(r.durationMs).toBeLessThan(2500);
    expect(r.targetRate).toBeCloseTo(100, -1);

    // A fast target: nothing more is sent after the abort.
    await call(`${target.url}/stats`, 'POST');
    const fast = new AbortController();
    const stopped = runLoad({
      baseUrl: target.url,
      profile: constant(200, '30s'),
      bodies: () => BODY,
      runId: newRunId(),
      signal: fast.signal,
    });
    await untilTargetSaw(target.url, stopped, (stats) => stats.requests >= 150);
    fast.abort();
    const partial = await stopped;
    // Requests dispatched before the abort may still be on their way: wait until the count settles.
    let stats = await call(`${target.url}/stats`);
    for (let settled = 0; settled < 3;) {
      await new Promise((r) => setTimeout(r, 100));
      const again = await call(`${target.url}/stats`);
      settled = again.requests === stats.requests ? settled + 1 : 0;
      stats = again;
    }
    // What was dispatched reached the server, bar those cancelled in flight (some cut before their
    // bytes left: one or two on a quiet machine, more on a loaded one); nothing after.
    expect(stats.requests).toBeLessThanOrEqual(partial.requests.sent);
    expect(stats.requests).toBeGreaterThanOrEqual(partial.requests.sent - Math.max(2, partial.requests.cancelled));
    expect(partial.requests.answered).toBeGreaterThan(100);
  });

  it('returns at once for a signal aborted before the start', async () => {
    const r = await runLoad({
      baseUrl: target.url,
      profile: constant(10, '10s'),
      bodies: () => BODY,
      runId: newRunId(),
      signal: AbortSignal.abort(),
    });
    expect(r).toMatchObject({ aborted: true, requests: { sent: 0, unsent: 100 } });
  });

  it('replays the bodies of a JSONL request log, in order', async () => {
    const dir = tempHome('load-replay');
    try {
      const file = path.join(dir, 'requests.jsonl');
      const lines = [1, 2, 3].map((n) => JSON.stringify({ records: [{ amount: n }] }));
      fs.writeFileSync(file, `${lines.join('\n')}\n`);
      const bodies = replayBodies(file);
      const r = await runLoad({
        baseUrl: target.url,
        profile: constant(20, '500ms', { maxConcurrency: 1, requests: { source: 'replay', file } }),
        bodies: bodies.body,
        runId: newRunId(),
      });
      expect(r.requests.ok).toBe(10);
      const stats = await call(`${target.url}/stats`);
      expect(stats.bodies).toEqual(Array.from({ length: 10 }, (_, i) => lines[i % 3]));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('rejects when the bodies cannot be made, instead of sending something else', async () => {
    await expect(
      runLoad({
        baseUrl: target.url,
        profile: constant(100, '2s'),
        bodies: (i) => {
          if (i === 5) throw new Error('no body 5');
          return BODY;
        },
        runId: newRunId(),
      }),
    ).rejects.toThrow('no body 5');
  });

  it('sends the run id header on every request', async () => {
    await runLoad({
      baseUrl: target.url,
      profile: constant(100, '1s', { maxConcurrency: 4 }),
      bodies: () => BODY,
      runId: 'run-header-check',
    });
    const stats = await call(`${target.url}/stats`);
    expect(stats.runIds).toEqual({ 'run-header-check': 100 });
    expect(RUN_ID_HEADER).toBe('x-strata-run-id');
  });
});

describe('strata runs / replay / compare', () => {
  const STRATA = path.join(ROOT, 'bin/strata');
  let home: string;
  let provider: LocalProvider;
  let v1: CandidateRef;
  let v2: CandidateRef;
  let original: StoredRun;

  function strata(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
    return new Promise((resolve, reject) => {
      const child = spawn(STRATA, args, {
        cwd: ROOT,
        env: { ...process.env, STRATA_HOME: home, STRATA_LOG_LEVEL: 'warn' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
      child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, stdout, stderr }));
    });
  }
  const show = (r: { code: number | null; stdout: string; stderr: string }) =>
    `exit ${r.code}\n${r.stdout}\n${r.stderr}`;

  beforeAll(async () => {
    home = tempHome('load-cli');
    provider = new LocalProvider(home);
    v1 = await loadCandidate(path.join(EXAMPLES, 'candidates/fraud-v1'));
    v2 = await loadCandidate(path.join(EXAMPLES, 'candidates/fraud-v2'));
    // Promote seals candidates in the store; the provider deploys from there.
    for (const candidate of [v1, v2]) await storeCandidate(candidate, artifactsOf(home));
    await provider.provision('traffic', { promotionId: 'load-test' });
    const { dbPath } = await provider.populate('traffic', { rows: 500, seed: 5 });
    const { env } = await provider.deploy('traffic', v2);

    // The run to replay, made as the slo gate makes one.
    const loadProfile = constant(50, '3s', { seed: 9 });
    const bodies = environmentBodies({ dbPath, input: v2.input, seed: 9, batch: 1, requests: 150 });
    const id = newRunId();
    const results = await runLoad({ baseUrl: env.url!, profile: loadProfile, bodies: bodies.body, runId: id });
    original = {
      id,
      createdAt: results.startedAt,
      layer: 'traffic',
      profile: loadProfile,
      seed: 9,
      candidate: { name: v2.name, version: v2.version, digest: v2.digest },
      target: env.url!,
      results,
    };
    new RunStore(home).save(original);
  });

  afterAll(async () => {
    if (home) await teardownHome(home);
  });

  it('replays a stored run as a new run, then lists, shows and compares both', async () => {
    expect(original.results.requests.ok, JSON.stringify(original.results.errors)).toBe(150);

    const replayed = await strata(['replay', original.id, '--json']);
    expect(replayed.code, show(replayed)).toBe(0);
    const run = JSON.parse(replayed.stdout) as StoredRun;
    expect(run.id).not.toBe(original.id);
    expect(run).toMatchObject({
      replayOf: original.id,
      layer: 'traffic',
      seed: 9,
      profile: original.profile,
      candidate: original.candidate,
    });
    expect(run.results.requests).toMatchObject({ intended: 150, ok: 150 });
    expect(new RunStore(home).get(run.id)).toEqual(run);

    const ls = await strata(['runs', 'ls', '--json']);
    expect(ls.code, show(ls)).toBe(0);
    expect(
      (JSON.parse(ls.stdout) as Array<{ id: string; replayOf: string | null }>).map((r) => [r.id, r.replayOf]),
    ).toEqual([
      [run.id, original.id],
      [original.id, null],
    ]);
    const lsText = await strata(['runs', 'ls']);
    expect(lsText.stdout).toMatch(/^ID\s+CREATED\s+LAYER\s+CANDIDATE/);
    expect(lsText.stdout).toContain('fraud-scoring 2.0.0');

    const showText = await strata(['runs', 'show', run.id]);
    expect(showText.code, show(showText)).toBe(0);
    expect(showText.stdout).toContain(`run ${run.id}: fraud-scoring 2.0.0`);
    expect(showText.stdout).toContain(`replay of ${original.id}`);
    expect(showText.stdout).toContain('profile: constant 50/s for 3s');

    const compared = await strata(['compare', original.id, run.id]);
    expect(compared.code, show(compared)).toBe(0);
    expect(compared.stdout).toMatch(/METRIC\s+A\s+B\s+B − A\s+Δ %\s+NOISE \(3×SE\)\s+VERDICT/);
    for (const label of ['p50', 'p90', 'p99', 'p99.9', 'max', 'throughput', 'error rate', 'achieved rate']) {
      expect(compared.stdout).toMatch(new RegExp(`^${label.replace('.', '\\.')} `, 'm'));
    }
    expect(compared.stdout).toMatch(/^verdict: /m);
    const json = await strata(['compare', original.id, run.id, '--json']);
    const comparison = JSON.parse(json.stdout) as RunComparison;
    expect(comparison.metrics).toHaveLength(8);
    expect(comparison.a.id).toBe(original.id);
    expect(comparison.windows.a).toBeGreaterThanOrEqual(2);
    expect(comparison.notes).toEqual([]);
  });

  it('exits 2 naming an unknown run', async () => {
    for (const args of [
      ['runs', 'show', 'run-nope'],
      ['replay', 'run-nope'],
      ['compare', original.id, 'run-nope'],
    ]) {
      const r = await strata(args);
      expect(r.code, show(r)).toBe(2);
      expect(r.stderr).toContain('no run "run-nope"');
    }
  });

  it('refuses to replay when the layer runs another version, saying which', async () => {
    await provider.deploy('traffic', v1);
    const r = await strata(['replay', original.id]);
    expect(r.code, show(r)).toBe(2);
    expect(r.stderr).toContain(
      `layer traffic runs fraud-scoring 1.0.0 (sha256 ${v1.digest.slice(0, 12)}), not fraud-scoring 2.0.0`,
    );
    expect(new RunStore(home).list()).toHaveLength(2); // nothing stored
  });
});
