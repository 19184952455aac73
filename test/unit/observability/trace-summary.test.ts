import { describe, expect, it } from 'vitest';
import { type JaegerSpan, type JaegerTrace, seconds, summariseTrace } from '../../../scripts/trace-summary';

// A small trace in the shape Jaeger's query API returns: the promote call, the promotion, one
// layer with one activity and one gate, and under the gate a sampled request into the candidate.
let next = 0;
function span(
  operationName: string,
  parent: JaegerSpan | undefined,
  opts: { process?: string; ms?: number; tags?: Record<string, unknown> } = {},
): JaegerSpan {
  next += 1;
  return {
    spanID: `s${next}`,
    operationName,
    references: parent ? [{ refType: 'CHILD_OF', spanID: parent.spanID }] : [],
    startTime: 1_700_000_000_000_000 + next * 1000,
    duration: (opts.ms ?? 1) * 1000,
    tags: Object.entries(opts.tags ?? {}).map(([key, value]) => ({ key, value })),
    processID: opts.process ?? 'p1',
  };
}

describe('summariseTrace', () => {
  it('lists the layers, their gates with verdicts, and what sampled requests reached', () => {
    const root = span('strata promote', undefined, { ms: 80 });
    const promotion = span('RunWorkflow:promotion', root, { ms: 372_000 });
    const layer = span('RunWorkflow:layer', promotion, { ms: 41_200, tags: { workflowId: 'fraud-2.0.0-abc.sandbox' } });
    const activity = span('RunActivity:runGate', layer);
    const gate = span('gate slo', activity, { ms: 8_300, tags: { 'strata.gate.passed': true } });
    const client = span('POST /predict', gate);
    const server = span('POST /predict', client, { process: 'p2' });
    const lookup = span('feature lookup', server, { process: 'p2', tags: { 'otel.status_code': 'ERROR' } });
    const features = span('POST /features', lookup, { process: 'p3' });
    const failing = span('gate quality', activity, { ms: 200, tags: { 'strata.gate.passed': false } });
    // The seeds gate: child workflows, no gate span.
    const starts = [1, 2].map(() => span('StartChildWorkflow:seedRun', layer));
    const seedRuns = starts.map((start, i) => span('RunWorkflow:seedRun', start, { ms: (i + 1) * 1000 }));
    const trace: JaegerTrace = {
      traceID: 'abc123',
      spans: [
        ...[root, promotion, layer, activity, gate, client, server, lookup, features, failing],
        ...seedRuns,
        ...starts,
      ],
      processes: {
        p1: { serviceName: 'strata-worker' },
        p2: { serviceName: 'fraud-scoring 2.0.0' },
        p3: { serviceName: 'strata-feature-service' },
      },
    };
    const text = summariseTrace(trace);
    expect(text).toContain('trace abc123: 14 spans');
    expect(text).toContain('services: strata-worker 11 · fraud-scoring 2.0.0 2 · strata-feature-service 1');
    expect(text).toMatch(/└─ RunWorkflow:promotion\s+6 min 12 s/);
    expect(text).toMatch(/└─ layer sandbox\s+41\.2 s, 1 activities/);
    expect(text).toMatch(
      /gate slo\s+passed, 8\.3 s; sampled requests: candidate 1, feature lookups 1 \(1 failed\), feature service 1/,
    );
    expect(text).toMatch(/├─ 2 × RunWorkflow:seedRun\s+child workflows, longest 2\.0 s/);
    expect(text).toMatch(/└─ gate quality\s+FAILED, 0\.2 s$/m);
  });

  it('says so when the promotion workflow span has not arrived', () => {
    const root = span('strata promote', undefined);
    expect(summariseTrace({ traceID: 't', spans: [root], processes: { p1: { serviceName: 'w' } } })).toContain(
      'no promotion workflow span yet',
    );
  });

  it('writes durations as a reader says them', () => {
    expect(seconds(400_000)).toBe('0.4 s');
    expect(seconds(372_000_000)).toBe('6 min 12 s');
  });
});
