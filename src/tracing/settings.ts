// Whether and where Strata's processes export traces, read from the environment. No OpenTelemetry
// here: a process checks these (a CLI command, a gate, a sandbox) without loading the SDK, which
// tracing.ts installs only when tracing is on.

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

/** The OTLP/HTTP collector's base URL (OTEL_EXPORTER_OTLP_ENDPOINT, default http://localhost:4318). */
export function otlpEndpoint(env: NodeJS.ProcessEnv): string {
  return (env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim() || 'http://localhost:4318').replace(/\/+$/, '');
}

/** A trace UI link for a trace id: `${STRATA_TRACE_URL}/trace/<id>`, or undefined without STRATA_TRACE_URL. */
export function traceLink(traceId: string | undefined, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const base = env.STRATA_TRACE_URL?.trim().replace(/\/+$/, '');
  return base && traceId ? `${base}/trace/${traceId}` : undefined;
}
