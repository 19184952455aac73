// How long each step of a layer took, read from its workflow's history: the layer upserts its
// StrataPhase search attribute on every phase change (workflows/layer.ts) and every activity and
// child workflow event carries the server's time. Nothing here asks the workflow for a clock.
import { type Client, WorkflowNotFoundError } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import { layerWorkflowId } from '../domain/promotion';
import type { PromotionStatus } from '../domain/status';
import { PHASE_KEY } from '../../workflows/search-attributes';
import { fetchHistory, keywordOf } from './history';

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;

/** A phase the layer entered, and when (ms since the epoch, the server's clock). */
export interface PhaseEntry {
  phase: string;
  enteredMs: number;
}

/** One gate's run: the runGate activity, or for a workflow-computed gate its child runs side by side. */
export interface GateTiming {
  name: string;
  ms: number;
}

/** A layer's steps, in milliseconds; a step it never reached is absent. */
export interface LayerTimings {
  layer: string;
  /** Time in each phase (waiting-for-lease, provisioning, seeding, deploying, testing, awaiting-approval). */
  phases: Partial<Record<string, number>>;
  gates: GateTiming[];
  /** From the layer workflow's start to its end (or to now, the last event, while it runs). */
  totalMs: number;
}

/** The phases the layer entered, in order, from its StrataPhase upserts. */
export function phaseEntries(events: readonly HistoryEvent[]): PhaseEntry[] {
  const entries: PhaseEntry[] = [];
  for (const e of events) {
    if (e.eventType !== temporal.api.enums.v1.EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES) continue;
    const payload = e.upsertWorkflowSearchAttributesEventAttributes?.searchAttributes?.indexedFields?.[PHASE_KEY.name];
    if (!payload || !e.eventTime) continue;
    const phase: unknown = keywordOf(payload);
    if (typeof phase === 'string') entries.push({ phase, enteredMs: tsToMs(e.eventTime) });
  }
  return entries;
}

/** The layer's timings from its workflow history (pure: a recorded history gives the same table). */
export function layerTimings(layer: string, events: readonly HistoryEvent[]): LayerTimings {
  const times = events.flatMap((e) => (e.eventTime ? [tsToMs(e.eventTime)] : []));
  const start = times[0] ?? 0;
  const end = times.at(-1) ?? start;

  const phases: Partial<Record<string, number>> = {};
  const entries = phaseEntries(events);
  entries.forEach((entry, i) => {
    const until = entries[i + 1]?.enteredMs ?? end;
    phases[entry.phase] = (phases[entry.phase] ?? 0) + Math.max(0, until - entry.enteredMs);
  });
  // A layer's end states are not steps.
  for (const done of ['promoted', 'failed', 'rolled-back', 'pending']) delete phases[done];

  const gates: (GateTiming & { startMs: number })[] = [];
  const scheduled = new Map<string, { name: string; ms: number }>();
  const children = new Map<string, { name: string; ms: number }>();
  const childSpans = new Map<string, { first: number; last: number }>();
  for (const e of events) {
    const at = e.eventTime ? tsToMs(e.eventTime) : 0;
    const s = e.activityTaskScheduledEventAttributes;
    if (s && s.activityType?.name === 'runGate') {
      const input = decode<{ gate?: { name?: string } }>(s.input);
      scheduled.set(String(e.eventId), { name: input?.gate?.name ?? 'gate', ms: at });
    }
    const done =
      e.activityTaskCompletedEventAttributes ??
      e.activityTaskFailedEventAttributes ??
      e.activityTaskTimedOutEventAttributes ??
      e.activityTaskCanceledEventAttributes;
    if (done) {
      const started = scheduled.get(String(done.scheduledEventId));
      if (started) gates.push({ name: started.name, startMs: started.ms, ms: at - started.ms });
    }
    const child = e.startChildWorkflowExecutionInitiatedEventAttributes;
    if (child) {
      const input = decode<{ gate?: { name?: string } }>(child.input);
      children.set(String(e.eventId), { name: input?.gate?.name ?? 'children', ms: at });
    }
    const closed =
      e.childWorkflowExecutionCompletedEventAttributes ??
      e.childWorkflowExecutionFailedEventAttributes ??
      e.childWorkflowExecutionTimedOutEventAttributes ??
      e.childWorkflowExecutionCanceledEventAttributes ??
      e.childWorkflowExecutionTerminatedEventAttributes;
    if (closed) {
      const started = children.get(String(closed.initiatedEventId));
      if (started) {
        // Children of one gate (a layer's seeds) run side by side: the gate took from the first start to the last end.
        const span = childSpans.get(started.name) ?? { first: started.ms, last: at };
        childSpans.set(started.name, { first: Math.min(span.first, started.ms), last: Math.max(span.last, at) });
      }
    }
  }
  for (const [name, span] of childSpans) gates.push({ name, startMs: span.first, ms: span.last - span.first });
  gates.sort((a, b) => a.startMs - b.startMs);
  return { layer, phases, gates: gates.map(({ name, ms }) => ({ name, ms })), totalMs: end - start };
}

/** Every started layer's timings of a promotion, from the layers' own workflow histories. */
export async function promotionTimings(client: Client, status: PromotionStatus): Promise<LayerTimings[]> {
  const out: LayerTimings[] = [];
  for (const layer of status.layers) {
    if (layer.phase === 'pending') continue;
    const history = await fetchHistory(client, layer.workflowId ?? layerWorkflowId(status.id, layer.name)).catch(
      (err: unknown) => {
        if (err instanceof WorkflowNotFoundError) return undefined; // past retention
        throw err;
      },
    );
    if (history) out.push(layerTimings(layer.name, history.events ?? []));
  }
  return out;
}

/** Milliseconds of an event time, whether its seconds are a Long (from the server) or a number (from JSON). */
function tsToMs(ts: { seconds?: { toNumber(): number } | number | null; nanos?: number | null }): number {
  const seconds = typeof ts.seconds === 'number' ? ts.seconds : (ts.seconds?.toNumber() ?? 0);
  return seconds * 1000 + Math.floor((ts.nanos ?? 0) / 1e6);
}

function decode<T>(payloads: temporal.api.common.v1.IPayloads | null | undefined): T | undefined {
  const p = payloads?.payloads?.[0];
  try {
    return p ? (defaultPayloadConverter.fromPayload(p) as T) : undefined;
  } catch {
    return undefined; // an input this reader cannot decode (another converter): the gate is named generically
  }
}
