// Spans through the OpenTelemetry API only: without a tracer provider installed (tracing off) they
// are no-ops, and the SDK is not loaded.
import { context, trace, type Span } from '@opentelemetry/api';

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
