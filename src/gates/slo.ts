import { runLoad } from '../load/generator';
import { traceSampleRate } from '../tracing/settings';
import { intendedCount, type LoadProfile } from '../load/profile';
import { environmentBodies, replayBodies } from '../load/requests';
import { type SloOptions, sloConfig } from './slo.config';
import type { GateContext, MeasuredGate } from './types';

// SLOs under representative load: an open-model run (src/load) against the running candidate;
// passes when p99 <= threshold (ms), the error rate <= errorRate and the achieved rate >=
// achievedRate % of the target. The run is stored under $STRATA_HOME/runs/<id> (replayable).

/** Runs the profile against the candidate and stores the run. Shared by the slo and chaos gates. */
export async function storedLoadRun(ctx: GateContext<'loadRuns'>, profile: LoadProfile, extra: { note?: string } = {}) {
  const { runId, store } = ctx.loadRuns;
  const bodies =
    profile.requests.source === 'replay'
      ? replayBodies(profile.requests.file)
      : environmentBodies({
          dbPath: ctx.dbPath,
          input: ctx.candidate.input,
          seed: profile.seed,
          batch: profile.batch,
          requests: intendedCount(profile),
        });
  const results = await runLoad({
    baseUrl: ctx.url,
    profile,
    bodies: (i) => bodies.body(i),
    runId,
    signal: ctx.signal,
    onProgress: (p) => ctx.heartbeat(p),
    // Sampled requests carry a traceparent: the candidate continues the gate's trace.
    traceSampleRate: traceSampleRate(),
  });
  store.save({
    id: runId,
    createdAt: results.startedAt,
    layer: ctx.layer.name,
    profile,
    seed: profile.seed,
    candidate: { name: ctx.candidate.name, version: ctx.candidate.version, digest: ctx.candidate.digest },
    target: ctx.url,
    results,
    ...(extra.note ? { note: extra.note } : {}),
  } as Parameters<typeof store.save>[0]);
  // Cancelled (the promotion was aborted): the partial run is stored; the gate has no verdict.
  if (ctx.signal.aborted) throw ctx.signal.reason ?? new Error('cancelled');
  return { runId, results };
}

const pct = (x: number) => `${Math.round(x * 10_000) / 100}%`;

export const sloGate: MeasuredGate<SloOptions, 'loadRuns'> = {
  ...sloConfig,
  needs: ['loadRuns'],
  async run(ctx, spec) {
    const { runId, results } = await storedLoadRun(ctx, spec.options.load);
    const p99 = results.latencyMs.p99;
    const threshold = spec.threshold!;
    const checks = [
      p99 !== null && p99 <= threshold,
      results.errors.rate <= spec.options.errorRate,
      results.achievedRatePercent >= spec.options.achievedRate,
    ];
    const reachable = results.requests.answered > 0;
    const detail = reachable
      ? `p99 ${p99} ms ${checks[0] ? '≤' : '>'} ${threshold} ms; errors ${pct(results.errors.rate)} ${checks[1] ? '≤' : '>'} ${pct(spec.options.errorRate)}; ` +
        `achieved ${results.achievedRatePercent.toFixed(1)}% ${checks[2] ? '≥' : '<'} ${spec.options.achievedRate}% of ${results.targetRate.toFixed(1)} req/s; run ${runId}`
      : `the candidate at ${ctx.url} answered none of ${results.requests.sent} requests (${results.errors.connection} connection errors, ${results.errors.timeouts} timeouts); run ${runId}`;
    return {
      name: spec.name,
      type: spec.type,
      passed: reachable && checks.every(Boolean),
      value: p99,
      threshold,
      unit: 'ms',
      detail,
      runId,
      measured: {
        p50: results.latencyMs.p50,
        p90: results.latencyMs.p90,
        p99,
        p999: results.latencyMs.p999,
        errorRate: results.errors.rate,
        achievedRatePercent: results.achievedRatePercent,
        throughput: results.throughput,
      },
    };
  },
};
