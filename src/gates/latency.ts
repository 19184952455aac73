import { performance } from 'node:perf_hooks';
import type { GateResult } from '../domain/status';
import { percentile, roundTo } from './metrics';
import { PredictClient } from './predict-client';
import { type FeatureRecord, readRecords } from '../envdb/records';
import { openReadOnly } from '../envdb/sqlite';
import { type LatencyOptions, latencyConfig, latencyOptions } from './latency.config';
import type { GateContext, MeasuredGate } from './types';

// Latency: percentile of N real HTTP requests to the running candidate. Passes when the
// measured percentile (ms) <= threshold.

/** More failed requests than this fraction fail the gate, whatever the percentile. */
export const MAX_ERROR_RATE = 0.01;
/** Distinct records sent, cycled through; enough variety without reading a large table. */
const SAMPLE_RECORDS = 1000;
const HEARTBEAT_EVERY_MS = 1000;

function readSample(dbPath: string, ctx: GateContext, size: number): FeatureRecord[] {
  const db = openReadOnly(dbPath);
  try {
    return Array.from(readRecords(db, ctx.candidate.input, { withLabel: false, limit: size }), (r) => r.record);
  } finally {
    db.close();
  }
}

function summariseErrors(errors: Map<string, number>): string {
  const top = [...errors.entries()].sort((a, b) => b[1] - a[1]);
  const shown = top.slice(0, 3).map(([reason, n]) => `${n}× ${reason}`);
  if (top.length > 3) shown.push(`${top.length - 3} other kinds`);
  return shown.join('; ');
}

export const latencyGate: MeasuredGate<LatencyOptions> = {
  ...latencyConfig,
  needs: [],
  async run(ctx, spec) {
    ctx.signal.throwIfAborted();
    const opts = latencyOptions.parse(spec.options ?? {});
    const threshold = spec.threshold ?? null;
    const label = `p${opts.percentile}`;
    const result = { name: spec.name, type: spec.type, threshold, unit: 'ms' };
    const unmeasured = (detail: string): GateResult => ({ ...result, passed: false, value: null, detail });
    if (threshold === null) return unmeasured('the latency gate needs a threshold in ms (e.g. threshold: 250)');

    let sample: FeatureRecord[];
    try {
      sample = readSample(ctx.dbPath, ctx, Math.min(opts.requests, SAMPLE_RECORDS));
    } catch (err) {
      return unmeasured(`cannot read records to send: ${(err as Error).message}`);
    }
    if (sample.length === 0) return unmeasured(`no records in ${ctx.candidate.input.table} to send`);

    const latencies: number[] = [];
    const errors = new Map<string, number>();
    let failed = 0;
    let next = 0;
    let lastBeat = performance.now();
    const client = new PredictClient(ctx.url, { signal: ctx.signal, connections: opts.concurrency });
    const worker = async (): Promise<void> => {
      for (let i = next++; i < opts.requests; i = next++) {
        const started = performance.now();
        const outcome = await client.predict([sample[i % sample.length]], opts.timeoutMs);
        const elapsed = performance.now() - started;
        if (outcome.ok) latencies.push(elapsed);
        else {
          failed++;
          errors.set(outcome.reason, (errors.get(outcome.reason) ?? 0) + 1);
        }
        if (performance.now() - lastBeat >= HEARTBEAT_EVERY_MS) {
          lastBeat = performance.now();
          ctx.heartbeat({ gate: spec.name, sent: latencies.length + failed, failed });
        }
      }
    };
    try {
      await Promise.all(Array.from({ length: Math.min(opts.concurrency, opts.requests) }, worker));
    } finally {
      await client.close();
    }

    const errorRate = failed / opts.requests;
    const errorText =
      failed === 0 ? '0 errors' : `${failed} error${failed === 1 ? '' : 's'} (${summariseErrors(errors)})`;
    const setting = `${opts.requests} requests to ${ctx.url}, concurrency ${opts.concurrency}`;
    if (latencies.length === 0) return unmeasured(`every request failed: ${setting}; ${errorText}`);

    const value = roundTo(percentile(latencies, opts.percentile), 2);
    const tooManyErrors = errorRate > MAX_ERROR_RATE;
    const passed = value <= threshold && !tooManyErrors;
    const verdict = tooManyErrors
      ? `; error rate ${(errorRate * 100).toFixed(1)} % exceeds ${MAX_ERROR_RATE * 100} %`
      : '';
    return {
      ...result,
      passed,
      value,
      detail: `${label} ${value} ms ${value <= threshold ? '<=' : '>'} ${threshold} ms over ${setting}; ${errorText}${verdict}`,
    };
  },
};
