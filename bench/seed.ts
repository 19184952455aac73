// `npm run bench -- seed [--rows N] [--rounds N] [--no-policy]`
//
// The populate step (synthesis from the example profile, masking through its synthetic policy,
// PII scan, fidelity) of N rows (default 2 M):
//   alone:  preparePopulation called directly in a plain process (the same generation, no thread);
//   worker: runPopulationInThread in a process standing in for the Strata worker, which meanwhile
//           keeps a 10 ms timer and a heartbeat-like 1 s timer on its event loop.
// Reported: wall seconds of each (medians over rounds), the ratio worker/alone (target ≤ 1.3×),
// peak RSS of each process (target for the worker < 1 GiB), and the worst event-loop delay seen
// in the worker process while the seed ran (what a status query or a workflow task would wait).
//
// `--engine` measures the same seed through the real engine instead: a private Temporal dev server,
// one real `strata worker` process, a promotion B parked at its approval, then a promotion A whose
// layer seeds N rows. While A's populateEnvironment activity runs, once a second: B's status as
// `strata status` reads it (getStatus, after the connection; target < 500 ms), and a refused
// approval Update on B's layer, a round trip through one of B's workflow tasks (target < 1 s); after
// it, the slowest of B's workflow tasks in that window from its history (scheduled → completed),
// the activity's own time, and the worker process's peak RSS (VmHWM; target < 1 GiB).

import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseLadder } from '../src/config/ladder';
import { ApprovalRegistry } from '../src/data/approvals';
import { preparePopulation } from '../src/data/populate';
import { runPopulationInThread } from '../src/data/populate-runner';
import { tsxLoaderUrl } from '../src/tools/processes';
import { freePort } from '../src/tools/ports';
import { Client, Connection } from '@temporalio/client';
import { tsToDate } from '@temporalio/common/lib/time';
import { temporal } from '@temporalio/proto';
import { loadCandidate } from '../src/config/candidate';
import { removeSealedTree } from '../src/artifacts/store';
import { strataPaths } from '../src/paths';
import { LocalProvider } from '../src/providers/local';
import { ensureTemporalCli } from '../src/temporal/cli';
import { approve, getStatus, startPromotion } from '../src/temporal/promotions';
import { startDevServer } from '../src/temporal/server';
import { flag, median, table } from './support';

const ROOT = path.resolve(__dirname, '..');
const EXAMPLES = path.join(ROOT, 'examples');
const RATIO_TARGET = 1.3;
const RSS_TARGET_MIB = 1024;
const LAG_TARGET_MS = 500;

interface ChildResult {
  seconds: number;
  maxRssMiB: number;
  rows: number;
  /** Worst event-loop delay while the seed ran (worker mode only). */
  maxLagMs?: number;
  heartbeats?: number;
}

function setup(rows: number, policy: boolean): { home: string; ladder: string } {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-bench-seed-'));
  const ladder = path.join(home, 'ladder.yaml');
  fs.writeFileSync(
    ladder,
    `name: bench
data:
  sources: [ { name: profile, classification: synthetic, file: ${EXAMPLES}/data/transactions.profile.json } ]
layers:
  - name: mirror
    approval: auto
    data: { source: profile, rows: ${rows}, seed: 11${policy ? `, policy: ${EXAMPLES}/data/masking/synthetic.yaml` : ''} }
    gates: []
`,
  );
  return { home, ladder };
}

/** The child: one population, alone or through the thread, then its figures as JSON on stdout. */
async function child(mode: string, home: string, ladderFile: string): Promise<void> {
  await new ApprovalRegistry(home).approve(path.join(EXAMPLES, 'data/transactions.profile.json'), 'bench', 'bench');
  const layer = parseLadder(fs.readFileSync(ladderFile, 'utf8'), ladderFile).layers[0];
  const dbPath = path.join(home, 'envs', 'mirror', `${mode}.db`);
  fs.mkdirSync(path.dirname(dbPath), { recursive: true });
  const staging = `${dbPath}.bench.seeding.db`;
  let maxLagMs = 0;
  let heartbeats = 0;
  let last = performance.now();
  const lag = setInterval(() => {
    const now = performance.now();
    maxLagMs = Math.max(maxLagMs, now - last - 10);
    last = now;
  }, 10);
  const beat = setInterval(() => heartbeats++, 1000);
  const start = performance.now();
  const prepared =
    mode === 'alone'
      ? await preparePopulation({ home, layer, dbPath, staging })
      : await runPopulationInThread({ home, layer, dbPath, staging });
  const seconds = (performance.now() - start) / 1000;
  clearInterval(lag);
  clearInterval(beat);
  const result: ChildResult = {
    seconds,
    maxRssMiB: process.resourceUsage().maxRSS / 1024,
    rows: prepared.report.rows,
    ...(mode === 'worker' ? { maxLagMs, heartbeats } : {}),
  };
  fs.rmSync(home, { recursive: true, force: true });
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

function runChild(mode: 'alone' | 'worker', rows: number, policy: boolean): ChildResult {
  const { home, ladder } = setup(rows, policy);
  const r = spawnSync(
    process.execPath,
    ['--import', tsxLoaderUrl(), path.join(__dirname, 'seed.ts'), '--child', mode, home, ladder],
    { cwd: ROOT, encoding: 'utf8', maxBuffer: 1 << 24 },
  );
  fs.rmSync(home, { recursive: true, force: true });
  if (r.status !== 0) throw new Error(`${mode} run failed (${r.status}):\n${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as ChildResult;
}

const STATUS_TARGET_MS = 500;
const TASK_TARGET_MS = 1000;

function peakRssMiB(pid: number): number {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : NaN;
  } catch {
    return NaN;
  }
}

/** The seed through the real engine, with a parked promotion's status and workflow tasks timed meanwhile. */
async function engine(rows: number): Promise<void> {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-bench-seed-engine-'));
  const port = await freePort();
  const server = await startDevServer({
    cli: await ensureTemporalCli(),
    dbFile: path.join(home, 'temporal', 'temporal.db'),
    logFile: path.join(home, 'temporal', 'temporal.log'),
    port,
    uiPort: port + 1,
    headless: true,
    namespace: 'strata',
    retentionDays: 1,
  });
  const taskQueue = `bench-seed-${process.pid}`;
  let worker: ChildProcess | undefined;
  const connection = await Connection.connect({ address: server.address });
  const client = new Client({ connection, namespace: 'strata' });
  try {
    await new ApprovalRegistry(home).approve(path.join(EXAMPLES, 'data/transactions.profile.json'), 'bench', 'bench');
    worker = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'src/cli/main.ts'), 'worker'], {
      cwd: ROOT,
      env: {
        ...process.env,
        TEMPORAL_ADDRESS: server.address,
        TEMPORAL_NAMESPACE: 'strata',
        STRATA_HOME: home,
        STRATA_TASK_QUEUE: taskQueue,
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    await new Promise<void>((resolve, reject) => {
      let err = '';
      worker!.stderr!.on('data', (c: Buffer) => {
        if (err.length < 100_000) err += c.toString();
        if (err.includes('worker running')) resolve();
      });
      worker!.on('exit', (code) => reject(new Error(`worker exited (${code}):\n${err.slice(-2000)}`)));
    });
    const candidate = await loadCandidate(path.join(EXAMPLES, 'candidates', 'fraud-v2'));
    const artifacts = strataPaths(home).artifacts;
    const parked = parseLadder(
      `name: parked
layers:
  - { name: parked, seed: { rows: 200, seed: 1 }, gates: [], approval: { required: 1, approvers: [alice] } }
`,
      'parked.yaml',
    );
    const b = await startPromotion(client, {
      ladder: parked,
      layers: parked.layers,
      candidate,
      initiator: 'bench',
      taskQueue,
      artifacts,
    });
    for (;;) {
      if ((await getStatus(client, b)).layers[0]?.phase === 'awaiting-approval') break;
      await new Promise((r) => setTimeout(r, 250));
    }
    const seeding = parseLadder(
      `name: seeding
data:
  sources: [ { name: profile, classification: synthetic, file: ${EXAMPLES}/data/transactions.profile.json } ]
layers:
  - name: seeding
    approval: auto
    data: { source: profile, rows: ${rows}, seed: 11, policy: ${EXAMPLES}/data/masking/synthetic.yaml }
    gates: []
`,
      'seeding.yaml',
    );
    const a = await startPromotion(client, {
      ladder: seeding,
      layers: seeding.layers,
      candidate,
      initiator: 'bench',
      taskQueue,
      artifacts,
    });
    const populating = async () => {
      const d = await client.workflow.getHandle(`${a}.seeding`).describe();
      return (d.raw.pendingActivities ?? []).some(
        (x) =>
          x.activityType?.name === 'populateEnvironment' &&
          x.state === temporal.api.enums.v1.PendingActivityState.PENDING_ACTIVITY_STATE_STARTED,
      );
    };
    while (!(await populating())) await new Promise((r) => setTimeout(r, 100));
    const windowStart = Date.now();
    const statusMs: number[] = [];
    const statusAt: number[] = []; // when each probe started, ms into the window
    const updateMs: number[] = [];
    while (await populating()) {
      let t = performance.now();
      await getStatus(client, b);
      statusAt.push(Date.now() - windowStart - (performance.now() - t));
      statusMs.push(performance.now() - t);
      t = performance.now();
      await approve(client, b, { layer: 'parked', actor: 'mallory', reason: 'bench probe' }).catch(() => undefined);
      updateMs.push(performance.now() - t);
      await new Promise((r) => setTimeout(r, 1000));
    }
    const windowEnd = Date.now();
    const rss = peakRssMiB(worker.pid!);
    // B's layer's workflow tasks in the window, scheduled → completed, from its history.
    const events = (await client.workflow.getHandle(`${b}.parked`).fetchHistory()).events ?? [];
    const time = (e: (typeof events)[number]) => tsToDate(e.eventTime!).getTime();
    const scheduledAt = new Map<string, number>();
    const taskMs: number[] = [];
    for (const e of events) {
      if (e.workflowTaskScheduledEventAttributes) scheduledAt.set(String(e.eventId), time(e));
      const done = e.workflowTaskCompletedEventAttributes;
      if (done) {
        const at = scheduledAt.get(String(done.scheduledEventId));
        if (at !== undefined && at >= windowStart && at <= windowEnd) taskMs.push(time(e) - at);
      }
    }
    const max = (xs: number[]) => (xs.length ? Math.max(...xs) : NaN);
    const p95 = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.min(xs.length - 1, Math.floor(0.95 * xs.length))];
    const row = (name: string, xs: number[], target: number) =>
      xs.length
        ? [
            name,
            median(xs).toFixed(0),
            p95(xs).toFixed(0),
            max(xs).toFixed(0),
            `${xs.filter((x) => x >= target).length}/${xs.length}`,
            `< ${target}`,
          ]
        : [name, '—', '—', '—', '0/0', `< ${target}`];
    const ok = (b: boolean) => (b ? 'ok' : 'MISSED');
    console.log(
      `engine: ${rows.toLocaleString('en-US')} rows seeded by a real worker; ${statusMs.length} probes over ${((windowEnd - windowStart) / 1000).toFixed(0)} s`,
    );
    console.log(
      table([
        ['', 'median', 'p95', 'max', 'over target', 'target'],
        row('status of another promotion (ms)', statusMs, STATUS_TARGET_MS),
        row('refused approval Update round trip (ms)', updateMs, TASK_TARGET_MS),
        row('its workflow tasks, from history (ms)', taskMs, TASK_TARGET_MS),
      ]),
    );
    console.log(`seed window (populate activity running): ${((windowEnd - windowStart) / 1000).toFixed(1)} s`);
    const slowest = statusMs
      .map((ms, i) => ({ ms, i }))
      .sort((x, y) => y.ms - x.ms)
      .slice(0, 3)
      .map(({ ms, i }) => `#${i + 1} at +${(statusAt[i] / 1000).toFixed(1)} s: ${ms.toFixed(0)} ms`);
    console.log(`slowest status probes: ${slowest.join('; ')}`);
    console.log(
      `worker peak RSS (VmHWM): ${rss.toFixed(0)} MiB (target < ${RSS_TARGET_MIB}) ${ok(rss < RSS_TARGET_MIB)}`,
    );
    console.log(
      `status max ${max(statusMs).toFixed(0)} ms ${ok(max(statusMs) < STATUS_TARGET_MS)}; workflow tasks max ${max(taskMs).toFixed(0)} ms ${ok(max(taskMs) < TASK_TARGET_MS)}; Update max ${max(updateMs).toFixed(0)} ms ${ok(max(updateMs) < TASK_TARGET_MS)}`,
    );
  } finally {
    worker?.kill('SIGTERM');
    if (worker && worker.exitCode === null) await new Promise((r) => worker!.once('exit', r));
    await connection.close();
    await server.stop();
    const provider = new LocalProvider(home);
    if (fs.existsSync(provider.envsDir))
      for (const layer of fs.readdirSync(provider.envsDir))
        if (/^[a-z][a-z0-9-]*$/.test(layer)) await provider.teardown(layer).catch(() => undefined);
    removeSealedTree(strataPaths(home).artifacts);
    fs.rmSync(home, { recursive: true, force: true });
  }
}

export async function run(args: string[]): Promise<void> {
  const rows = flag(args, 'rows', 2_000_000);
  if (args.includes('--engine')) return engine(rows);
  const rounds = flag(args, 'rounds', 1);
  const policy = !args.includes('--no-policy');
  console.log(
    `populate ${rows.toLocaleString('en-US')} rows (synthesis${policy ? ', masking' : ''}, PII scan, fidelity), ${rounds} round(s), alternating order`,
  );
  const alone: ChildResult[] = [];
  const worker: ChildResult[] = [];
  for (let i = 0; i < rounds; i++) {
    const order: Array<'alone' | 'worker'> = i % 2 === 0 ? ['alone', 'worker'] : ['worker', 'alone'];
    for (const mode of order) (mode === 'alone' ? alone : worker).push(runChild(mode, rows, policy));
  }
  const a = median(alone.map((r) => r.seconds));
  const w = median(worker.map((r) => r.seconds));
  const ratio = w / a;
  const rssAlone = Math.max(...alone.map((r) => r.maxRssMiB));
  const rssWorker = Math.max(...worker.map((r) => r.maxRssMiB));
  const lag = Math.max(...worker.map((r) => r.maxLagMs ?? 0));
  console.log(
    table([
      ['', 'seconds', 'peak RSS MiB', 'max loop delay ms'],
      ['alone (no thread)', a.toFixed(1), rssAlone.toFixed(0), '—'],
      ['through the worker thread', w.toFixed(1), rssWorker.toFixed(0), lag.toFixed(0)],
    ]),
  );
  const ok = (b: boolean) => (b ? 'ok' : 'MISSED');
  console.log(`ratio worker/alone: ${ratio.toFixed(2)}× (target ≤ ${RATIO_TARGET}×) ${ok(ratio <= RATIO_TARGET)}`);
  console.log(
    `worker peak RSS: ${rssWorker.toFixed(0)} MiB (target < ${RSS_TARGET_MIB}) ${ok(rssWorker < RSS_TARGET_MIB)}`,
  );
  console.log(
    `worst event-loop delay in the worker: ${lag.toFixed(0)} ms (target < ${LAG_TARGET_MS}) ${ok(lag < LAG_TARGET_MS)}`,
  );
}

if (process.argv[2] === '--child') {
  child(process.argv[3], process.argv[4], process.argv[5]).catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
