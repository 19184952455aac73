import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { context, trace } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { defaultPayloadConverter } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runLoad } from '../../../src/load/generator';
import { loadProfileSchema } from '../../../src/load/profile';
import { traceIdFromHeader, traceIdOfTraceparent } from '../../../src/tracing/trace-header';
import { traceLink, traceSampleRate, tracingEnabled, tracingEnvironment } from '../../../src/tracing/tracing';
// eslint-disable-next-line @typescript-eslint/no-require-imports
const candidate = require('../../../examples/candidates/shared/server.js') as {
  parseTraceparent: (h: unknown) => { traceId: string; spanId: string } | null;
};

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';

describe('tracing settings', () => {
  it('is on with an OTLP endpoint or STRATA_TRACING=1, off with STRATA_TRACING=0, and refuses other values', () => {
    expect(tracingEnabled({})).toBe(false);
    expect(tracingEnabled({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318' })).toBe(true);
    expect(tracingEnabled({ STRATA_TRACING: '1' })).toBe(true);
    expect(tracingEnabled({ STRATA_TRACING: '0', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318' })).toBe(false);
    expect(() => tracingEnabled({ STRATA_TRACING: 'maybe' })).toThrow(/STRATA_TRACING=maybe: expected 1 or 0/);
    expect(tracingEnvironment({ STRATA_TRACING: '1' })).toEqual({
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://localhost:4318',
    });
  });

  it('samples 1% of load requests by default, and names a bad rate', () => {
    expect(traceSampleRate({})).toBe(0.01);
    expect(traceSampleRate({ STRATA_TRACE_SAMPLE_RATE: '1' })).toBe(1);
    expect(() => traceSampleRate({ STRATA_TRACE_SAMPLE_RATE: '2' })).toThrow(
      /STRATA_TRACE_SAMPLE_RATE=2: expected a number from 0 to 1/,
    );
  });

  it('links a trace id to the trace UI only when STRATA_TRACE_URL is set', () => {
    expect(traceLink(TRACE, { STRATA_TRACE_URL: 'http://jaeger:16686/' })).toBe(`http://jaeger:16686/trace/${TRACE}`);
    expect(traceLink(TRACE, {})).toBeUndefined();
    expect(traceLink(undefined, { STRATA_TRACE_URL: 'http://jaeger:16686' })).toBeUndefined();
  });

  it('reads the trace id from a W3C traceparent and from the interceptors’ Temporal header', () => {
    expect(traceIdOfTraceparent(`00-${TRACE}-00f067aa0ba902b7-01`)).toBe(TRACE);
    expect(traceIdOfTraceparent(`00-${'0'.repeat(32)}-00f067aa0ba902b7-01`)).toBeUndefined();
    expect(traceIdOfTraceparent('garbage')).toBeUndefined();
    const header = {
      fields: { '_tracer-data': defaultPayloadConverter.toPayload({ traceparent: `00-${TRACE}-00f067aa0ba902b7-01` }) },
    };
    expect(traceIdFromHeader(header)).toBe(TRACE);
    expect(traceIdFromHeader({ fields: {} })).toBeUndefined();
    expect(traceIdFromHeader(undefined)).toBeUndefined();
  });

  it('has the example candidate continue only sampled traceparents', () => {
    expect(candidate.parseTraceparent(`00-${TRACE}-00f067aa0ba902b7-01`)).toEqual({
      traceId: TRACE,
      spanId: '00f067aa0ba902b7',
    });
    expect(candidate.parseTraceparent(`00-${TRACE}-00f067aa0ba902b7-00`)).toBeNull(); // not sampled
    expect(candidate.parseTraceparent(undefined)).toBeNull();
  });
});

describe('the load generator sends traceparent on sampled requests', () => {
  const exporter = new InMemorySpanExporter();
  const seen: Array<string | undefined> = [];
  let server: http.Server;
  let url: string;

  beforeAll(async () => {
    // As installTracing does: async-local context and W3C propagation, spans kept in memory here.
    new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }).register();
    server = http.createServer((req, res) => {
      seen.push(req.headers.traceparent as string | undefined);
      req.resume();
      req.on('end', () => res.writeHead(req.url === '/predict' ? 200 : 404).end('{}'));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  const profile = loadProfileSchema.parse({
    phases: [{ constant: { rate: 200, duration: '200ms' } }],
    maxConcurrency: 4,
  });

  it('a quarter of 40 requests at rate 0.25, each a client span in the caller’s trace', async () => {
    seen.length = 0;
    exporter.reset();
    const tracer = trace.getTracer('test');
    const parent = tracer.startSpan('gate load');
    await context.with(trace.setSpan(context.active(), parent), () =>
      runLoad({ baseUrl: url, profile, bodies: () => ({ records: [] }), runId: 'run-t', traceSampleRate: 0.25 }),
    );
    parent.end();
    expect(seen).toHaveLength(40);
    const traced = seen.filter((h): h is string => h !== undefined);
    expect(traced).toHaveLength(10);
    expect(traced.every((h) => traceIdOfTraceparent(h) === parent.spanContext().traceId)).toBe(true);
    const spans = exporter.getFinishedSpans().filter((s) => s.name === 'POST /predict');
    expect(spans).toHaveLength(10);
    expect(spans.every((s) => s.parentSpanId === parent.spanContext().spanId)).toBe(true);
    expect(spans.every((s) => s.attributes['http.response.status_code'] === 200)).toBe(true);
    // The header each request carried names its own span.
    expect(new Set(traced.map((h) => h.split('-')[2]))).toEqual(new Set(spans.map((s) => s.spanContext().spanId)));
  });

  it('none without a sample rate', async () => {
    seen.length = 0;
    await runLoad({ baseUrl: url, profile, bodies: () => ({ records: [] }), runId: 'run-u' });
    expect(seen).toHaveLength(40);
    expect(seen.every((h) => h === undefined)).toBe(true);
  });
});
