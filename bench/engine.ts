// `npm run bench -- engine [--promotions N] [--parked N] [--latency N] [--rounds N] [--gates N]`
//
// Baseline: bare Temporal workflows that run the same number of activities, of the same cost, on a
// worker with the same settings, against the same private dev server, in the same run.
//
// 1. Overhead: N promotions at once (each in its own environments: its own three layer names) of a
//    ladder with 3 automatic layers and --gates trivial gates each, on a no-op provider, against N
//    bare workflows of 3 × (5 + gates) activities each (per layer: lease request, provision, seed,
//    deploy, the gates, promote). Alternating rounds; promotions/s, medians with min and max, and
//    the per-round ratio (target ≥ 0.8×).
// 1b. Shape (`--only shape`): the same activities in plain Temporal workflows that add the
//    promotion's search-attribute upserts, its executions (a parent and 3 children), and its whole
//    shape (7 executions, the same activities, upserts and environment hand-offs), beside Strata's
//    promotions, rotating which goes first: what the shape costs by itself, and what Strata's own
//    code costs beyond it.
// 2. Latency of a one-layer promotion, promote → promoted, one at a time: p50 and p95.
// 3. History size: events and bytes per promotion (its workflow and its layers' workflows), and a
//    promotion of one layer with 200 gates (must stay under 10k events).
// 4. Parked promotions: --parked promotions waiting for approval at their first layer, each in its
//    own environment. The bench process's RSS (it hosts the worker), `strata list` and
//    `strata status` (the CLI as a user runs it: local mode over gRPC and over Temporal's HTTP API,
//    checked to print the same, and API mode; and the client call it makes), then every one
//    approved through the CLI's client code (src/temporal/promotions approve): approvals/s and the
//    time until all have promoted.

import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { NativeConnection, type Worker } from '@temporalio/worker';
import { loadCandidate } from '../src/config/candidate';
import { parseLadder } from '../src/config/ladder';
import type { CandidateRef } from '../src/domain/ladder';
import { freePort } from '../src/tools/ports';
import { statFields } from '../src/tools/processes';
import { ensureTemporalCli } from '../src/temporal/cli';
import { applyLadder } from '../src/temporal/ladders';
import { approve, getStatus, listPromotions, startPromotion, waitForResult } from '../src/temporal/promotions';
import { startDevServer } from '../src/temporal/server';
import { installRuntime } from '../workers/worker';
import { buildCli } from '../scripts/build-cli';
import { benchLadderYaml, bundle, createEngineWorker, WORKER_SETTINGS } from './engine/worker';
import { flag, median, ratios, roundsFlag, spreadCells, spreadText, table, times } from './support';

const NAMESPACE = 'strata';
const ROOT = path.resolve(__dirname, '..');

const ms = (x: number): string => x.toFixed(0);
const secs = (t0: bigint): number => Number(process.hrtime.bigint() - t0) / 1e9;

async function pool<T>(items: T[], concurrency: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, items.length) }, async () => {
      while (next < items.length) await fn(items[next++]);
    }),
  );
}

function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
}

interface Ctx {
  client: Client;
  candidate: CandidateRef;
  strataQueue: string;
  bareQueue: string;
  /** The artifact store promote seals the candidate in (the bench's activities never read it). */
  artifacts: string;
}

/** CPU seconds (user + system) the process has used, from /proc/<pid>/stat (clock ticks of 1/100 s). */
function cpuSecondsOf(pid: number): number {
  const fields = statFields(pid);
  if (!fields) throw new Error(`process ${pid} is gone`);
  return (Number(fields[14 - 3]) + Number(fields[15 - 3])) / 100;
}

/** CPU seconds the dev server and this process (the workers, their Rust core threads, the client) spend on `work`. */
async function cpuOf(serverPid: number, work: () => Promise<void>): Promise<{ server: number; bench: number }> {
  const server0 = cpuSecondsOf(serverPid);
  const bench0 = process.cpuUsage();
  await work();
  const bench = process.cpuUsage(bench0);
  return { server: cpuSecondsOf(serverPid) - server0, bench: (bench.user + bench.system) / 1e6 };
}

async function promote(ctx: Ctx, id: string, yaml: string): Promise<string> {
  const ladder = parseLadder(yaml, `bench-${id}.yaml`);
  return startPromotion(ctx.client, {
    id,
    ladder,
    layers: ladder.layers,
    candidate: ctx.candidate,
    initiator: 'bench',
    taskQueue: ctx.strataQueue,
    artifacts: ctx.artifacts,
  });
}

/** Stores a ladder (set-up, outside any timed window); promotions then start from it by name. */
async function storeLadder(ctx: Ctx, id: string, yaml: string): Promise<string> {
  const ladder = parseLadder(yaml, `bench-${id}.yaml`);
  await applyLadder(ctx.client, ctx.strataQueue, ladder, { actor: 'bench', reason: 'bench set-up' });
  return ladder.name;
}

/** A promotion of a stored ladder's current version, as `strata promote --ladder NAME` starts one. */
async function promoteStored(ctx: Ctx, id: string, ladder: string): Promise<string> {
  return startPromotion(ctx.client, {
    id,
    ladder: { name: ladder },
    candidate: ctx.candidate,
    initiator: 'bench',
    taskQueue: ctx.strataQueue,
    artifacts: ctx.artifacts,
  });
}

async function mustPromote(ctx: Ctx, id: string): Promise<void> {
  const result = await waitForResult(ctx.client, id);
  if (result.state !== 'promoted')
    throw new Error(
      `promotion ${id} ended ${result.state}: ${result.reason ?? result.layers.map((l) => l.failure ?? '').join('; ')}`,
    );
}

/** Events and bytes of a workflow's history. */
async function historySize(
  client: Client,
  workflowId: string,
): Promise<{ events: number; bytes: number; children: string[] }> {
  const history = await client.workflow.getHandle(workflowId).fetchHistory();
  const bytes = temporal.api.history.v1.History.encode(history).finish().length;
  const children = (history.events ?? [])
    .map((e) => e.childWorkflowExecutionStartedEventAttributes?.workflowExecution?.workflowId)
    .filter((x): x is string => Boolean(x));
  return { events: history.events?.length ?? 0, bytes, children };
}

/** A promotion's history: its own workflow and its layers' (child) workflows. */
async function promotionHistory(
  client: Client,
  id: string,
): Promise<{ events: number; bytes: number; workflows: number; maxEvents: number }> {
  const top = await historySize(client, id);
  let events = top.events;
  let bytes = top.bytes;
  let maxEvents = top.events;
  for (const child of top.children) {
    const c = await historySize(client, child);
    events += c.events;
    bytes += c.bytes;
    maxEvents = Math.max(maxEvents, c.events);
  }
  return { events, bytes, workflows: 1 + top.children.length, maxEvents };
}

/**
 * Wall-clock ms of one `bin/strata` process, or NaN (and the first line of its error in `failures`)
 * when it failed. Asynchronously: this process hosts the worker, and a
 * `strata status` needs that worker to answer its query — a spawnSync here blocked the worker's
 * event loop until the query timed out (30 s), which an earlier version of this bench reported as
 * a status failure.
 */
async function cli(args: string[], env: NodeJS.ProcessEnv, failures: string[]): Promise<number> {
  const t0 = process.hrtime.bigint();
  const r = await new Promise<{ status: number | null; stderr: string }>((resolve) => {
    execFile(
      path.join(ROOT, 'bin/strata'),
      args,
      { env, cwd: ROOT, encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 },
      (err, _stdout, stderr) =>
        resolve({ status: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stderr: String(stderr) }),
    );
  });
  const s = secs(t0);
  if (r.status !== 0) {
    failures.push(
      `strata ${args.join(' ')} exited ${r.status} after ${(s * 1000).toFixed(0)} ms: ${r.stderr.split('\n')[0]}`,
    );
    return NaN;
  }
  return s * 1000;
}

/** What `bin/strata …args` prints on stdout (the bench fails on a non-zero exit). */
function cliStdout(args: string[], env: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(path.join(ROOT, 'bin/strata'), args, { env, cwd: ROOT, encoding: 'utf8' }, (err, stdout, stderr) =>
      err ? reject(new Error(`strata ${args.join(' ')}: ${stderr.split('\n')[0]}`)) : resolve(stdout),
    );
  });
}

/**
 * `strata serve` as its own process on a free port, and the environment of a CLI that goes through
 * it with an operator's token (created through the CLI, as an admin would).
 */
async function startServe(env: NodeJS.ProcessEnv): Promise<{ env: NodeJS.ProcessEnv; stop(): Promise<void> }> {
  const strata = path.join(ROOT, 'bin/strata');
  const created = await new Promise<string>((resolve, reject) =>
    execFile(
      strata,
      ['token', 'create', '--name', `bench-${process.pid}`, '--role', 'operator', '--expires', '1d', '--json'],
      { env, encoding: 'utf8' },
      (err, stdout, stderr) => (err ? reject(new Error(`token create: ${stderr}`)) : resolve(stdout)),
    ),
  );
  const port = await freePort();
  const child = spawn(strata, ['serve', '--port', String(port)], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 120_000;
  for (;;) {
    const up = await fetch(`${base}/openapi.json`).then(
      (r) => r.ok,
      () => false,
    );
    if (up) break;
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`strata serve did not answer on ${base}: ${stderr.split('\n').slice(-5).join(' ')}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  return {
    env: { ...env, STRATA_API: base, STRATA_TOKEN: (JSON.parse(created) as { token: string }).token },
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/**
 * The parked part's Strata worker in a process of its own (bench/engine/worker-process.ts), so its
 * RSS is the worker's alone: the bench process also hosts the client, the baseline's worker and
 * the CLI timings.
 */
async function startWorkerProcess(
  address: string,
  taskQueue: string,
): Promise<{ pid: number; rssMiB(): { rss: number; peak: number }; stop(): Promise<void> }> {
  // node with tsx's loader, not the tsx command (which runs node as a child of its own).
  const file = path.join(__dirname, 'engine/worker-process.ts');
  const child = spawn(process.execPath, ['--import', 'tsx', file, address, NAMESPACE, taskQueue], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  await new Promise<void>((resolve, reject) => {
    child.stdout.setEncoding('utf8').on('data', (d: string) => d.includes('ready') && resolve());
    child.once('exit', (code) => reject(new Error(`the bench worker exited ${code}: ${stderr.slice(-500)}`)));
  });
  const pid = child.pid!;
  return {
    pid,
    rssMiB() {
      const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
      const kib = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
      return { rss: kib('VmRSS') / 1024, peak: kib('VmHWM') / 1024 };
    },
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** The finite runs, or a row of dashes when every run failed. */
const okCells = (xs: number[], f: (x: number) => string): string[] => {
  const ok = xs.filter(Number.isFinite);
  return ok.length
    ? [
        ...spreadCells(ok, f).map((c, i) =>
          i === 0 && ok.length < xs.length ? `${c} (${xs.length - ok.length} failed)` : c,
        ),
      ]
    : ['all failed', '-', '-'];
};

/** Counts of a history's event types, most frequent first. */
function eventTypes(histories: temporal.api.history.v1.IHistory[]): string {
  const counts = new Map<string, number>();
  for (const h of histories)
    for (const e of h.events ?? []) {
      const name = temporal.api.enums.v1.EventType[e.eventType ?? 0] ?? String(e.eventType);
      counts.set(name, (counts.get(name) ?? 0) + 1);
    }
  return [...counts.entries()]
    .sort((a, b) => b[1] - a[1])
    .map(([k, v]) => `${k.replace(/^EVENT_TYPE_/, '').toLowerCase()} ${v}`)
    .join(', ');
}

async function timedMs(fn: () => Promise<unknown>): Promise<number> {
  const t0 = process.hrtime.bigint();
  await fn();
  return secs(t0) * 1000;
}

export async function run(args: string[]): Promise<void> {
  const n = flag(args, 'promotions', 50);
  const parked = flag(args, 'parked', 200);
  const latencyRuns = flag(args, 'latency', 20);
  const gates = flag(args, 'gates', 2);
  const rounds = roundsFlag(args, 5);
  const only = args.includes('--only') ? args[args.indexOf('--only') + 1].split(',') : null;
  const want = (part: string) => !only || only.includes(part);
  // The CLI is timed as `bin/strata` runs it: build it now, so the build is fresh.
  if (want('parked')) await buildCli();

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-bench-engine-'));
  const port = await freePort();
  const httpPort = await freePort();
  const server = await startDevServer({
    cli: await ensureTemporalCli(),
    dbFile: path.join(dir, 'temporal.db'),
    logFile: path.join(dir, 'temporal.log'),
    port,
    uiPort: port + 1,
    httpPort,
    headless: true,
    namespace: NAMESPACE,
    retentionDays: 1,
  });
  installRuntime();
  const clientConnection = await Connection.connect({ address: server.address });
  const client = new Client({ connection: clientConnection, namespace: NAMESPACE });
  const native = await NativeConnection.connect({ address: server.address });
  const workers: Worker[] = [];
  const running: Promise<void>[] = [];
  let stopParkedWorker: (() => Promise<void>) | undefined;
  try {
    const [strataBundle, bareBundle] = await Promise.all([bundle('strata'), bundle('bare')]);
    const ctx: Ctx = {
      client,
      candidate: await loadCandidate(path.join(ROOT, 'examples/candidates/fraud-v1')),
      strataQueue: 'bench-strata',
      bareQueue: 'bench-bare',
      artifacts: path.join(dir, 'home', 'artifacts'),
    };
    for (const [kind, taskQueue, b] of [
      ['strata', ctx.strataQueue, strataBundle],
      ['bare', ctx.bareQueue, bareBundle],
    ] as const) {
      const w = await createEngineWorker({
        kind,
        connection: native,
        client,
        namespace: NAMESPACE,
        taskQueue,
        bundle: b,
      });
      workers.push(w);
      running.push(w.run());
    }
    const activitiesPerPromotion = 3 * (5 + gates);
    console.log(
      `engine bench: private dev server ${server.address}; node ${process.version}, ${os.cpus().length} CPUs, load average ${os.loadavg()[0].toFixed(1)}; ` +
        `${n} promotions per round (3 automatic layers, ${gates} trivial gates each, no-op provider) vs ${n} bare workflows of ${activitiesPerPromotion} activities; ${rounds} rounds; ` +
        `workers cache at most ${WORKER_SETTINGS.maxCachedWorkflows} workflows`,
    );
    // Warm-up: one of each, so bundles are loaded and the environments' code paths are hot.
    await promote(ctx, 'warm', benchLadderYaml('warm', { layers: 3, gates }));
    await mustPromote(ctx, 'warm');
    await client.workflow.execute('bare', {
      taskQueue: ctx.bareQueue,
      workflowId: 'bare-warm',
      args: [activitiesPerPromotion],
    });

    // Runs N promotions at once; returns promotions per second. The same code times them in the
    // overhead and the shape parts.
    const runPromotions = async (tag: string): Promise<number> => {
      const ids = Array.from({ length: n }, (_, i) => `${tag}p${i}`);
      // Each promotion climbs layers of its own (a lease admits one promotion per layer), so
      // each gets a ladder of its own, stored before the clock starts: a team applies a ladder
      // once and promotes through it many times. (Applying N versions of one shared ladder in
      // the timed window serialised N Updates and N older-version queries on one workflow.)
      const ladders = new Map<string, string>();
      await pool(ids, 16, async (id) => {
        ladders.set(id, await storeLadder(ctx, id, benchLadderYaml(id, { layers: 3, gates, ladder: `${id}-ladder` })));
      });
      const t0 = process.hrtime.bigint();
      await Promise.all(
        ids.map(async (id) => {
          await promoteStored(ctx, id, ladders.get(id)!);
          await mustPromote(ctx, id);
        }),
      );
      return n / secs(t0);
    };
    // Runs N bare workflows of one kind at once; returns workflows per second.
    const runBare = async (tag: string, type: string, args: unknown[]): Promise<number> => {
      const t0 = process.hrtime.bigint();
      await Promise.all(
        Array.from({ length: n }, (_, i) =>
          client.workflow.execute(type, { taskQueue: ctx.bareQueue, workflowId: `${tag}-${i}`, args }),
        ),
      );
      return n / secs(t0);
    };

    if (want('overhead')) {
      const promotionRates: number[] = [];
      const bareRates: number[] = [];
      // Where the time goes: CPU seconds per workflow of each arm, in the server and in this process.
      const promotionCpu: Array<{ server: number; bench: number }> = [];
      const bareCpu: Array<{ server: number; bench: number }> = [];
      const promotions = async (round: number) =>
        promotionCpu.push(
          await cpuOf(server.pid, async () => void promotionRates.push(await runPromotions(`r${round}`))),
        );
      const bares = async (round: number) =>
        bareCpu.push(
          await cpuOf(
            server.pid,
            async () => void bareRates.push(await runBare(`bare-r${round}`, 'bare', [activitiesPerPromotion])),
          ),
        );
      for (let round = 1; round <= rounds; round++) {
        if (round % 2) {
          await promotions(round);
          await bares(round);
        } else {
          await bares(round);
          await promotions(round);
        }
        console.log(
          `  round ${round}: promotions ${promotionRates.at(-1)!.toFixed(2)}/s, bare ${bareRates.at(-1)!.toFixed(2)}/s`,
        );
      }
      const perRound = ratios(promotionRates, bareRates);
      console.log(`\noverhead: workflows completed per second (${rounds} rounds of ${n} at once)`);
      console.log(
        table([
          ['arm', 'median /s', 'min', 'max', 'vs bare'],
          [
            'promotions (3 layers, Strata workflows)',
            ...spreadCells(promotionRates, (x) => x.toFixed(2)),
            times(median(perRound)),
          ],
          [
            `bare workflows (${activitiesPerPromotion} activities)`,
            ...spreadCells(bareRates, (x) => x.toFixed(2)),
            '1.00×',
          ],
        ]),
      );
      console.log(
        `promotions vs bare, per round: ${spreadText(perRound, times)} (target ≥ 0.8×: ${median(perRound) >= 0.8 ? 'meets' : 'misses'})`,
      );
      const perWorkflow = (xs: number[]) =>
        spreadText(
          xs.map((x) => (x / n) * 1000),
          ms,
        );
      console.log(
        `CPU ms per promotion: dev server ${perWorkflow(promotionCpu.map((c) => c.server))}, bench process (workers, client) ${perWorkflow(promotionCpu.map((c) => c.bench))}`,
      );
      console.log(
        `CPU ms per bare workflow: dev server ${perWorkflow(bareCpu.map((c) => c.server))}, bench process ${perWorkflow(bareCpu.map((c) => c.bench))}`,
      );

      // History of this round's promotions.
      const sizes = [];
      for (let i = 0; i < Math.min(n, 10); i++) sizes.push(await promotionHistory(client, `r${rounds}p${i}`));
      const bare = await historySize(client, `bare-r${rounds}-0`);
      const one = await client.workflow.getHandle(`r${rounds}p0`).fetchHistory();
      const layerHistories = await Promise.all(
        (await historySize(client, `r${rounds}p0`)).children.map((c) => client.workflow.getHandle(c).fetchHistory()),
      );
      const envHistories = await Promise.all(
        [0, 1, 2].map((k) => client.workflow.getHandle(`${ctx.strataQueue}.env.r${rounds}p0-l${k}`).fetchHistory()),
      );
      console.log(
        `\nhistory per promotion (3 layers × ${gates} gates, ${sizes.length} promotions): ${spreadText(
          sizes.map((s) => s.events),
          ms,
        )} events, ${spreadText(
          sizes.map((s) => s.bytes / 1024),
          (x) => x.toFixed(1),
        )} KiB, in ${sizes[0].workflows} workflows (largest ${Math.max(...sizes.map((s) => s.maxEvents))} events); a bare workflow of ${activitiesPerPromotion} activities: ${bare.events} events, ${(bare.bytes / 1024).toFixed(1)} KiB`,
      );
      console.log(`  promotion workflow: ${eventTypes([one])}`);
      console.log(`  its 3 layer workflows: ${eventTypes(layerHistories)}`);
      console.log(
        `  its 3 environment workflows (not counted above): ${envHistories.reduce((a, h) => a + (h.events?.length ?? 0), 0)} events: ${eventTypes(envHistories)}`,
      );
    }

    if (want('shape')) {
      // What the promotion's shape costs in plain Temporal, with none of Strata's code: the same
      // activities in bare workflows that add, one part at a time, the promotion's search-attribute
      // upserts, its workflow executions, and then its whole shape (7 executions, the same
      // activities, upserts and environment hand-offs). Beside Strata's promotions, same rounds.
      const warm = await historySize(client, 'warm');
      const histories = await Promise.all(
        ['warm', ...warm.children, ...[0, 1, 2].map((k) => `${ctx.strataQueue}.env.warm-l${k}`)].map((id) =>
          client.workflow.getHandle(id).fetchHistory(),
        ),
      );
      const count = (
        of: temporal.api.history.v1.IHistory[],
        pick: (e: temporal.api.history.v1.IHistoryEvent) => unknown,
      ) => of.reduce((a, h) => a + (h.events ?? []).filter(pick).length, 0);
      const shapeOf = (of: temporal.api.history.v1.IHistory[]) => ({
        workflows: of.length,
        activities: count(of, (e) => e.activityTaskScheduledEventAttributes),
        upserts: count(of, (e) => e.upsertWorkflowSearchAttributesEventAttributes),
        signals: count(of, (e) => e.workflowExecutionSignaledEventAttributes),
      });
      const promotionShape = shapeOf(histories);
      const { upserts, activities } = promotionShape;
      const arms: Array<{ name: string; run: (tag: string) => Promise<number> }> = [
        { name: 'promotions (Strata)', run: (tag) => runPromotions(tag) },
        {
          name: `bare: ${activitiesPerPromotion} activities`,
          run: (tag) => runBare(tag, 'bare', [activitiesPerPromotion]),
        },
        {
          name: `bare + ${upserts} search-attribute upserts`,
          run: (tag) => runBare(tag, 'bareUpserts', [activitiesPerPromotion, upserts]),
        },
        {
          name: 'bare as a parent and 3 children',
          run: (tag) => runBare(tag, 'bareChildren', [activitiesPerPromotion]),
        },
        {
          name: "bare in the promotion's shape",
          run: (tag) => runBare(tag, 'bareShaped', [activitiesPerPromotion]),
        },
        {
          name: 'the shape without its 3 environment entities',
          run: (tag) => runBare(tag, 'bareShaped', [activitiesPerPromotion, { entities: false, upserts: true }]),
        },
        {
          name: 'the shape without its upserts',
          run: (tag) => runBare(tag, 'bareShaped', [activitiesPerPromotion, { entities: true, upserts: false }]),
        },
      ];
      const rates = arms.map(() => [] as number[]);
      for (let round = 1; round <= rounds; round++) {
        // A different arm goes first each round.
        for (let k = 0; k < arms.length; k++) {
          const a = (k + round) % arms.length;
          rates[a].push(await arms[a].run(`shape-r${round}-a${a}`));
        }
        console.log(
          `  shape round ${round}: ${arms.map((a, i) => `${a.name} ${rates[i].at(-1)!.toFixed(2)}/s`).join(', ')}`,
        );
      }
      console.log(
        `\nshape: what the promotion's shape costs in plain Temporal (${rounds} rounds of ${n} at once; a promotion runs ${activities} activities and ${upserts} upserts in 7 workflows)`,
      );
      console.log(
        table([
          ['arm', 'median /s', 'min', 'max', 'vs bare'],
          ...arms.map((a, i) => [
            a.name,
            ...spreadCells(rates[i], (x) => x.toFixed(2)),
            times(median(ratios(rates[i], rates[1]))),
          ]),
        ]),
      );
      // The shaped bare workflow has the promotion's shape: the same executions, activities and
      // upserts (the promotion's environments also take a signal per lease request).
      const shapedId = `shape-r${rounds}-a4-0`;
      const shaped = shapeOf(
        await Promise.all(
          [shapedId, ...[0, 1, 2].flatMap((c) => [`${shapedId}.l${c}`, `${shapedId}.l${c}.env`])].map((id) =>
            client.workflow.getHandle(id).fetchHistory(),
          ),
        ),
      );
      const shapeText = (x: typeof shaped) =>
        `${x.workflows} workflows, ${x.activities} activities, ${x.upserts} upserts, ${x.signals} signals received`;
      console.log(`a promotion: ${shapeText(promotionShape)}; the bare shape: ${shapeText(shaped)}`);
      if (
        shaped.workflows !== promotionShape.workflows ||
        shaped.activities !== activities ||
        shaped.upserts !== upserts
      )
        throw new Error("the bare shape does not have the promotion's executions, activities and upserts");
      console.log(
        `promotions vs the bare promotion's shape, per round: ${spreadText(ratios(rates[0], rates[4]), times)} (what Strata's own code costs beyond its shape)`,
      );
    }

    if (want('latency')) {
      const latencies: number[] = [];
      for (let i = 0; i < latencyRuns; i++) {
        const id = `lat${i}`;
        latencies.push(
          await timedMs(async () => {
            await promote(ctx, id, benchLadderYaml(id, { layers: 1, gates }));
            await mustPromote(ctx, id);
          }),
        );
      }
      console.log(
        `\none-layer promotion, promote → promoted (${latencyRuns} one at a time, ${gates} gates): p50 ${ms(percentile(latencies, 50))} ms, p95 ${ms(percentile(latencies, 95))} ms (min ${ms(Math.min(...latencies))}, max ${ms(Math.max(...latencies))})`,
      );
    }

    if (want('history')) {
      await promote(ctx, 'wide', benchLadderYaml('wide', { layers: 1, gates: 200 }));
      await mustPromote(ctx, 'wide');
      const wide = await promotionHistory(client, 'wide');
      console.log(
        `one layer with 200 gates: ${wide.events} events (${(wide.bytes / 1024).toFixed(0)} KiB) in ${wide.workflows} workflows, largest ${wide.maxEvents} events (limit 10k: ${wide.events < 10_000 ? 'under' : 'OVER'})`,
      );
    }

    if (want('parked')) {
      // The parked promotions' worker runs in its own process, on a queue of its own.
      const parkedWorker = await startWorkerProcess(server.address, 'bench-parked');
      stopParkedWorker = () => parkedWorker.stop();
      ctx.strataQueue = 'bench-parked';
      const worker0 = parkedWorker.rssMiB();
      const rss0 = process.memoryUsage().rss;
      const ids = Array.from({ length: parked }, (_, i) => `park${i}`);
      const t0 = process.hrtime.bigint();
      await pool(ids, 32, async (id) => {
        // One ladder per parked promotion, as a team has a ladder per service: the promotion pins
        // that ladder's current version, which the worker reads from the ladder workflow's memo.
        // (Versions of one shared ladder would each be an older version, read by a query that
        // needs a workflow task of the ladder workflow: 1,000 of them starve behind the others.)
        await promote(ctx, id, benchLadderYaml(id, { layers: 1, gates: 1, manual: true, ladder: `${id}-ladder` }));
      });
      const startSeconds = secs(t0);
      // Wait until every one waits for its approval.
      for (;;) {
        const waiting = (await listPromotions(client, { phase: 'awaiting-approval', limit: parked + 10 })).length;
        if (waiting >= parked) break;
        const limit = Math.max(600, parked * 2); // seconds: 10 min, or 2 s a promotion for big runs
        if (secs(t0) > limit)
          throw new Error(`only ${waiting} of ${parked} promotions reached their approval in ${limit} s`);
        await new Promise((r) => setTimeout(r, 500));
      }
      const parkedSeconds = secs(t0);
      global.gc?.();
      const rss = process.memoryUsage().rss;
      const worker1 = parkedWorker.rssMiB();
      console.log(
        `\nparked: ${parked} promotions started in ${startSeconds.toFixed(1)} s, all awaiting approval after ${parkedSeconds.toFixed(1)} s; ` +
          `the worker's RSS ${worker1.rss.toFixed(0)} MiB, peak ${worker1.peak.toFixed(0)} MiB (${worker0.rss.toFixed(0)} MiB before; target < 1024); ` +
          `the bench process (client, baseline worker) ${(rss / 2 ** 20).toFixed(0)} MiB (${(rss0 / 2 ** 20).toFixed(0)} MiB before)`,
      );
      // Local mode over gRPC: TEMPORAL_ADDRESS names the server, and no HTTP API is named.
      const env: NodeJS.ProcessEnv = {
        ...process.env,
        TEMPORAL_ADDRESS: server.address,
        TEMPORAL_NAMESPACE: NAMESPACE,
        STRATA_TASK_QUEUE: ctx.strataQueue,
        STRATA_HOME: path.join(dir, 'home'),
      };
      delete env.STRATA_TEMPORAL_HTTP;
      // Local mode where Temporal's HTTP API answers (as with `strata up`): status reads it.
      const httpEnv = { ...env, STRATA_TEMPORAL_HTTP: `http://127.0.0.1:${httpPort}` };
      const failures: string[] = [];
      // Both ways print the same status and the same list (checked once before timing).
      const [overGrpc, overHttp] = await Promise.all(
        [env, httpEnv].map((e) => cliStdout(['status', ids[0], '--json'], e)),
      );
      if (overGrpc !== overHttp) failures.push(`strata status ${ids[0]}: HTTP API and gRPC print different statuses`);
      const [listGrpc, listOverHttp] = await Promise.all([env, httpEnv].map((e) => cliStdout(['list', '--json'], e)));
      if (listGrpc !== listOverHttp) failures.push('strata list: HTTP API and gRPC print different lists');
      const statusHttp: number[] = [];
      const listHttp: number[] = [];
      const listCli: number[] = [];
      const statusCli: number[] = [];
      const listSource: number[] = [];
      const statusSource: number[] = [];
      const listCall: number[] = [];
      const statusCall: number[] = [];
      // bin/strata as a user runs it: the built CLI (made fresh above), and, alternating with it,
      // the same command from its TypeScript sources through tsx (as before the build existed).
      const fromSource = { ...env, STRATA_CLI_FROM_SOURCE: '1' };
      // And through the API (`strata serve`, a process of its own, as people's CLIs reach it).
      const api = await startServe(env);
      const listApi: number[] = [];
      const statusApi: number[] = [];
      for (let i = 0; i < 5; i++) {
        listApi.push(await cli(['list'], api.env, failures));
        statusApi.push(await cli(['status', ids[(i * 7) % parked]], api.env, failures));
        listCli.push(await cli(['list'], env, failures));
        listHttp.push(await cli(['list'], httpEnv, failures));
        statusCli.push(await cli(['status', ids[(i * 7) % parked]], env, failures));
        statusHttp.push(await cli(['status', ids[(i * 7) % parked]], httpEnv, failures));
        listSource.push(await cli(['list'], fromSource, failures));
        statusSource.push(await cli(['status', ids[(i * 7) % parked]], fromSource, failures));
        listCall.push(await timedMs(() => listPromotions(client, { limit: parked + 10 })));
        statusCall.push(
          await timedMs(() => getStatus(client, ids[(i * 11) % parked])).catch((err: Error) => {
            failures.push(`getStatus failed: ${err.message}`);
            return NaN;
          }),
        );
      }
      const node = await cli(['--help'], env, failures);
      console.log(
        table([
          ['with parked promotions (5 runs)', 'median ms', 'min', 'max', 'target'],
          ['strata list (process, local mode over gRPC)', ...okCells(listCli, ms), '< 1000'],
          ["strata list (process, local mode over Temporal's HTTP API)", ...okCells(listHttp, ms), '< 1000'],
          ['strata status <id> (process, local mode over gRPC)', ...okCells(statusCli, ms), '< 300'],
          ["strata status <id> (process, local mode over Temporal's HTTP API)", ...okCells(statusHttp, ms), '< 300'],
          ['strata list (process, API mode via strata serve)', ...okCells(listApi, ms), '< 1000'],
          ['strata status <id> (process, API mode via strata serve)', ...okCells(statusApi, ms), '< 300'],
          ['strata list (process, from source via tsx)', ...okCells(listSource, ms), ''],
          ['strata status <id> (process, from source via tsx)', ...okCells(statusSource, ms), ''],
          ['listPromotions (client call of `list`)', ...spreadCells(listCall, ms), ''],
          ['getStatus (client call of `status`)', ...okCells(statusCall, ms), ''],
          ['strata --help (process start alone)', ms(node), '', '', ''],
        ]),
      );
      await api.stop();
      for (const f of new Set(failures)) console.log(`  failed: ${f}`);
      const a0 = process.hrtime.bigint();
      await pool(ids, 16, async (id) => {
        const reply = await approve(client, id, { layer: `${id}-l0`, actor: 'alice', reason: 'bench' });
        if (reply.decision !== 'approve') throw new Error(`approval of ${id} answered ${JSON.stringify(reply)}`);
      });
      const approveSeconds = secs(a0);
      await pool(ids, 32, (id) => mustPromote(ctx, id));
      const doneSeconds = secs(a0);
      const worker2 = parkedWorker.rssMiB();
      console.log(
        `the worker's RSS after the approvals ${worker2.rss.toFixed(0)} MiB, peak ${worker2.peak.toFixed(0)} MiB`,
      );
      console.log(
        `approved ${parked} through the client code in ${approveSeconds.toFixed(1)} s (${(parked / approveSeconds).toFixed(1)} approvals/s, 16 at a time); all promoted ${doneSeconds.toFixed(1)} s after the first approval`,
      );
    }
  } finally {
    await stopParkedWorker?.();
    for (const w of workers) w.shutdown();
    await Promise.allSettled(running);
    await native.close();
    await clientConnection.close();
    await server.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
