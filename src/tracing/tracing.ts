// OpenTelemetry tracing for Strata's own processes (CLI, worker, load generator, feature service).
// Off unless OTEL_EXPORTER_OTLP_ENDPOINT is set or STRATA_TRACING=1; STRATA_TRACING=0 turns it off
// whatever the endpoint. Spans go to an OTLP/HTTP collector (Jaeger, the OpenTelemetry Collector…)
// at the standard OTEL_EXPORTER_OTLP_ENDPOINT (default http://localhost:4318 when only
// STRATA_TRACING is set). Nothing here carries a data value: span names and attributes are ids,
// names of layers and gates, and verdicts.
import { context, trace, type Span, type Tracer } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { Resource } from '@opentelemetry/resources';
import { BatchSpanProcessor, NoopSpanProcessor, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from '@opentelemetry/semantic-conventions';

/** Default share of load-generator requests that carry a W3C traceparent (STRATA_TRACE_SAMPLE_RATE). */
export const DEFAULT_TRACE_SAMPLE_RATE = 0.01;

export class TracingConfigError extends Error {
  override name = 'TracingConfigError';
}

/** Whether this process exports spans: STRATA_TRACING=1|true|on, or OTEL_EXPORTER_OTLP_ENDPOINT set (unless STRATA_TRACING=0). */
export function tracingEnabled(env: NodeJS.ProcessEnv = process.env): boolean {
  const flag = env.STRATA_TRACING?.trim().toLowerCase();
  if (flag === '0' || flag === 'false' || flag === 'off') return false;
  if (flag === '1' || flag === 'true' || flag === 'on') return true;
  if (flag) throw new TracingConfigError(`STRATA_TRACING=${env.STRATA_TRACING}: expected 1 or 0`);
  return Boolean(env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim() || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim());
}

/** Share (0..1) of load requests to trace: STRATA_TRACE_SAMPLE_RATE, default 0.01. */
export function traceSampleRate(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.STRATA_TRACE_SAMPLE_RATE?.trim();
  if (!raw) return DEFAULT_TRACE_SAMPLE_RATE;
  const rate = Number(raw);
  if (!Number.isFinite(rate) || rate < 0 || rate > 1) {
    throw new TracingConfigError(`STRATA_TRACE_SAMPLE_RATE=${raw}: expected a number from 0 to 1`);
  }
  return rate;
}

/**
 * The variables a candidate or feature service gets so that it continues traces: the OTLP
 * endpoint (never headers, which may hold a collector's credentials) and, when set, the service name.
 */
export function tracingEnvironment(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  if (!tracingEnabled(env)) return {};
  return { OTEL_EXPORTER_OTLP_ENDPOINT: otlpEndpoint(env) };
}

function otlpEndpoint(env: NodeJS.ProcessEnv): string {
  return (env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim() || 'http://localhost:4318').replace(/\/+$/, '');
}

/** A trace UI link for a trace id: `${STRATA_TRACE_URL}/trace/<id>`, or undefined without STRATA_TRACE_URL. */
export function traceLink(traceId: string | undefined, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const base = env.STRATA_TRACE_URL?.trim().replace(/\/+$/, '');
  return base && traceId ? `${base}/trace/${traceId}` : undefined;
}

export interface Tracing {
  enabled: boolean;
  tracer: Tracer;
  /** For the worker's workflow-span sink: what exports workflow spans (a no-op when off). */
  spanProcessor: SpanProcessor;
  resource: Resource;
  /** Exports what is buffered (call before a short-lived process exits). */
  flush(): Promise<void>;
  shutdown(): Promise<void>;
}

let installed: Tracing | undefined;

/**
 * Installs the process-wide tracer provider once (W3C trace context, batch export over OTLP/HTTP)
 * when tracing is on; later calls return the same. Off: a no-op tracer and span processor.
 */
export function installTracing(serviceName: string, env: NodeJS.ProcessEnv = process.env): Tracing {
  if (installed) return installed;
  const resource = new Resource({ [ATTR_SERVICE_NAME]: serviceName, [ATTR_SERVICE_VERSION]: '0.1.0' });
  if (!tracingEnabled(env)) {
    installed = {
      enabled: false,
      tracer: trace.getTracer('strata'),
      spanProcessor: new NoopSpanProcessor(),
      resource,
      flush: async () => undefined,
      shutdown: async () => undefined,
    };
    return installed;
  }
  const exporter = new OTLPTraceExporter({ url: `${otlpEndpoint(env)}/v1/traces` });
  const spanProcessor = new BatchSpanProcessor(exporter, { scheduledDelayMillis: 1000 });
  const provider = new NodeTracerProvider({ resource, spanProcessors: [spanProcessor] });
  provider.register();
  installed = {
    enabled: true,
    tracer: trace.getTracer('strata'),
    spanProcessor,
    resource,
    flush: () => provider.forceFlush(),
    shutdown: () => provider.shutdown(),
  };
  return installed;
}

/** The current trace id (hex), if a span is active. */
export function activeTraceId(): string | undefined {
  const span = trace.getSpan(context.active());
  const id = span?.spanContext().traceId;
  return id && !/^0+$/.test(id) ? id : undefined;
}

/** Runs `fn` inside a new active span named `name`; the span records a thrown error. */
export async function withSpan<T>(
  name: string,
  attributes: Record<string, string | number | boolean>,
  fn: (span: Span) => Promise<T>,
): Promise<T> {
  return trace.getTracer('strata').startActiveSpan(name, { attributes }, async (span) => {
    try {
      return await fn(span);
    } catch (err) {
      span.recordException(err as Error);
      span.setStatus({ code: 2, message: (err as Error).message });
      throw err;
    } finally {
      span.end();
    }
  });
}
