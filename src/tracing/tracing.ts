// OpenTelemetry tracing for Strata's own processes (CLI, worker, load generator, feature service).
// Off unless OTEL_EXPORTER_OTLP_ENDPOINT is set or STRATA_TRACING=1; STRATA_TRACING=0 turns it off
// whatever the endpoint. Spans go to an OTLP/HTTP collector (Jaeger, the OpenTelemetry Collector…)
// at the standard OTEL_EXPORTER_OTLP_ENDPOINT (default http://localhost:4318 when only
// STRATA_TRACING is set). Nothing here carries a data value: span names and attributes are ids,
// names of layers and gates, and verdicts.
import { trace, type Tracer } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { Resource } from '@opentelemetry/resources';
import { BatchSpanProcessor, NoopSpanProcessor, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from '@opentelemetry/semantic-conventions';
import { otlpEndpoint, tracingEnabled } from './settings';

// The settings and the spans live in modules of their own that do not load the SDK (this one does).
export * from './settings';
export * from './spans';

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
