// The trace a workflow run belongs to. With tracing on, the worker's bundle carries the
// OpenTelemetry workflow interceptors, which run each workflow inside an active span (continuing
// the trace of whoever started it); without them no span is active and there is no trace id.
// Reading the active span is deterministic: its ids come from the history's headers and the
// workflow's seeded randomness, and nothing here schedules a command.
import { context, trace } from '@opentelemetry/api';

export function currentTraceId(): string | undefined {
  const id = trace.getSpan(context.active())?.spanContext().traceId;
  return id && !/^0+$/.test(id) ? id : undefined;
}
