// `npm run bench -- load [--seconds N] [--rounds N] [--connections N] [--overload N]`   (defaults 3, 7, 32, 250000)
//
// 1. Maximum throughput: our generator (runLoad, an open model asked for far more than the
//    target can answer, throttled to `connections` in flight) against autocannon (the baseline,
//    a closed loop on the same number of connections), on the same local target: a minimal
//    node:http server in a child process answering POST /predict at once. Alternating rounds
//    (the order flips each round), medians. Target: ≥ 0.9× autocannon.
// 2. Rate accuracy at half that maximum: runLoad at half its own median maximum, achieved rate
//    (requests sent per second) against the target rate. Target: within ±2 %.

import { type ChildProcess, spawn } from 'node:child_process';
import os from 'node:os';
import readline from 'node:readline';
import autocannon from 'autocannon';
import { type LoadResult, runLoad } from '../src/load/generator';
import { loadProfileSchema } from '../src/load/profile';
import { flag, median, table } from './support';

const THROUGHPUT_TARGET = 0.9;
const RATE_TOLERANCE_PERCENT = 2;

const TARGET_SOURCE = `
const http = require('node:http');
const answer = JSON.stringify({ scores: [0.5] });
const server = http.createServer((req, res) => {
  req.on('data', () => {});
  req.on('end', () => {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': answer.length });
    res.end(answer);
  });
});
server.keepAliveTimeout = 60000;
server.listen(0, '127.0.0.1', () => console.log('http://127.0.0.1:' + server.address().port));
`;

const BODY = JSON.stringify({
  records: [
    {
      amount: 42.5,
      merchant_risk: 0.2,
      account_age_days: 300,
      hour: 14,
      is_foreign: false,
      velocity_24h: 3,
      channel: 'web',
    },
  ],
});

async function startTarget(): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(process.execPath, ['-e', TARGET_SOURCE], { stdio: ['ignore', 'pipe', 'inherit'] });
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('bench target did not start in 10 s')), 10_000);
    readline.createInterface({ input: child.stdout! }).once('line', (line) => {
      clearTimeout(timer);
      resolve(line.trim());
    });
  });
  return { url, child };
}

/** Answered requests per second, and this process's CPU time per answered request (µs). */
interface Sample {
  rps: number;
  cpuUsPerRequest: number;
}

async function withCpu(fn: () => Promise<{ rps: number; answered: number }>): Promise<Sample> {
  const before = process.cpuUsage();
  const { rps, answered } = await fn();
  const used = process.cpuUsage(before);
  return { rps, cpuUsPerRequest: (used.user + used.system) / Math.max(1, answered) };
}

/** autocannon's answered requests per second over its run. */
async function autocannonRps(
  url: string,
  connections: number,
  seconds: number,
): Promise<{ rps: number; answered: number }> {
  const result = await autocannon({
    url: `${url}/predict`,
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-strata-run-id': 'bench-autocannon' },
    body: BODY,
    connections,
    duration: seconds,
  });
  if (result.errors || result.non2xx)
    throw new Error(`autocannon saw ${result.errors} errors and ${result.non2xx} non-2xx answers`);
  return { rps: result.requests.total / result.duration, answered: result.requests.total };
}

/** runLoad asked for `rate` requests/s, throttled to `connections` in flight. */
function generator(
  url: string,
  rate: number,
  connections: number,
  seconds: number,
  timeoutMs: number,
): Promise<LoadResult> {
  const profile = loadProfileSchema.parse({
    phases: [{ constant: { rate: Math.round(rate), duration: `${seconds}s` } }],
    maxConcurrency: connections,
    timeoutMs,
  });
  return runLoad({ baseUrl: url, profile, bodies: () => BODY, runId: 'bench-strata' });
}

const rps = (x: number): string => x.toFixed(0);

export async function run(args: string[]): Promise<void> {
  const seconds = flag(args, 'seconds', 3);
  const rounds = flag(args, 'rounds', 7);
  const connections = flag(args, 'connections', 32);
  // Asked of runLoad when measuring its maximum: far above what one node:http process answers.
  const overload = flag(args, 'overload', 250_000);
  const target = await startTarget();
  try {
    console.log(
      `load bench: target node:http in a child process at ${target.url}, ${connections} connections, ${rounds} rounds × ${seconds} s per arm, ` +
        `node ${process.version}, ${os.cpus().length} CPUs`,
    );

    // Warm-up (JIT, connections) for both arms.
    await autocannonRps(target.url, connections, 1);
    await generator(target.url, overload, connections, 1, 500);

    // 1. Maximum throughput, alternating which arm goes first.
    const samples = { autocannon: [] as Sample[], strata: [] as Sample[] };
    for (let r = 0; r < rounds; r++) {
      const arms = r % 2 === 0 ? (['autocannon', 'strata'] as const) : (['strata', 'autocannon'] as const);
      for (const arm of arms) {
        if (arm === 'autocannon')
          samples.autocannon.push(await withCpu(() => autocannonRps(target.url, connections, seconds)));
        else {
          // Far more than the target can answer: the throttle keeps `connections` in flight and
          // drops what waited 500 ms, so this measures what the generator can push through.
          const sample = await withCpu(async () => {
            const result = await generator(target.url, overload, connections, seconds, 500);
            if (result.errors.total - result.errors.dropped > 0)
              throw new Error(`generator saw errors: ${JSON.stringify(result.errors)}`);
            if (result.errors.dropped === 0)
              throw new Error(`--overload ${overload}/s did not saturate the target: raise it`);
            return { rps: result.throughput, answered: result.requests.answered };
          });
          samples.strata.push(sample);
        }
      }
    }
    const med = (arm: keyof typeof samples, key: keyof Sample) => median(samples[arm].map((x) => x[key]));
    const max = { autocannon: med('autocannon', 'rps'), strata: med('strata', 'rps') };
    const cpu = { autocannon: med('autocannon', 'cpuUsPerRequest'), strata: med('strata', 'cpuUsPerRequest') };
    // Each round's two arms ran back to back, so their ratio cancels slow drifts of the machine
    // (other processes come and go on a shared box); its median is the headline figure.
    const pairRatios = samples.strata.map((x, i) => x.rps / samples.autocannon[i].rps);
    const ratio = median(pairRatios);
    console.log(
      `\nmaximum throughput (answered requests/s, ${rounds} alternating rounds; runLoad asked for ${rps(overload)}/s, throttled to ${connections} in flight)`,
    );
    console.log(
      table([
        ['client', 'median req/s', 'rounds', 'client CPU µs/req'],
        [
          'autocannon (baseline)',
          rps(max.autocannon),
          samples.autocannon.map((x) => rps(x.rps)).join(' '),
          cpu.autocannon.toFixed(1),
        ],
        ['strata runLoad', rps(max.strata), samples.strata.map((x) => rps(x.rps)).join(' '), cpu.strata.toFixed(1)],
        [
          'ratio runLoad / autocannon',
          (max.strata / max.autocannon).toFixed(2),
          pairRatios.map((x) => x.toFixed(2)).join(' '),
          (cpu.autocannon / cpu.strata).toFixed(2),
        ],
      ]),
    );
    console.log(
      `runLoad vs autocannon, median of per-round ratios: ${ratio.toFixed(2)}× (${ratio >= THROUGHPUT_TARGET ? 'meets' : 'misses'} ≥ ${THROUGHPUT_TARGET}×); ` +
        `client CPU per request ${(cpu.strata / cpu.autocannon).toFixed(2)}× autocannon's`,
    );

    // 2. Rate accuracy at half the maximum measured above.
    const rate = Math.round(max.strata / 2);
    const accuracy: LoadResult[] = [];
    for (let r = 0; r < 2; r++) accuracy.push(await generator(target.url, rate, 64, 2 * seconds, 2000));
    console.log(
      `\nrate accuracy at half the maximum: ${rate} requests/s for ${2 * seconds} s, ${accuracy.length} runs`,
    );
    const worstWindow = (res: LoadResult): number =>
      Math.max(
        ...res.windows
          .filter((w) => !w.partial && w.intended > 0)
          .map((w) => Math.abs(w.sent - w.intended) / w.intended),
      ) * 100;
    console.log(
      table([
        [
          'run',
          'target req/s',
          'achieved req/s',
          'achieved %',
          'throughput',
          'worst 1-s window',
          'p50 ms',
          'p99 ms',
          'errors',
        ],
        ...accuracy.map((res, i) => [
          String(i + 1),
          res.targetRate.toFixed(1),
          res.achievedRate.toFixed(1),
          `${res.achievedRatePercent.toFixed(2)} %`,
          res.throughput.toFixed(1),
          `±${worstWindow(res).toFixed(2)} %`,
          String(res.latencyMs.p50),
          String(res.latencyMs.p99),
          String(res.errors.total),
        ]),
      ]),
    );
    const deviation = Math.max(...accuracy.map((res) => Math.abs(res.achievedRatePercent - 100)));
    console.log(
      `achieved rate within ±${deviation.toFixed(2)} % of the target (${deviation <= RATE_TOLERANCE_PERCENT ? 'meets' : 'misses'} ±${RATE_TOLERANCE_PERCENT} %)`,
    );
  } finally {
    target.child.kill('SIGTERM');
  }
}
