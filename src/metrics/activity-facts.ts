// What a finished activity tells Prometheus: the activity's type, input and result are the facts
// (a gate's verdict, a drill's report, a population's PII scan). Recorded by the worker that ran
// the activity, once per completion (a retried attempt that failed records nothing).
import type { DataSummary } from '../domain/data';
import type { DrillReport } from '../domain/drill';
import type { LayerSpec } from '../domain/ladder';
import type { GateResult } from '../domain/status';
import { strataMetrics as m } from './registry';

/** The layer phase whose work an activity type does (the phases of workflows/layer.ts). */
export const PHASE_OF_ACTIVITY: Record<string, string> = {
  provisionEnvironment: 'provisioning',
  populateEnvironment: 'seeding',
  seedEnvironment: 'seeding',
  seedVariant: 'seeding',
  deployCandidate: 'deploying',
  runGate: 'testing',
  evaluateSeed: 'testing',
  promoteRelease: 'promoting',
  rollbackEnvironment: 'rolling-back',
};

type Args = { layer?: Partial<LayerSpec> | string; gate?: { name?: string; type?: string }; report?: DrillReport };

function layerName(input: Args | undefined): string | undefined {
  const l = input?.layer;
  return typeof l === 'string' ? l : l?.name;
}

/** Records the facts of one completed activity; `seconds` is how long it ran. */
export function recordActivityCompleted(type: string, input: unknown, output: unknown, seconds: number): void {
  const args = (input ?? {}) as Args;
  const layer = layerName(args);
  const phase = PHASE_OF_ACTIVITY[type];
  if (layer && phase) m.layerPhaseDuration.observe({ layer, phase }, seconds);
  if (!layer && type !== 'drillSaveReport') return;
  switch (type) {
    case 'runGate':
      recordGate(layer!, output as GateResult);
      break;
    case 'populateEnvironment':
    case 'seedEnvironment':
    case 'seedVariant':
      recordPopulation(layer!, (output as { data?: DataSummary } | undefined)?.data);
      break;
    case 'promoteRelease':
      m.layersFinished.inc({ layer: layer!, outcome: 'promoted' });
      break;
    case 'rollbackEnvironment':
      m.layersFinished.inc({ layer: layer!, outcome: 'rolled-back' });
      break;
    case 'drillSaveReport':
      if (args.report) recordDrill(args.report);
      break;
  }
}

/** A population the data plane refused: the summary travels in the failure's details. */
export function recordActivityFailed(type: string, input: unknown, details: unknown): void {
  const layer = layerName(input as Args);
  if (!layer || !PHASE_OF_ACTIVITY[type] || PHASE_OF_ACTIVITY[type] !== 'seeding') return;
  const summary = Array.isArray(details) ? (details[0] as DataSummary | undefined) : undefined;
  if (summary && typeof summary === 'object' && 'policy' in summary) recordPopulation(layer, summary);
}

export function recordGate(layer: string, g: GateResult | undefined): void {
  if (!g || typeof g.name !== 'string') return;
  const labels = { layer, gate: g.name, type: g.type };
  m.gatePassed.set(labels, g.passed ? 1 : 0);
  m.gateVerdicts.inc({ ...labels, verdict: g.passed ? 'pass' : 'fail' });
  if (typeof g.value === 'number') m.gateValue.set(labels, g.value);
  if (typeof g.threshold === 'number') m.gateThreshold.set(labels, g.threshold);
  const measured = g.measured;
  if (!g.runId || !measured) return;
  // A traffic or chaos gate ran a load: its quantiles (ms) and rates.
  const gate = { layer, gate: g.name };
  for (const [key, quantile] of [
    ['p50', '0.5'],
    ['p90', '0.9'],
    ['p99', '0.99'],
    ['p999', '0.999'],
  ] as const) {
    const ms = measured[key];
    if (typeof ms === 'number') m.loadLatency.set({ ...gate, quantile }, ms / 1000);
  }
  if (typeof measured.achievedRatePercent === 'number')
    m.loadAchievedRate.set(gate, measured.achievedRatePercent / 100);
  if (typeof measured.errorRate === 'number') m.loadErrorRate.set(gate, measured.errorRate);
  if (typeof measured.throughput === 'number') m.loadThroughput.set(gate, measured.throughput);
}

export function recordPopulation(layer: string, data: DataSummary | undefined): void {
  m.populations.inc({ layer, outcome: data?.refused ?? 'populated' });
  if (!data) return;
  for (const f of data.pii?.findings ?? []) m.piiFindings.inc({ layer, detector: f.detector }, f.count);
  // A clean scan still leaves a series at zero, so "no PII" differs from "never scanned".
  if (data.pii && data.pii.findings.length === 0) m.piiFindings.inc({ layer, detector: 'any' }, 0);
  if (data.fidelity) {
    m.fidelity.set({ layer }, data.fidelity.overall);
    m.fidelityThreshold.set({ layer }, data.fidelity.threshold);
  }
}

export function recordDrill(r: DrillReport, now = Date.now()): void {
  const labels = { layer: r.layer, scenario: r.scenario };
  m.drillRto.set(labels, r.verdict.rto.measuredMs / 1000);
  m.drillRpo.set(labels, r.verdict.rpo.measuredMs / 1000);
  m.drills.inc({ ...labels, verdict: r.verdict.met ? 'met' : 'missed' });
  if (r.verdict.met) m.drillLastPassed.set(labels, now / 1000);
}
