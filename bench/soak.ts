// `npm run soak [-- --workers 3 --promotions 20 --lanes 4 --kill-every 20 --duration 60m]`
//
// A soak test of Strata itself. On a private Temporal dev server (its own SQLite file and port,
// never a test run's shared server), `--workers` real `strata worker` processes poll one task
// queue while promotions of the example candidates (fraud-v2 promoted, fraud-v1 promoted,
// fraud-v3 failing integration's 0.78 quality gate and rolled back) climb small two-layer ladders.
// Promotions of a lane share its layers, so they queue for the environments' leases. Meanwhile a
// worker is SIGKILLed every `--kill-every` seconds (and a new one started in its place), and the
// Temporal server is stopped and started again once, at about a third of the run.
//
// Without `--duration` it starts `--promotions` promotions and waits for them; with `--duration`
// it keeps starting them (at most two per lane in flight) until the time is up, then waits.
//
// At the end it checks, and prints as a table:
//   - every promotion is in a terminal state (promoted, failed, aborted) and its workflow closed;
//   - no environment was provisioned twice: the provider's records say `provisioned` once per
//     environment, and no layer workflow completed provisionEnvironment or deployCandidate twice;
//     the candidate processes started match the deploys and rollbacks the histories completed;
//   - no orphan candidate process: the only live process carrying an environment's token (in
//     /proc/<pid>/environ) is the one its state records, verified by pid, start time and token;
//     after teardown, none at all, of any role (candidate, feature service, proxy), nor any
//     process whose environment points into the soak's home;
//   - no lease left held, and nobody left waiting, in any environment workflow.
// It exits 1 when a check fails.

import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { loadCandidate } from '../src/config/candidate';
import { parseLadder } from '../src/config/ladder';
import type { CandidateRef, LadderSpec } from '../src/domain/ladder';
import { isTerminal, type PromotionState } from '../src/domain/status';
import { removeSealedTree } from '../src/artifacts/store';
import { strataPaths } from '../src/paths';
import { LocalProvider } from '../src/providers/local';
import { ensureTemporalCli } from '../src/temporal/cli';
import { getEnvironment } from '../src/temporal/environments';
import { getStatus, startPromotion } from '../src/temporal/promotions';
import { type DevServer, startDevServer } from '../src/temporal/server';
import { findProcesses, findProcessesByToken, verifyProcess } from '../src/tools/processes';
import { freePort } from '../src/tools/ports';
import { table } from './support';

const ROOT = path.resolve(__dirname, '..');
const NAMESPACE = 'strata';
const CANDIDATES = ['fraud-v2', 'fraud-v1', 'fraud-v3'] as const;

export interface SoakOptions {
  /** `strata worker` processes on the task queue. @default 3 */
  workers: number;
  /** Promotions to start (without durationMs). @default 20 */
  promotions: number;
  /** Ladders of two layers each; promotions of a lane share its environments. @default 4 */
  lanes: number;
  /** A worker is SIGKILLed this often. @default 20_000 */
  killEveryMs: number;
  /** Keep starting promotions until this much time has passed (the long version). */
  durationMs?: number;
  /** How long to wait, after the last start, for every promotion to end. @default 15 min */
  settleMs?: number;
  /** Progress lines. */
  log?: (line: string) => void;
}

export interface SoakReport {
  ok: boolean;
  seconds: number;
  promotions: Array<{
    id: string;
    candidate: string;
    lane: number;
    state: PromotionState | 'running';
    seconds: number;
  }>;
  workerKills: number;
  workerStarts: number;
  serverRestarts: number;
  /** Activities that ran more than once (attempt ≥ 2) in the layer workflows' histories. */
  retriedActivities: number;
  environments: Array<{
    layer: string;
    provisioned: number;
    provisionActivities: number;
    processesStarted: number;
    deploysAndRollbacks: number;
    orphans: number;
    leaseHeld: string | null;
    waiting: number;
  }>;
  /** Processes carrying a soak environment's token after teardown. */
  leftAfterTeardown: number;
  /**
   * Any other process whose environment points into the soak's home after teardown (a feature
   * service carries no token). Reported, not yet a failure: see docs/benchmarks.md.
   */
  strayAfterTeardown: number;
  failures: string[];
}

function laneLadder(lane: number): LadderSpec {
  return parseLadder(
    `
name: soak-${lane}
defaults: { rollback: previous }
layers:
  - name: soak${lane}-sandbox
    seed: { rows: 1000, seed: 1 }
    gates:
      - { type: schema }
      - { type: quality, threshold: 0.6 }
      - { type: latency, threshold: 2000, options: { requests: 200, concurrency: 2 } }
    approval: auto
  - name: soak${lane}-integration
    seed: { rows: 1000, seed: 2 }
    gates:
      - { type: schema }
      - { type: quality, threshold: 0.78 }
      - { type: latency, threshold: 2000, options: { requests: 400, concurrency: 2 } }
    approval: auto
`,
    `soak-${lane}.yaml`,
  );
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Retries `fn` while the server is away (a restart in progress), up to `ms`. */
async function patiently<T>(ms: number, fn: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await sleep(1000);
    }
  }
}

interface Counts {
  [activity: string]: number;
}

/** Completed activities of one workflow by type, and how many of its activities were retried. */
async function activityCounts(client: Client, workflowId: string): Promise<{ done: Counts; retried: number }> {
  const done: Counts = {};
  let retried = 0;
  let events;
  try {
    events = (await client.workflow.getHandle(workflowId).fetchHistory()).events ?? [];
  } catch {
    return { done, retried }; // the layer never started (its promotion ended before it)
  }
  const typeOf = new Map<number, string>();
  for (const e of events) {
    const name = e.activityTaskScheduledEventAttributes?.activityType?.name;
    if (name) typeOf.set(Number(e.eventId), name);
    if ((e.activityTaskStartedEventAttributes?.attempt ?? 0) >= 2) retried++;
    const completed = e.activityTaskCompletedEventAttributes;
    if (completed) {
      const type = typeOf.get(Number(completed.scheduledEventId)) ?? '?';
      done[type] = (done[type] ?? 0) + 1;
    }
  }
  return { done, retried };
}

export async function runSoak(opts: SoakOptions): Promise<SoakReport> {
  const log = opts.log ?? ((line: string) => console.log(line));
  const setupStarted = Date.now();
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-soak-'));
  const taskQueue = `soak-${process.pid}`;
  const failures: string[] = [];
  const cli = await ensureTemporalCli();
  const port = await freePort();
  const serverOptions = {
    cli,
    dbFile: path.join(home, 'temporal', 'temporal.db'),
    logFile: path.join(home, 'temporal', 'temporal.log'),
    port,
    uiPort: port + 1,
    headless: true,
    namespace: NAMESPACE,
    retentionDays: 7,
  };
  let server: DevServer = await startDevServer(serverOptions);
  log(`dev server ${server.address} (pid ${server.pid}), STRATA_HOME ${home}`);
  const connection = await Connection.connect({ address: server.address });
  const client = new Client({ connection, namespace: NAMESPACE });

  // --- workers ---------------------------------------------------------------------------------
  const live = new Set<ChildProcess>();
  const everyWorker: ChildProcess[] = [];
  let workerStarts = 0;
  let workerKills = 0;
  let serverRestarts = 0;
  const startWorker = (): Promise<ChildProcess> => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'src/cli/main.ts'), 'worker'], {
      cwd: ROOT,
      env: {
        ...process.env,
        TEMPORAL_ADDRESS: server.address,
        TEMPORAL_NAMESPACE: NAMESPACE,
        STRATA_HOME: home,
        STRATA_TASK_QUEUE: taskQueue,
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    everyWorker.push(child);
    workerStarts++;
    let err = '';
    return new Promise((resolve, reject) => {
      child.stderr!.on('data', (chunk: Buffer) => {
        if (err.length < 200_000) err += chunk.toString();
        if (err.includes('worker running')) {
          live.add(child);
          resolve(child);
        }
      });
      child.on('exit', (code, signal) => {
        live.delete(child);
        reject(new Error(`worker exited (${code ?? signal}) before running:\n${err.slice(-2000)}`));
      });
    });
  };
  await Promise.all(Array.from({ length: opts.workers }, () => startWorker()));
  // The clock starts once the server and the workers run (a first build of the CLI takes minutes).
  const started = Date.now();
  log(
    `${opts.workers} workers running on task queue ${taskQueue} (setup ${((started - setupStarted) / 1000).toFixed(0)} s)`,
  );

  // Faults run one at a time: a worker is not restarted while the server is away. A kill due while
  // another fault is still in progress (a worker starting takes a while on a busy machine) is skipped.
  let faults = Promise.resolve();
  let busy = false;
  const fault = (what: () => Promise<void>) => {
    faults = faults
      .then(async () => {
        busy = true;
        await what();
      })
      .catch((err: unknown) => {
        failures.push(`fault injection: ${(err as Error).message}`);
      })
      .finally(() => (busy = false));
    return faults;
  };
  const killOne = () =>
    busy
      ? undefined
      : fault(async () => {
          const victims = [...live];
          const victim = victims[workerKills % victims.length];
          if (!victim) return;
          const exited = new Promise((r) => victim.once('exit', r));
          victim.kill('SIGKILL');
          await exited;
          workerKills++;
          await patiently(60_000, startWorker);
          log(`  ${elapsed()} worker ${victim.pid} SIGKILLed, a new one started`);
        });
  const restartServer = () =>
    fault(async () => {
      log(`  ${elapsed()} stopping the Temporal server`);
      await server.stop();
      await sleep(5_000);
      server = await startDevServer(serverOptions);
      serverRestarts++;
      log(`  ${elapsed()} Temporal server started again (pid ${server.pid})`);
    });
  const elapsed = () => `${((Date.now() - started) / 1000).toFixed(0).padStart(5)}s`;
  const killer = setInterval(() => void killOne(), opts.killEveryMs);

  // --- promotions ------------------------------------------------------------------------------
  const ladders = Array.from({ length: opts.lanes }, (_, k) => laneLadder(k + 1));
  const candidates = new Map<string, CandidateRef>();
  for (const name of CANDIDATES)
    candidates.set(name, await loadCandidate(path.join(ROOT, 'examples', 'candidates', name)));
  const promotions: SoakReport['promotions'] = [];
  const startedAt = new Map<string, number>();
  const ended = new Set<string>();
  const planned = opts.durationMs ?? opts.promotions * 12_000;
  const restartAt = started + planned / 3;
  let restarted = false;

  const startOne = async (i: number) => {
    const lane = i % opts.lanes;
    // Each lane sees every candidate in turn: fraud-v3 sometimes first (nothing to roll back to),
    // sometimes after a promoted version (rolled back to it).
    const name = CANDIDATES[(i + Math.floor(i / opts.lanes)) % CANDIDATES.length];
    const ladder = ladders[lane];
    const id = await patiently(120_000, () =>
      startPromotion(client, {
        id: `soak-${i}-${name}`,
        ladder,
        layers: ladder.layers,
        candidate: candidates.get(name)!,
        initiator: 'soak',
        taskQueue,
        artifacts: strataPaths(home).artifacts,
      }),
    );
    startedAt.set(id, Date.now());
    promotions.push({ id, candidate: name, lane: lane + 1, state: 'running', seconds: 0 });
    log(`  ${elapsed()} started ${id} (lane ${lane + 1})`);
  };
  const inFlight = () => promotions.filter((p) => !ended.has(p.id)).length;
  const poll = async () => {
    for (const p of promotions) {
      if (ended.has(p.id)) continue;
      try {
        const s = await getStatus(client, p.id);
        const closed = (await client.workflow.getHandle(p.id).describe()).status.name !== 'RUNNING';
        if (isTerminal(s.state) && closed) {
          ended.add(p.id);
          p.state = s.state;
          p.seconds = (Date.now() - startedAt.get(p.id)!) / 1000;
          log(`  ${elapsed()} ${p.id}: ${s.state}${s.reason ? ` (${s.reason.slice(0, 100)})` : ''}`);
        }
      } catch {
        // the server is restarting
      }
    }
  };
  const maybeRestartServer = async () => {
    if (!restarted && Date.now() >= restartAt) {
      restarted = true;
      await restartServer();
    }
  };

  let next = 0;
  try {
    if (opts.durationMs === undefined) {
      for (; next < opts.promotions; next++) await startOne(next);
    }
    const stopStartingAt = started + (opts.durationMs ?? 0);
    for (;;) {
      await maybeRestartServer();
      await poll();
      if (opts.durationMs !== undefined && Date.now() < stopStartingAt) {
        while (inFlight() < opts.lanes * 2) await startOne(next++);
      } else if (inFlight() === 0 && restarted) break;
      if (Date.now() > Math.max(stopStartingAt, restartAt) + (opts.settleMs ?? 15 * 60_000)) {
        failures.push(`promotions still running after the settle time: ${inFlight()}`);
        break;
      }
      await sleep(1000);
    }
  } finally {
    clearInterval(killer);
    await faults;
  }

  // --- checks ----------------------------------------------------------------------------------
  log(`${elapsed()} checking`);
  for (const p of promotions) {
    if (p.state === 'running') failures.push(`${p.id} did not end`);
  }
  const provider = new LocalProvider(home);
  let retriedActivities = 0;
  const environments: SoakReport['environments'] = [];
  const tokens: string[] = [];
  for (const [k, ladder] of ladders.entries()) {
    const lanePromotions = promotions.filter((p) => p.lane === k + 1);
    for (const layer of ladder.layers.map((l) => l.name)) {
      let provisionActivities = 0;
      let deploysAndRollbacks = 0;
      for (const p of lanePromotions) {
        const { done, retried } = await activityCounts(client, `${p.id}.${layer}`);
        retriedActivities += retried;
        provisionActivities += done.provisionEnvironment ?? 0;
        deploysAndRollbacks += (done.deployCandidate ?? 0) + (done.rollbackEnvironment ?? 0);
        for (const type of ['provisionEnvironment', 'deployCandidate', 'populateEnvironment', 'seedEnvironment'])
          if ((done[type] ?? 0) > 1) failures.push(`${p.id}.${layer}: ${type} completed ${done[type]} times`);
      }
      if (provisionActivities === 0) continue; // no promotion reached this layer
      const events = fs.existsSync(provider.envDir(layer)) ? provider.events(layer).map((e) => e.event) : [];
      const count = (what: string) => events.filter((e) => e === what).length;
      // The environment's own word on what runs there, and every process carrying its token.
      const state = readEnvState(provider, layer);
      if (state?.token) tokens.push(state.token);
      const recorded =
        state?.pid && state.token
          ? { pid: state.pid, startTime: state.pidStartTime ?? null, token: state.token, role: 'candidate' }
          : undefined;
      const verified = recorded && verifyProcess(recorded) ? recorded.pid : undefined;
      const withToken = state?.token ? findProcessesByToken(state.token, 'candidate') : [];
      const orphans = withToken.filter((proc) => proc.pid !== verified).length;
      const env = await waitForIdleLease(client, taskQueue, layer);
      environments.push({
        layer,
        provisioned: count('provisioned'),
        provisionActivities,
        processesStarted: count('process-started'),
        deploysAndRollbacks,
        orphans,
        leaseHeld: env.lease,
        waiting: env.waiting,
      });
      if (count('provisioned') !== 1) failures.push(`${layer}: provisioned ${count('provisioned')} times`);
      if (count('process-started') > deploysAndRollbacks)
        failures.push(
          `${layer}: ${count('process-started')} candidate processes started for ${deploysAndRollbacks} deploys and rollbacks`,
        );
      if (orphans > 0) {
        failures.push(`${layer}: ${orphans} orphan candidate process(es)`);
        // What the next run needs to find the cause: the orphans, what state.json records, the last events.
        for (const proc of withToken.filter((x) => x.pid !== verified))
          log(
            `  orphan in ${layer}: pid ${proc.pid} (start time ${proc.startTime}); state records pid ${state?.pid ?? 'none'} (${verified ? 'verified' : 'not verified'})`,
          );
        for (const e of provider.events(layer).slice(-8)) log(`    event ${JSON.stringify(e)}`);
      }
      if (env.lease) failures.push(`${layer}: lease still held by ${env.lease}`);
      if (env.waiting > 0) failures.push(`${layer}: ${env.waiting} still waiting for the lease`);
    }
  }

  // --- teardown --------------------------------------------------------------------------------
  for (const w of everyWorker) if (w.exitCode === null && w.signalCode === null) w.kill('SIGTERM');
  await Promise.all(
    everyWorker.map((w) =>
      w.exitCode === null && w.signalCode === null ? new Promise((r) => w.once('exit', r)) : undefined,
    ),
  );
  for (const e of environments) await provider.teardown(e.layer).catch((err: Error) => failures.push(err.message));
  const leftAfterTeardown = tokens.flatMap((t) => findProcessesByToken(t)).length;
  if (leftAfterTeardown > 0) failures.push(`${leftAfterTeardown} process(es) of the environments left after teardown`);
  const stray = findProcesses((env) => [...env.values()].some((v) => v.includes(home)));
  for (const p of stray) log(`  process ${p.pid} (${p.role ?? 'no role'}) still points into ${home} after teardown`);
  if (stray.length > 0) failures.push(`${stray.length} process(es) still pointing into ${home} after teardown`);
  await connection.close();
  await server.stop();
  removeSealedTree(strataPaths(home).artifacts);
  fs.rmSync(home, { recursive: true, force: true });

  return {
    ok: failures.length === 0,
    seconds: (Date.now() - started) / 1000,
    promotions,
    workerKills,
    workerStarts,
    serverRestarts,
    retriedActivities,
    environments,
    leftAfterTeardown,
    strayAfterTeardown: stray.length,
    failures,
  };
}

function readEnvState(
  provider: LocalProvider,
  layer: string,
): { pid?: number | null; pidStartTime?: number | null; token?: string } | undefined {
  try {
    return JSON.parse(fs.readFileSync(path.join(provider.envDir(layer), 'state.json'), 'utf8'));
  } catch {
    return undefined;
  }
}

/** The environment's lease once it has settled: a release is a hint it checks with the holder first. */
async function waitForIdleLease(
  client: Client,
  taskQueue: string,
  layer: string,
): Promise<{ lease: string | null; waiting: number }> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const s = await patiently(60_000, () => getEnvironment(client, taskQueue, layer));
    const result = { lease: s.lease?.holder ?? null, waiting: s.waiting.length };
    if ((!result.lease && result.waiting === 0) || Date.now() > deadline) return result;
    await sleep(1000);
  }
}

export function summarize(r: SoakReport): string {
  const by = (state: string) => r.promotions.filter((p) => p.state === state).length;
  const secs = r.promotions.map((p) => p.seconds).filter((s) => s > 0);
  const sorted = [...secs].sort((a, b) => a - b);
  const pct = (q: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] : 0);
  const lines = [
    table([
      ['soak', ''],
      ['duration', `${r.seconds.toFixed(0)} s`],
      ['promotions started', String(r.promotions.length)],
      [
        '  promoted / failed / aborted / not ended',
        `${by('promoted')} / ${by('failed')} / ${by('aborted')} / ${by('running')}`,
      ],
      ['  time to end, median / p90 / max', `${pct(0.5).toFixed(0)} / ${pct(0.9).toFixed(0)} / ${pct(1).toFixed(0)} s`],
      ['workers SIGKILLed / started', `${r.workerKills} / ${r.workerStarts}`],
      ['Temporal server restarts', String(r.serverRestarts)],
      ['activities retried (attempt ≥ 2)', String(r.retriedActivities)],
      ['processes left after teardown', String(r.leftAfterTeardown)],
      ['  others pointing into the home (not checked)', String(r.strayAfterTeardown)],
    ]),
    '',
    table([
      [
        'environment',
        'provisioned',
        'provision acts',
        'procs started',
        'deploys+rollbacks',
        'orphans',
        'lease',
        'waiting',
      ],
      ...r.environments.map((e) => [
        e.layer,
        String(e.provisioned),
        String(e.provisionActivities),
        String(e.processesStarted),
        String(e.deploysAndRollbacks),
        String(e.orphans),
        e.leaseHeld ?? 'free',
        String(e.waiting),
      ]),
    ]),
    '',
    r.ok ? 'soak: every check passed' : `soak: FAILED\n${r.failures.map((f) => `  - ${f}`).join('\n')}`,
  ];
  return lines.join('\n');
}

function parseArgs(args: string[]): SoakOptions {
  const num = (name: string, fallback: number) => {
    const i = args.indexOf(`--${name}`);
    if (i < 0) return fallback;
    const n = Number(args[i + 1]);
    if (!Number.isSafeInteger(n) || n <= 0) throw new Error(`--${name} needs a positive integer, got "${args[i + 1]}"`);
    return n;
  };
  const i = args.indexOf('--duration');
  let durationMs: number | undefined;
  if (i >= 0) {
    const m = /^(\d+)(s|m|h)$/.exec(args[i + 1] ?? '');
    if (!m) throw new Error(`--duration needs a number and a unit (s, m, h), e.g. 60m; got "${args[i + 1]}"`);
    durationMs = Number(m[1]) * { s: 1000, m: 60_000, h: 3_600_000 }[m[2] as 's' | 'm' | 'h'];
  }
  return {
    workers: num('workers', 3),
    promotions: num('promotions', 20),
    lanes: num('lanes', 4),
    killEveryMs: num('kill-every', 20) * 1000,
    ...(durationMs !== undefined ? { durationMs } : {}),
  };
}

if (require.main === module) {
  let options: SoakOptions;
  try {
    options = parseArgs(process.argv.slice(2));
  } catch (err) {
    console.error((err as Error).message);
    process.exit(2);
  }
  runSoak(options)
    .then((report) => {
      console.log(`\n${summarize(report)}`);
      process.exit(report.ok ? 0 : 1);
    })
    .catch((err: unknown) => {
      console.error(err);
      process.exit(1);
    });
}
