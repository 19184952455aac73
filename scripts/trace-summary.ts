// A promotion's trace, as Jaeger's query API returns it (/api/traces/<id>), summarised as text:
// the promotion, each layer with its gates, and what each gate's sampled requests reached in the
// system under test. Used by scripts/screenshots.ts for docs/observability.md.

export interface JaegerSpan {
  spanID: string;
  operationName: string;
  references: Array<{ refType: string; spanID: string }>;
  /** Microseconds since the epoch. */
  startTime: number;
  /** Microseconds. */
  duration: number;
  tags: Array<{ key: string; value: unknown }>;
  processID: string;
}

export interface JaegerTrace {
  traceID: string;
  spans: JaegerSpan[];
  processes: Record<string, { serviceName: string }>;
}

/** 0.4 s, 41.2 s, 6 min 12 s. */
export function seconds(us: number): string {
  const s = us / 1e6;
  if (s < 60) return `${s.toFixed(1)} s`;
  return `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
}

const count = (n: number) => n.toLocaleString('en-US');

export function summariseTrace(trace: JaegerTrace): string {
  const byId = new Map(trace.spans.map((s) => [s.spanID, s]));
  const parent = (s: JaegerSpan) => byId.get(s.references.find((r) => r.refType === 'CHILD_OF')?.spanID ?? '');
  const service = (s: JaegerSpan) => trace.processes[s.processID]?.serviceName ?? '?';
  const tag = (s: JaegerSpan, key: string) => s.tags.find((t) => t.key === key)?.value;
  const failed = (s: JaegerSpan) => tag(s, 'otel.status_code') === 'ERROR' || tag(s, 'error') === true;
  const under = (ancestor: JaegerSpan) =>
    trace.spans.filter((s) => {
      for (let p = parent(s); p; p = parent(p)) if (p === ancestor) return true;
      return false;
    });
  const byStart = (a: JaegerSpan, b: JaegerSpan) => a.startTime - b.startTime;

  const services = new Map<string, number>();
  for (const s of trace.spans) services.set(service(s), (services.get(service(s)) ?? 0) + 1);
  const lines = [
    `trace ${trace.traceID}: ${count(trace.spans.length)} spans`,
    `services: ${[...services].map(([name, n]) => `${name} ${count(n)}`).join(' · ')}`,
    '',
  ];
  const row = (prefix: string, name: string, rest: string) => lines.push(`${`${prefix}${name}`.padEnd(44)} ${rest}`);

  const root = trace.spans.find((s) => s.references.length === 0 && s.operationName === 'strata promote');
  const promotion = trace.spans.find((s) => s.operationName === 'RunWorkflow:promotion');
  if (root) row('', root.operationName, seconds(root.duration));
  if (!promotion) return `${lines.join('\n')}\n(no promotion workflow span yet)\n`;
  row('└─ ', promotion.operationName, seconds(promotion.duration));
  const layers = trace.spans.filter((s) => s.operationName === 'RunWorkflow:layer').sort(byStart);
  layers.forEach((layer, i) => {
    const lastLayer = i === layers.length - 1;
    const name = String(tag(layer, 'workflowId') ?? '')
      .split('.')
      .pop();
    const inLayer = under(layer);
    const activities = inLayer.filter((s) => s.operationName.startsWith('RunActivity:')).length;
    row(`   ${lastLayer ? '└─' : '├─'} `, `layer ${name}`, `${seconds(layer.duration)}, ${activities} activities`);
    // Gates that run as child workflows (the seeds gate: one child per seed) have no gate span.
    const children = new Map<string, JaegerSpan[]>();
    for (const s of inLayer.filter((x) => x.operationName.startsWith('RunWorkflow:'))) {
      children.set(s.operationName, [...(children.get(s.operationName) ?? []), s]);
    }
    const gates = inLayer.filter((s) => s.operationName.startsWith('gate ')).sort(byStart);
    const bar = lastLayer ? '   ' : '│  ';
    const items = gates.length + children.size;
    [...children].forEach(([op, runs], j) => {
      const longest = Math.max(...runs.map((r) => r.duration));
      row(
        `   ${bar} ${j === items - 1 ? '└─' : '├─'} `,
        `${runs.length} × ${op}`,
        `child workflows, longest ${seconds(longest)}`,
      );
    });
    gates.forEach((gate, k) => {
      const j = children.size + k;
      const g = under(gate);
      // The candidate's own spans: POST /predict in a service other than the worker's load generator.
      const candidate = g.filter((s) => s.operationName === 'POST /predict' && service(s) !== service(gate));
      const lookups = g.filter((s) => s.operationName === 'feature lookup');
      const features = g.filter((s) => service(s) === 'strata-feature-service');
      const reached = candidate.length
        ? `; sampled requests: candidate ${candidate.length}, feature lookups ${lookups.length}` +
          `${lookups.some(failed) ? ` (${lookups.filter(failed).length} failed)` : ''}, feature service ${features.length}`
        : '';
      row(
        `   ${bar} ${j === items - 1 ? '└─' : '├─'} `,
        gate.operationName,
        `${tag(gate, 'strata.gate.passed') === true ? 'passed' : 'FAILED'}, ${seconds(gate.duration)}${reached}`,
      );
    });
  });
  return `${lines.join('\n')}\n`;
}
