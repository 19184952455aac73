// Many seeds: a layer that declares `seeds: [...]` evaluates the candidate on data generated with
// each seed (one child workflow per seed) and gates on the mean and the spread of the metric.
// Pure: the layer workflow calls it with the children's results.

import type { GateResult, GateCheck } from './status';
import type { GateSpec } from './ladder';

/** What one seed's child workflow returns. */
export interface SeedRunResult {
  seed: number;
  /** The metric on this seed's data; null when it could not be measured (the detail says why). */
  value: number | null;
  detail: string;
  rows?: number;
  fidelity?: number;
}

export const DEFAULT_MAX_STD = 0.05;

/** Workflow id of one seed's run: derived, so a replayed layer finds the same child. */
export function seedRunWorkflowId(layerWorkflowId: string, seed: number): string {
  return `${layerWorkflowId}.seed-${seed}`;
}

const round = (x: number, digits = 4): number => Math.round(x * 10 ** digits) / 10 ** digits;

/** Mean and sample standard deviation (n − 1). */
export function meanAndStd(values: readonly number[]): { mean: number; std: number } {
  const n = values.length;
  if (n === 0) return { mean: NaN, std: NaN };
  const mean = values.reduce((a, b) => a + b, 0) / n;
  const variance = n < 2 ? 0 : values.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1);
  return { mean, std: Math.sqrt(variance) };
}

/**
 * The `seeds` gate: passes when every seed was measured, the mean is at least the threshold and
 * the standard deviation at most `maxStd`.
 */
export function seedsGateResult(gate: GateSpec, runs: readonly SeedRunResult[]): GateResult {
  const metric = String(gate.options.metric ?? 'auc');
  const maxStd = typeof gate.options.maxStd === 'number' ? gate.options.maxStd : DEFAULT_MAX_STD;
  const threshold = gate.threshold ?? null;
  const measured = runs.filter((r): r is SeedRunResult & { value: number } => r.value !== null);
  const unmeasured = runs.filter((r) => r.value === null);
  const checks: GateCheck[] = runs.map((r) => ({
    name: `seed ${r.seed}`,
    passed: r.value !== null && (threshold === null || r.value >= threshold),
    observed:
      r.value === null
        ? `not measured: ${r.detail}`
        : `${metric} ${r.value}${r.fidelity !== undefined ? `, fidelity ${r.fidelity.toFixed(3)}` : ''}${r.rows !== undefined ? `, ${r.rows} rows` : ''}`,
  }));
  const { mean, std } = meanAndStd(measured.map((r) => r.value));
  const result: GateResult = {
    name: gate.name,
    type: gate.type,
    passed: false,
    value: measured.length > 0 ? round(mean) : null,
    threshold,
    unit: `mean ${metric}`,
    detail: '',
    measured: {
      mean: measured.length > 0 ? round(mean) : null,
      std: measured.length > 0 ? round(std) : null,
      seeds: runs.length,
      maxStd,
    },
    checks,
  };
  if (unmeasured.length > 0) {
    result.detail = `${unmeasured.length} of ${runs.length} seeds not measured (seed ${unmeasured.map((r) => r.seed).join(', ')}): ${unmeasured[0].detail}`;
    return result;
  }
  const meanOk = threshold === null || mean >= threshold;
  const stdOk = std <= maxStd;
  result.passed = meanOk && stdOk && runs.length > 0;
  result.detail =
    `${metric} over ${runs.length} seeds: mean ${round(mean)} ${meanOk ? '>=' : '<'} ${threshold}, ` +
    `std ${round(std)} ${stdOk ? '<=' : '>'} ${maxStd} (${measured.map((r) => r.value).join(', ')})`;
  return result;
}
