// Strata's Prometheus metrics: one registry, every metric defined here once. Labels are bounded by
// the ladder and the code (layer, gate, phase, outcome, scenario, detector, quantile) — never a
// promotion id, a run id or a version, so a long-lived worker does not grow a series per promotion.
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

export const metricsRegistry = new Registry();
collectDefaultMetrics({ register: metricsRegistry, prefix: 'strata_worker_' });

const registers = [metricsRegistry];

/** Durations from a second to a week: phases run for seconds, approvals wait for days. */
const LONG_BUCKETS = [1, 5, 15, 60, 300, 900, 3600, 4 * 3600, 24 * 3600, 3 * 24 * 3600, 7 * 24 * 3600];

export const strataMetrics = {
  // Cluster facts, read from Temporal's visibility by the collector (temporal-collector.ts): every
  // worker reports the namespace's view, so dashboards aggregate them with max(), not sum().
  promotionsStarted: new Counter({
    name: 'strata_promotions_started_total',
    help: 'Promotions started on this task queue since the worker started (from Temporal visibility).',
    registers,
  }),
  promotionsFinished: new Counter({
    name: 'strata_promotions_finished_total',
    help: 'Promotions finished since the worker started, by outcome: promoted, failed, aborted (from Temporal visibility).',
    labelNames: ['outcome'] as const,
    registers,
  }),
  pendingApprovals: new Gauge({
    name: 'strata_pending_approvals',
    help: 'Layers awaiting approval now, by layer.',
    labelNames: ['layer'] as const,
    registers,
  }),
  approvalWaiting: new Gauge({
    name: 'strata_approval_waiting_seconds',
    help: 'How long the oldest approval of a layer has been waiting now, by layer.',
    labelNames: ['layer'] as const,
    registers,
  }),
  layerPhaseEntered: new Gauge({
    name: 'strata_layer_phase_entered_timestamp_seconds',
    help: 'When a running layer workflow entered its current phase (unix seconds), by layer and phase.',
    labelNames: ['layer', 'phase'] as const,
    registers,
  }),
  // Activity facts, recorded by the worker that ran the activity: aggregate them with sum().
  approvalWait: new Histogram({
    name: 'strata_approval_wait_seconds',
    help: 'Time a layer waited for its approval decision, by layer and outcome (promoted, rolled-back).',
    labelNames: ['layer', 'outcome'] as const,
    buckets: LONG_BUCKETS,
    registers,
  }),
  layerPhaseDuration: new Histogram({
    name: 'strata_layer_phase_duration_seconds',
    help: 'Time a layer spent in the work of a phase (its activities), by layer and phase.',
    labelNames: ['layer', 'phase'] as const,
    buckets: LONG_BUCKETS,
    registers,
  }),
  layersFinished: new Counter({
    name: 'strata_layers_finished_total',
    help: 'Layers that finished, by layer and outcome (promoted, rolled-back).',
    labelNames: ['layer', 'outcome'] as const,
    registers,
  }),
  gateValue: new Gauge({
    name: 'strata_gate_value',
    help: 'The value the last run of a gate measured, by layer and gate (in the gate unit).',
    labelNames: ['layer', 'gate', 'type'] as const,
    registers,
  }),
  gateThreshold: new Gauge({
    name: 'strata_gate_threshold',
    help: 'The threshold of the last run of a gate, by layer and gate.',
    labelNames: ['layer', 'gate', 'type'] as const,
    registers,
  }),
  gatePassed: new Gauge({
    name: 'strata_gate_passed',
    help: 'Whether the last run of a gate passed (1) or failed (0), by layer and gate.',
    labelNames: ['layer', 'gate', 'type'] as const,
    registers,
  }),
  gateVerdicts: new Counter({
    name: 'strata_gate_verdicts_total',
    help: 'Gate runs by layer, gate, type and verdict (pass, fail).',
    labelNames: ['layer', 'gate', 'type', 'verdict'] as const,
    registers,
  }),
  drillRto: new Gauge({
    name: 'strata_drill_rto_seconds',
    help: 'Recovery time measured by the last drill, by layer and scenario.',
    labelNames: ['layer', 'scenario'] as const,
    registers,
  }),
  drillRpo: new Gauge({
    name: 'strata_drill_rpo_seconds',
    help: 'Recovery point (data loss window) measured by the last drill, by layer and scenario.',
    labelNames: ['layer', 'scenario'] as const,
    registers,
  }),
  drills: new Counter({
    name: 'strata_drills_total',
    help: 'Drills that ended with a report, by layer, scenario and verdict (met, missed).',
    labelNames: ['layer', 'scenario', 'verdict'] as const,
    registers,
  }),
  drillLastPassed: new Gauge({
    name: 'strata_drill_last_passed_timestamp_seconds',
    help: 'When a drill last met its objectives (unix seconds), by layer and scenario.',
    labelNames: ['layer', 'scenario'] as const,
    registers,
  }),
  loadLatency: new Gauge({
    name: 'strata_load_latency_seconds',
    help: 'Latency quantiles of the last load run of a gate, by layer, gate and quantile.',
    labelNames: ['layer', 'gate', 'quantile'] as const,
    registers,
  }),
  loadAchievedRate: new Gauge({
    name: 'strata_load_achieved_rate_ratio',
    help: 'Share of the target request rate the last load run of a gate achieved (0..1), by layer and gate.',
    labelNames: ['layer', 'gate'] as const,
    registers,
  }),
  loadErrorRate: new Gauge({
    name: 'strata_load_error_rate_ratio',
    help: 'Share of requests of the last load run of a gate that failed (0..1), by layer and gate.',
    labelNames: ['layer', 'gate'] as const,
    registers,
  }),
  loadThroughput: new Gauge({
    name: 'strata_load_throughput_rps',
    help: 'Requests per second the last load run of a gate answered, by layer and gate.',
    labelNames: ['layer', 'gate'] as const,
    registers,
  }),
  piiFindings: new Counter({
    name: 'strata_pii_findings_total',
    help: 'PII values found when populating a layer, by layer and detector.',
    labelNames: ['layer', 'detector'] as const,
    registers,
  }),
  populations: new Counter({
    name: 'strata_populations_total',
    help: 'Layer populations by layer and outcome (populated, or the refusal: PiiFound, FidelityBelowThreshold, ...).',
    labelNames: ['layer', 'outcome'] as const,
    registers,
  }),
  fidelity: new Gauge({
    name: 'strata_fidelity_score',
    help: 'Overall fidelity of the last synthetic population of a layer (0..1).',
    labelNames: ['layer'] as const,
    registers,
  }),
  fidelityThreshold: new Gauge({
    name: 'strata_fidelity_threshold',
    help: 'The fidelity threshold of the last synthetic population of a layer (0..1).',
    labelNames: ['layer'] as const,
    registers,
  }),
};

/** Every metric name this registry exports, as Prometheus sees them (histograms with their series). */
export async function exportedMetricNames(): Promise<Set<string>> {
  const names = new Set<string>();
  for (const m of await metricsRegistry.getMetricsAsJSON()) {
    names.add(m.name);
    if (String(m.type) === 'histogram') for (const s of ['_bucket', '_sum', '_count']) names.add(m.name + s);
  }
  return names;
}
