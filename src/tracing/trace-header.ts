// The trace a workflow belongs to, read from its history: the OpenTelemetry interceptors carry the
// W3C trace context in the `_tracer-data` header of every workflow, child workflow and activity
// they start, as a JSON payload `{ "traceparent": "00-<trace id>-<span id>-<flags>" }`.
// From its own file, as src/temporal/sdk-common.ts does (status reads trace ids; tracing may not import temporal/).
import { defaultPayloadConverter } from '@temporalio/common/lib/converter/payload-converter';
import type { temporal } from '@temporalio/proto';

export const TRACE_HEADER = '_tracer-data';

const TRACEPARENT = /^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$/;

/** The trace id in a W3C traceparent, or undefined when it is not one (or all zeros). */
export function traceIdOfTraceparent(traceparent: unknown): string | undefined {
  const m = typeof traceparent === 'string' ? TRACEPARENT.exec(traceparent.trim()) : null;
  return m && !/^0+$/.test(m[1]) ? m[1] : undefined;
}

/** The trace id carried by a Temporal header (a started event's, a child's, an activity's), if any. */
export function traceIdFromHeader(header: temporal.api.common.v1.IHeader | null | undefined): string | undefined {
  const payload = header?.fields?.[TRACE_HEADER];
  if (!payload) return undefined;
  try {
    const carrier = defaultPayloadConverter.fromPayload<{ traceparent?: unknown }>(payload);
    return traceIdOfTraceparent(carrier?.traceparent);
  } catch {
    return undefined; // not ours to judge: a header some other interceptor wrote
  }
}
