import { request } from 'undici';
import { ToxiproxyClient } from '../chaos/client';
import { applyFault, describeFault } from '../chaos/faults';
import { parseDuration } from '../domain/duration';
import { environmentBodies } from '../load/requests';
import { storedLoadRun } from './slo';
import { type ChaosOptions, chaosConfig } from './chaos.config';
import type { GateBase, MeasuredGate } from './types';

// Chaos: a real fault between the candidate and its dependency (Toxiproxy), or the candidate's
// process killed, while a load runs. Passes only when the error rate and p99 stay within the
// degradation budget while the fault holds, and the candidate is back to normal (healthy,
// undegraded answers) within `recovery` after the fault is lifted.

/** Time until one request answers 200 without the degraded mark, polling every 25 ms. */
async function timeToNormal(ctx: GateBase, limitMs: number): Promise<number | null> {
  const body = environmentBodies({
    dbPath: ctx.dbPath,
    input: ctx.candidate.input,
    seed: 1,
    batch: 1,
    requests: 1,
  }).body(0);
  const started = performance.now();
  while (performance.now() - started < limitMs) {
    try {
      const res = await request(`${ctx.url}/predict`, {
        method: 'POST',
        body,
        headers: { 'content-type': 'application/json' },
        headersTimeout: 1000,
        bodyTimeout: 1000,
      });
      await res.body.dump();
      if (res.statusCode === 200 && !res.headers['x-strata-degraded']) return Math.round(performance.now() - started);
    } catch {
      // not yet
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  return null;
}

const pct = (x: number) => `${Math.round(x * 10_000) / 100}%`;

export const chaosGate: MeasuredGate<ChaosOptions, 'chaos' | 'loadRuns'> = {
  ...chaosConfig,
  needs: ['chaos', 'loadRuns'],
  async run(ctx, spec) {
    const { fault, budget } = spec.options;
    const recoveryMs = parseDuration(spec.options.recovery)!;
    const base = { name: spec.name, type: spec.type, threshold: budget.p99, unit: 'ms' };
    const chaos = ctx.chaos;
    let undo: () => Promise<void>;
    if (fault.type === 'kill-candidate') {
      // The supervisor's part: the candidate is killed, then started again at once.
      await chaos.killCandidate();
      const restarting = chaos.restartCandidate();
      undo = () => restarting;
    } else {
      undo = await applyFault(new ToxiproxyClient(chaos.proxyApiUrl), chaos.proxyName, fault);
    }
    let run: Awaited<ReturnType<typeof storedLoadRun>>;
    try {
      run = await storedLoadRun(ctx, spec.options.load, { note: `chaos: ${describeFault(fault)}` });
    } finally {
      await undo();
    }
    const recovered = await timeToNormal(ctx, Math.max(2 * recoveryMs, 2000));
    const { results, runId } = run;
    const p99 = results.latencyMs.p99;
    const withinErrors = results.errors.rate <= budget.errorRate;
    const withinP99 = p99 !== null && p99 <= budget.p99;
    const withinRecovery = recovered !== null && recovered <= recoveryMs;
    const detail =
      `${describeFault(fault)}: errors ${pct(results.errors.rate)} ${withinErrors ? '≤' : '>'} ${pct(budget.errorRate)}, ` +
      `p99 ${p99 ?? '-'} ms ${withinP99 ? '≤' : '>'} ${budget.p99} ms while it held; ` +
      `normal again ${recovered === null ? `not within ${2 * recoveryMs} ms` : `after ${recovered} ms`} ${withinRecovery ? '≤' : '>'} ${spec.options.recovery}; run ${runId}`;
    return {
      ...base,
      passed: withinErrors && withinP99 && withinRecovery,
      value: p99,
      detail,
      runId,
      measured: {
        errorRate: results.errors.rate,
        p99,
        p50: results.latencyMs.p50,
        recoveryMs: recovered,
        throughput: results.throughput,
      },
    };
  },
};
