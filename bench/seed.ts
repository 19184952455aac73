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

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseLadder } from '../src/config/ladder';
import { ApprovalRegistry } from '../src/data/approvals';
import { preparePopulation } from '../src/data/populate';
import { runPopulationInThread } from '../src/data/populate-runner';
import { tsxLoaderUrl } from '../src/tools/processes';
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

export async function run(args: string[]): Promise<void> {
  const rows = flag(args, 'rows', 2_000_000);
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
