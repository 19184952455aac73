// A promotion's status, read from its workflows' histories (and, where a history cannot tell,
// their queries). It reads through a WorkflowReader, so that it runs on the gRPC client or on
// Temporal's HTTP API (`http-api.ts`): this module imports no value from @temporalio/client, whose
// gRPC and protobuf stack is most of a `strata status` process's time (docs/benchmarks.md).

import type { Client } from '@temporalio/client';
import type { QueryDefinition } from '@temporalio/common';
import { defaultPayloadConverter, tsToDate, WorkflowNotFoundError } from './sdk-common';
import type { temporal } from '@temporalio/proto';
import { normalizeIdentity } from '../domain/identity';
import { allowedApprovers, type ApprovalRecord, type Decision } from '../domain/approval';
import type { DataSummary } from '../domain/data';
import {
  type LayerInput,
  type LayerResult,
  layerWorkflowId,
  type PromotionInput,
  type PromotionResult,
} from '../domain/promotion';
import { PromotionTracker } from '../domain/promotion-tracker';
import {
  type GateResult,
  isTerminal,
  isTerminalPhase,
  type LayerStatus,
  type PromotionState,
  type PromotionStatus,
} from '../domain/status';
import {
  type ApprovalReply,
  type ApprovalRequest,
  type LayerProgress,
  approveUpdate,
  layerProgressSignal,
  layerStatusQuery,
  rejectUpdate,
  statusQuery,
} from '../../workflows/messages';
import { environmentQuery } from '../../workflows/environment-messages';
import { environmentWorkflowId } from '../domain/environment';
import type { ApprovalNotice } from '../domain/approval-reminders';
import { fetchHistory, historyHasPatch, keywordOf } from './history';
import { PHASE_KEY, STATE_KEY } from '../../workflows/search-attributes';
import { pinnedLadderOf, runsStoredLadder } from '../audit/trail';
import { traceIdFromHeader } from '../tracing/trace-header';
import { PromotionNotFoundError } from './errors';

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;

/** What reading a promotion's status needs of Temporal: a workflow's description, history and queries. */
export interface WorkflowReader {
  /** Throws WorkflowNotFoundError when there is no such workflow. */
  /** `status` as the client names it: RUNNING, COMPLETED, TERMINATED, ... */
  describe(workflowId: string): Promise<{ type: string; status: string; taskQueue: string }>;
  /** Its history's events, with their payloads opened by the payload codecs. */
  history(workflowId: string): Promise<HistoryEvent[]>;
  query<R>(workflowId: string, query: QueryDefinition<R, []>): Promise<R>;
  /** The executions a visibility query finds, newest first, read `pageSize` at a time. */
  list(query: string, pageSize: number): AsyncIterable<ExecutionSummary>;
}

/** What `strata list` reads of an execution in visibility. */
export interface ExecutionSummary {
  workflowId: string;
  /** As `describe` gives it: RUNNING, COMPLETED, ... */
  status: string;
  startTime: Date;
  closeTime?: Date;
  parentWorkflowId?: string;
  /** Its search attributes of type Keyword, by name. */
  keywords: ReadonlyMap<string, string>;
}

/** The reader of a connected gRPC client. */
export function clientReader(client: Client): WorkflowReader {
  return {
    describe: async (workflowId) => {
      const d = await client.workflow.getHandle(workflowId).describe();
      return { type: d.type, status: d.status.name, taskQueue: d.taskQueue };
    },
    history: async (workflowId) => (await fetchHistory(client, workflowId)).events ?? [],
    query: (workflowId, query) => client.workflow.getHandle(workflowId).query(query),
    list: async function* (query, pageSize) {
      for await (const wf of client.workflow.list({ query, pageSize })) {
        const keywords = new Map<string, string>();
        for (const { key, value } of wf.typedSearchAttributes.getAll())
          if (key.type === 'KEYWORD' && typeof value === 'string') keywords.set(key.name, value);
        yield {
          workflowId: wf.workflowId,
          status: wf.status.name,
          startTime: wf.startTime,
          closeTime: wf.closeTime,
          parentWorkflowId: wf.parentExecution?.workflowId ?? undefined,
          keywords,
        };
      }
    },
  };
}

/**
 * A promotion's status, read from the workflow histories wherever they say all of it, so that it
 * needs no workflow task: a promotion parked for days is answered without a worker replaying it
 * (a bounded worker cache evicts it), and status works with every worker down.
 *
 * An ended promotion is read from its history. A running one is read from its own history and
 * its running layer's (`liveLayerStatus`), and asks the layer's `layerStatus` query only while the
 * history cannot tell all: while its gates run (a parallel run is reported as one), and once it
 * has begun to end (its failure is known only to the workflow until the layer's result). Older
 * promotions, from before `sealed-decisions`, answer their `status` query as they always did.
 */
export async function getStatus(client: Client, id: string): Promise<PromotionStatus> {
  return readStatus(clientReader(client), id);
}

/** `getStatus` through any reader of workflows: the gRPC client's, or Temporal's HTTP API (`http-api.ts`). */
export async function readStatus(reader: WorkflowReader, id: string): Promise<PromotionStatus> {
  try {
    // The description first, then the history: read in that order, the history holds at least what
    // the description says (a promotion described as completed has its result in the history read
    // after; read at once, it might not yet).
    const description = await reader.describe(id);
    if (description.type !== 'promotion') throw new PromotionNotFoundError(id);
    const events = await reader.history(id);
    if (description.status === 'RUNNING') {
      const status = sealedHistory(events)
        ? await liveStatus(reader, id, events)
        : await queriedStatus(reader, id, reader.query(id, statusQuery));
      // Say who holds the lease a layer is waiting for.
      for (const layer of status.layers.filter((l) => l.phase === 'waiting-for-lease')) {
        const env = await reader
          .query(environmentWorkflowId(description.taskQueue, layer.name), environmentQuery)
          .catch(() => undefined);
        layer.lease = env?.lease ?? null;
      }
      return status;
    }
    const status = statusFromHistory(id, events, description.status.toLowerCase());
    // Sealed layers that ended without a result (terminated with their promotion) keep their state
    // in their own history.
    for (const [i, layer] of status.layers.entries()) {
      if (!layer.workflowId || isTerminalPhase(layer.phase)) continue;
      const layerEvents = await reader.history(layer.workflowId).catch(() => undefined);
      if (layerEvents) status.layers[i] = layerStatusFromHistory(layer, layerEvents);
    }
    return status;
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) throw new PromotionNotFoundError(id);
    throw err;
  }
}

/** A running sealed promotion, from its history and its running layers' histories. */
async function liveStatus(reader: WorkflowReader, id: string, events: HistoryEvent[]): Promise<PromotionStatus> {
  const { tracker, state } = replayPromotion(id, events);
  const status = tracker.status;
  if (state && isTerminal(state)) tracker.end(state);
  await Promise.all(
    status.layers.map(async (layer, i) => {
      if (!layer.workflowId || isTerminalPhase(layer.phase)) return;
      const layerEvents = await reader.history(layer.workflowId).catch(() => undefined);
      if (!layerEvents) return;
      const live = liveLayerStatus(layer, layerEvents) ?? (await queryLayer(reader, layer.workflowId));
      if (live) status.layers[i] = live;
    }),
  );
  settleState(status);
  withTraceIds(id, status, events);
  shareTraceId(status);
  return status;
}

/**
 * A promotion from before `sealed-decisions` (or one still reading its ladder) answers its
 * `status` query; its running layers answer theirs.
 */
async function queriedStatus(
  reader: WorkflowReader,
  id: string,
  query: Promise<PromotionStatus>,
): Promise<PromotionStatus> {
  const status = await query;
  await withLiveLayers(reader, status);
  shareTraceId(status);
  return status;
}

/**
 * A sealed promotion knows its layers' results, not what a running layer is doing: that is the
 * layer workflow's own state, answered by its layerStatus query (no signal writes it). A layer that
 * ended between the two queries answers from its final state too.
 */
async function withLiveLayers(reader: WorkflowReader, status: PromotionStatus): Promise<void> {
  for (const [i, layer] of status.layers.entries()) {
    if (!layer.workflowId || isTerminalPhase(layer.phase)) continue;
    const live = await queryLayer(reader, layer.workflowId);
    if (live) status.layers[i] = live;
  }
  settleState(status);
}

/** A running layer's own answer to its layerStatus query, or undefined if it gives none. */
async function queryLayer(reader: WorkflowReader, workflowId: string): Promise<LayerStatus | undefined> {
  const live = await reader.query(workflowId, layerStatusQuery).catch(() => undefined);
  return live ? { ...live, workflowId } : undefined;
}

/** A promotion that has not ended awaits approval while one of its layers does. */
function settleState(status: PromotionStatus): void {
  if (!isTerminal(status.state)) {
    status.state = status.layers.some((l) => l.phase === 'awaiting-approval') ? 'awaiting-approval' : 'running';
  }
}

function decode<T>(payloads: temporal.api.common.v1.IPayloads | null | undefined): T | undefined {
  const p = payloads?.payloads?.[0];
  return p ? (defaultPayloadConverter.fromPayload(p) as T) : undefined;
}

/**
 * The status of an ended promotion, from its history. A completed promotion's result says it all.
 * One that ended without a result (terminated, timed out) is replayed from its history through the
 * workflow's own PromotionTracker: the layers' progress signals and results, and the approvals and
 * rejections it accepted, each at the workflow time its handler ran.
 */
export function statusFromHistory(id: string, events: HistoryEvent[], closedAs: string): PromotionStatus {
  const { tracker, result, ended } = replayPromotion(id, events);
  if (result) return withTraceIds(id, statusFromResult(tracker.status, result), events);
  // Promotions before sealed-decisions took the approvals themselves.
  for (const d of acceptedDecisions(events)) tracker.recordApproval(d.layer, d.record);
  tracker.end('failed', ended ? `workflow ended ${closedAs}: ${ended}` : `workflow ended ${closedAs}`);
  return withTraceIds(id, tracker.status, events);
}

/**
 * A promotion's history so far, through the workflow's own PromotionTracker: the layers' progress
 * signals (before sealed-decisions), the layers it started and their results; its result if it
 * completed, why it ended if it was terminated or failed, and the last state it recorded.
 */
function replayPromotion(
  id: string,
  events: HistoryEvent[],
): { tracker: PromotionTracker; result?: PromotionResult; ended?: string; state?: PromotionState } {
  const input = decode<PromotionInput>(events[0]?.workflowExecutionStartedEventAttributes?.input);
  if (!input) throw new Error(`promotion ${id}: its history does not start with the promotion's input`);
  // A promotion of a stored ladder ran the layers it pinned, not the (ignored) ones in its input.
  const stored = runsStoredLadder(events, input);
  const pinned = stored ? pinnedLadderOf(events) : undefined;
  const ran: PromotionInput = stored ? { ...input, layers: pinned?.layers ?? [], pinned } : input;
  const tracker = new PromotionTracker(id, ran, normalizeIdentity(input.initiator));
  const sealed = sealedHistory(events);
  let ended: string | undefined;
  let state: PromotionState | undefined;

  for (const e of events) {
    const upserted = e.upsertWorkflowSearchAttributesEventAttributes?.searchAttributes?.indexedFields;
    const recorded = upserted?.[STATE_KEY.name];
    if (recorded) state = keywordOf(recorded) as PromotionState;
    if (!sealed && e.workflowExecutionSignaledEventAttributes?.signalName === layerProgressSignal.name) {
      // Only promotions before sealed-decisions took progress by signal; a sealed one has no
      // handler, and a progress signal in its history is someone else's word: ignored.
      const progress = decode<LayerProgress>(e.workflowExecutionSignaledEventAttributes.input);
      if (progress) tracker.applyProgress(progress);
    } else if (e.childWorkflowExecutionStartedEventAttributes && sealed) {
      const workflowId = e.childWorkflowExecutionStartedEventAttributes.workflowExecution?.workflowId ?? '';
      const layer = tracker.status.layers.find((l) => layerWorkflowId(id, l.name) === workflowId);
      if (layer) tracker.startedLayer(layer.name, workflowId);
    } else if (e.childWorkflowExecutionCompletedEventAttributes) {
      const result = decode<LayerResult>(e.childWorkflowExecutionCompletedEventAttributes.result);
      if (result) tracker.applyLayerResult(result);
    } else if (e.workflowExecutionCompletedEventAttributes) {
      const result = decode<PromotionResult>(e.workflowExecutionCompletedEventAttributes.result);
      if (result) return { tracker, result };
    } else if (e.workflowExecutionTerminatedEventAttributes?.reason) {
      ended = e.workflowExecutionTerminatedEventAttributes.reason;
    } else if (e.workflowExecutionFailedEventAttributes?.failure?.message) {
      ended = e.workflowExecutionFailedEventAttributes.failure.message;
    }
  }
  return { tracker, ended, state };
}

/**
 * Every layer of one promotion runs in its trace (each layer workflow is a child of the promotion's
 * span): a layer that ended before this status was asked for gets the trace id its running sibling
 * reported.
 */
function shareTraceId(status: PromotionStatus): void {
  const traceId = status.layers.find((l) => l.traceId)?.traceId;
  if (!traceId) return;
  for (const l of status.layers) if (l.workflowId && !l.traceId) l.traceId = traceId;
}

/**
 * Each layer's trace id, from the header its promotion started it with (the tracing interceptors
 * put the W3C trace context there); layers of untraced promotions have none.
 */
export function withTraceIds(id: string, status: PromotionStatus, events: HistoryEvent[]): PromotionStatus {
  for (const e of events) {
    const started = e.startChildWorkflowExecutionInitiatedEventAttributes;
    if (!started) continue;
    const traceId = traceIdFromHeader(started.header);
    const layer = status.layers.find((l) => layerWorkflowId(id, l.name) === started.workflowId);
    if (layer && traceId) layer.traceId = traceId;
  }
  return status;
}

/** Whether a history's workflow ran with `sealed-decisions`. */
function sealedHistory(events: HistoryEvent[]): boolean {
  return historyHasPatch(events, 'sealed-decisions');
}

/**
 * The approvals and rejections a workflow accepted, from its history: each Update in the order its
 * handler ran, kept when it completed successfully, at the workflow time it ran.
 */
function acceptedDecisions(events: HistoryEvent[]): Array<{ layer: string; record: ApprovalRecord }> {
  const decisions: Array<{ updateId: string; decision: Decision; reason: string; at: string }> = [];
  const granted = new Map<string, ApprovalReply>();
  let workflowTime = '';
  for (const e of events) {
    if (e.workflowTaskStartedEventAttributes && e.eventTime) {
      // Workflow code sees this time as "now" (an approval's `at`).
      workflowTime = tsToDate(e.eventTime).toISOString();
    } else if (e.workflowExecutionUpdateAcceptedEventAttributes) {
      const request = e.workflowExecutionUpdateAcceptedEventAttributes.acceptedRequest;
      const name = request?.input?.name;
      if (name !== approveUpdate.name && name !== rejectUpdate.name) continue;
      const args = decode<ApprovalRequest>(request?.input?.args);
      decisions.push({
        updateId: request?.meta?.updateId ?? '',
        decision: name === approveUpdate.name ? 'approve' : 'reject',
        reason: String(args?.reason ?? '').trim(),
        at: workflowTime,
      });
    } else if (e.workflowExecutionUpdateCompletedEventAttributes) {
      const c = e.workflowExecutionUpdateCompletedEventAttributes;
      const reply = decode<ApprovalReply>(c.outcome?.success);
      if (reply && !c.outcome?.failure) granted.set(c.meta?.updateId ?? '', reply);
    }
  }
  return decisions.flatMap((d) => {
    const reply = granted.get(d.updateId);
    if (!reply) return [];
    return [{ layer: reply.layer, record: { actor: reply.actor, decision: d.decision, reason: d.reason, at: d.at } }];
  });
}

/** The fields of a layer's activity results that its status reads back from history. */
interface LayerActivityResult {
  running?: string | null;
  data?: DataSummary;
}

/**
 * What a sealed layer had reached, from its own history: the last phase it published, what runs,
 * its gates, its data, the approvals it accepted, and whether its approval escalated and how many
 * reminders it sent. For a layer that ended without a result (terminated with its promotion), and
 * for a running one through `liveLayerStatus`.
 */
export function layerStatusFromHistory(
  base: LayerStatus,
  events: HistoryEvent[],
  input: LayerInput | undefined = layerInputOf(events),
): LayerStatus {
  const out: LayerStatus = { ...base, gates: [], approvals: [] };
  const scheduled = new Map<string, string>();
  let escalated = false;
  let reminders = 0;
  for (const e of events) {
    const upsert = e.upsertWorkflowSearchAttributesEventAttributes?.searchAttributes?.indexedFields;
    const phase = upsert?.[PHASE_KEY.name];
    if (phase) {
      out.phase = keywordOf(phase) as LayerStatus['phase'];
    } else if (e.workflowPropertiesModifiedEventAttributes?.upsertedMemo?.fields?.approvalEscalation) {
      escalated = true;
    } else if (e.activityTaskScheduledEventAttributes) {
      const a = e.activityTaskScheduledEventAttributes;
      const type = a.activityType?.name ?? '';
      scheduled.set(String(e.eventId), type);
      if (type === 'notifyApprovers') {
        const notice = decode<ApprovalNotice>(a.input);
        if (notice?.kind === 'reminder') reminders = notice.sequence;
      }
    } else if (e.activityTaskCompletedEventAttributes) {
      const a = e.activityTaskCompletedEventAttributes;
      const type = scheduled.get(String(a.scheduledEventId));
      if (type === 'runGate') {
        const gate = decode<GateResult>(a.result);
        if (gate) out.gates.push(gate);
        continue;
      }
      const r = decode<LayerActivityResult>(a.result) ?? {};
      if (r.running !== undefined && LAYER_RUNNING_FROM.has(type ?? '')) out.running = r.running;
      if (r.data && (type === 'populateEnvironment' || type === 'seedEnvironment')) out.data = r.data;
    }
  }
  out.approvals = acceptedDecisions(events).map((d) => d.record);
  const policy = input?.layer?.approval;
  if (policy?.mode === 'manual') {
    // As the layer's status query has it: who may approve now, widened once it escalated.
    out.approval = {
      required: policy.required,
      allowed: allowedApprovers(policy, escalated),
      ...(escalated ? { escalated } : {}),
      ...(reminders > 0 ? { reminders } : {}),
    };
  }
  return out;
}

/** The input a layer's workflow was started with (its first event). */
function layerInputOf(events: HistoryEvent[]): LayerInput | undefined {
  return decode<LayerInput>(events[0]?.workflowExecutionStartedEventAttributes?.input);
}

/** The phases in which a running layer's history says all its status says (see liveLayerStatus). */
const HISTORY_TELLS = new Set<LayerStatus['phase']>([
  'pending',
  'waiting-for-lease',
  'provisioning',
  'seeding',
  'deploying',
  'awaiting-approval',
  'promoted',
]);

/**
 * A running sealed layer's status from its history, or undefined where only the workflow knows
 * it (the caller then asks its layerStatus query):
 * - while its gates run: a run of `parallel: true` gates is reported once all are in, in the
 *   ladder's order, and a gate the workflow computes (seeds) is no activity;
 * - once it has begun to end without promoting (a cancellation requested, a rollback scheduled,
 *   or a phase of `failed` or `rolled-back`): its failure is the workflow's own words until the
 *   layer's result carries them.
 * In every other phase the history holds each field the query answers
 * (test/integration/status-from-history.test.ts compares the two).
 */
export function liveLayerStatus(base: LayerStatus, events: HistoryEvent[]): LayerStatus | undefined {
  const input = layerInputOf(events);
  const status = layerStatusFromHistory(base, events, input);
  if (!HISTORY_TELLS.has(status.phase)) return undefined;
  const ending = events.some(
    (e) =>
      e.workflowExecutionCancelRequestedEventAttributes ||
      e.activityTaskScheduledEventAttributes?.activityType?.name === 'rollbackEnvironment',
  );
  if (ending) return undefined;
  const spec = input?.layer;
  if (!spec) return undefined;
  if (status.phase === 'awaiting-approval' || status.phase === 'promoted') {
    // Every gate has reported: one result per gate, shown in the ladder's order.
    const byName = new Map(status.gates.map((g) => [g.name, g]));
    const gates = spec.gates.map((g) => byName.get(g.name));
    if (gates.some((g) => !g) || status.gates.length !== spec.gates.length) return undefined;
    status.gates = gates as GateResult[];
  } else if (status.gates.length > 0) {
    return undefined;
  }
  return status;
}

/** The activities whose result says what now runs in the layer's environment. */
const LAYER_RUNNING_FROM = new Set([
  'provisionEnvironment',
  'deployCandidate',
  'promoteRelease',
  'rollbackEnvironment',
]);

/**
 * The status of a promotion that completed: its result, with each layer's approval policy from the
 * input (results recorded before PromotionResult reused LayerStatus lack it).
 */
function statusFromResult(status: PromotionStatus, result: PromotionResult): PromotionStatus {
  return {
    ...status,
    state: result.state,
    reason: result.reason,
    layers: status.layers.map((l) => {
      const r = result.layers.find((x) => x.name === l.name);
      return {
        name: l.name,
        phase: r?.phase ?? 'pending',
        running: r?.running ?? null,
        gates: r?.gates ?? [],
        approval: l.approval,
        approvals: r?.approvals ?? [],
        ...(r?.failure ? { failure: r.failure } : {}),
        ...(r?.data ? { data: r.data } : {}),
      };
    }),
  };
}
