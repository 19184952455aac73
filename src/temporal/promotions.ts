import { randomBytes } from 'node:crypto';
import {
  type Client,
  type WorkflowExecutionInfo,
  WorkflowExecutionAlreadyStartedError,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
} from '@temporalio/client';
import { normalizeIdentity } from '../domain/identity';
import type { CandidateRef, LadderSpec, LayerSpec } from '../domain/ladder';
import type { ApprovalRecord, Decision } from '../domain/approval';
import type { DataSummary } from '../domain/data';
import { type LayerResult, layerWorkflowId, type PromotionResult } from '../domain/promotion';
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
  type AbortRequest,
  type ApprovalReply,
  type ApprovalRequest,
  type LayerProgress,
  abortUpdate,
  approveUpdate,
  layerProgressSignal,
  layerStatusQuery,
  rejectUpdate,
  statusQuery,
} from '../../workflows/messages';
import type { promotion } from '../../workflows/promotion';
import { environmentQuery } from '../../workflows/environment-messages';
import { environmentWorkflowId } from '../domain/environment';
import type { LayerInput, PromotionInput } from '../domain/promotion';
import { allowedApprovers, type ApprovalNotice } from '../domain/approval-reminders';
import { defaultPayloadConverter } from '@temporalio/common';
import { tsToDate } from '@temporalio/common/lib/time';
import { fetchHistory, historyHasPatch, keywordOf } from './history';
import type { temporal } from '@temporalio/proto';
import { CANDIDATE_KEY, LAYER_KEY, PHASE_KEY, STATE_KEY, VERSION_KEY } from '../../workflows/search-attributes';
import type { LadderRef } from '../domain/ladder-version';
import { applyLadder } from './ladders';
import { pinnedLadderOf, runsStoredLadder } from '../audit/trail';
import { RefusedError } from './refused';
import { traceIdFromHeader } from '../tracing/trace-header';
import { PromotionNotFoundError } from './errors';

export { RefusedError } from './refused';

export { PromotionNotFoundError };

/** candidate-version-xxxxxx: readable, and unique enough for one machine or team. */
export function derivePromotionId(candidate: CandidateRef): string {
  const safe = `${candidate.name}-${candidate.version}`.replace(/[^A-Za-z0-9._-]/g, '-');
  return `${safe}-${randomBytes(3).toString('hex')}`;
}

/**
 * Starts a promotion of `candidate` up a stored ladder. The workflow reads the ladder's layers
 * from the ladder entity itself; the client names it (`ladder` as a LadderRef). A caller holding a
 * ladder in memory (local mode, tests, the demo) may hand in the LadderSpec and the `layers` to
 * climb: it is applied first as a ladder change by the initiator, and the promotion pinned to that
 * version.
 *
 * The candidate is sealed in the artifact store first (`artifacts`, the workers' $STRATA_HOME/artifacts):
 * workers deploy from the store entry the digest names, never from `candidate.dir`; an entry stored
 * before is re-verified, not rewritten.
 */
export async function startPromotion(
  client: Client,
  args: {
    id?: string;
    ladder: LadderRef | LadderSpec;
    /** With a LadderSpec: the layers to climb (a run of its layers, or layers of their own). */
    layers?: LayerSpec[];
    candidate: CandidateRef;
    initiator: string;
    /** Set by the API server: how it verified the initiator (`token ci-bot`, `oidc <issuer>`). */
    auth?: string;
    taskQueue: string;
    /** The artifact store's root ($STRATA_HOME/artifacts, `StrataPaths.artifacts`). */
    artifacts: string;
  },
): Promise<string> {
  const id = args.id ?? derivePromotionId(args.candidate);
  // The root of the promotion's trace (with tracing on): the client's start, then the workflows.
  const attributes = {
    'strata.promotion': id,
    'strata.candidate': args.candidate.name,
    'strata.candidate.version': args.candidate.version,
  };
  // The OpenTelemetry API (a no-op without tracing) loads with promote, not with status or list.
  const { withSpan } = await import('../tracing/spans');
  return withSpan('strata promote', attributes, async () => {
    await beginPromotion(client, id, args);
    return id;
  });
}

async function beginPromotion(client: Client, id: string, args: Parameters<typeof startPromotion>[1]): Promise<void> {
  // The artifact store reads candidate files (zod, yaml): loaded by promote, not by status or list.
  const { storeCandidate } = await import('../artifacts/store');
  await storeCandidate(args.candidate, args.artifacts);
  const ladder =
    'layers' in args.ladder
      ? await applyInMemory(client, args.taskQueue, { ...args, ladder: args.ladder })
      : args.ladder;
  try {
    await client.workflow.start<typeof promotion>('promotion', {
      workflowId: id,
      taskQueue: args.taskQueue,
      args: [
        {
          ladderName: ladder.name,
          // The workflow ignores layers in its input: it runs the stored ladder.
          layers: [],
          ladder,
          candidate: args.candidate,
          initiator: normalizeIdentity(args.initiator),
          ...(args.auth ? { auth: args.auth } : {}),
        },
      ],
      typedSearchAttributes: [
        { key: CANDIDATE_KEY, value: args.candidate.name },
        { key: VERSION_KEY, value: args.candidate.version },
        { key: LAYER_KEY, value: ladder.from ?? '' },
        { key: STATE_KEY, value: 'running' },
      ],
    });
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError) {
      throw new RefusedError(`a promotion with id "${id}" already exists; choose another --id`);
    }
    throw err;
  }
  await untilPinned(client, id);
}

/**
 * Waits (a few seconds at most) until the promotion has read its ladder: from then on its status
 * lists its layers and it answers approvals and aborts. Without a worker it returns after the wait.
 */
async function untilPinned(client: Client, id: string, timeoutMs = 15_000): Promise<void> {
  const handle = client.workflow.getHandle(id);
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    // Describe is answered by the server alone; a query takes a workflow task of a worker. So the
    // status is queried only once the ladder's read (the first activity) has completed: a burst of
    // promotions then asks busy workers about once each, not every 100 ms while they pin.
    const described = await handle.describe().catch(() => undefined);
    if (described && described.status.name !== 'RUNNING') return;
    const pinning =
      !described ||
      // The earliest the ladder's read can have completed is the history's 7th event.
      (described.historyLength ?? 0) < 7 ||
      (described.raw.pendingActivities ?? []).some((a) => a.activityType?.name === 'resolveLadder');
    if (!pinning) {
      const status = await handle.query(statusQuery).catch(() => undefined);
      if (status && status.layers.length > 0) return;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Applies an in-memory ladder (or the layers given with it) and names the version and the run of layers. */
async function applyInMemory(
  client: Client,
  taskQueue: string,
  args: { ladder: LadderSpec; layers?: LayerSpec[]; initiator: string },
): Promise<LadderRef> {
  const layers = args.layers ?? args.ladder.layers;
  const start = args.ladder.layers.indexOf(layers[0]);
  const isRun = start >= 0 && layers.every((l, k) => args.ladder.layers[start + k] === l);
  const stored: LadderSpec = isRun ? args.ladder : { name: args.ladder.name, layers };
  const reply = await applyLadder(client, taskQueue, stored, {
    actor: args.initiator,
    reason: 'applied by strata promote (local mode)',
  });
  return isRun
    ? { name: stored.name, version: reply.current.version, from: layers[0].name, to: layers[layers.length - 1].name }
    : { name: stored.name, version: reply.current.version };
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
  const handle = client.workflow.getHandle(id);
  try {
    const description = await handle.describe();
    if (description.type !== 'promotion') throw new PromotionNotFoundError(id);
    const events = (await fetchHistory(client, id)).events ?? [];
    if (description.status.name === 'RUNNING') {
      const status = sealedHistory(events)
        ? await liveStatus(client, id, events)
        : await queriedStatus(client, id, handle.query(statusQuery));
      // Say who holds the lease a layer is waiting for.
      for (const layer of status.layers.filter((l) => l.phase === 'waiting-for-lease')) {
        const env = await client.workflow
          .getHandle(environmentWorkflowId(description.taskQueue, layer.name))
          .query(environmentQuery)
          .catch(() => undefined);
        layer.lease = env?.lease ?? null;
      }
      return status;
    }
    const status = statusFromHistory(id, events, description.status.name.toLowerCase());
    // Sealed layers that ended without a result (terminated with their promotion) keep their state
    // in their own history.
    for (const [i, layer] of status.layers.entries()) {
      if (!layer.workflowId || isTerminalPhase(layer.phase)) continue;
      const layerEvents = await fetchHistory(client, layer.workflowId)
        .then((h) => h.events ?? [])
        .catch(() => undefined);
      if (layerEvents) status.layers[i] = layerStatusFromHistory(layer, layerEvents);
    }
    return status;
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) throw new PromotionNotFoundError(id);
    throw err;
  }
}

/** A running sealed promotion, from its history and its running layers' histories. */
async function liveStatus(client: Client, id: string, events: HistoryEvent[]): Promise<PromotionStatus> {
  const { tracker, state } = replayPromotion(id, events);
  const status = tracker.status;
  if (state && isTerminal(state)) tracker.end(state);
  await Promise.all(
    status.layers.map(async (layer, i) => {
      if (!layer.workflowId || isTerminalPhase(layer.phase)) return;
      const layerEvents = await fetchHistory(client, layer.workflowId)
        .then((h) => h.events ?? [])
        .catch(() => undefined);
      if (!layerEvents) return;
      const live = liveLayerStatus(layer, layerEvents) ?? (await queryLayer(client, layer.workflowId));
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
async function queriedStatus(client: Client, id: string, query: Promise<PromotionStatus>): Promise<PromotionStatus> {
  const status = await query;
  await withLiveLayers(client, status);
  shareTraceId(status);
  return status;
}

/**
 * A sealed promotion knows its layers' results, not what a running layer is doing: that is the
 * layer workflow's own state, answered by its layerStatus query (no signal writes it). A layer that
 * ended between the two queries answers from its final state too.
 */
async function withLiveLayers(client: Client, status: PromotionStatus): Promise<void> {
  for (const [i, layer] of status.layers.entries()) {
    if (!layer.workflowId || isTerminalPhase(layer.phase)) continue;
    const live = await queryLayer(client, layer.workflowId);
    if (live) status.layers[i] = live;
  }
  settleState(status);
}

/** A running layer's own answer to its layerStatus query, or undefined if it gives none. */
async function queryLayer(client: Client, workflowId: string): Promise<LayerStatus | undefined> {
  const live = await client.workflow
    .getHandle(workflowId)
    .query(layerStatusQuery)
    .catch(() => undefined);
  return live ? { ...live, workflowId } : undefined;
}

/** A promotion that has not ended awaits approval while one of its layers does. */
function settleState(status: PromotionStatus): void {
  if (!isTerminal(status.state)) {
    status.state = status.layers.some((l) => l.phase === 'awaiting-approval') ? 'awaiting-approval' : 'running';
  }
}

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;

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

export async function waitForResult(client: Client, id: string): Promise<PromotionResult> {
  try {
    return (await client.workflow.getHandle<typeof promotion>(id).result()) as PromotionResult;
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) throw new PromotionNotFoundError(id);
    throw err;
  }
}

async function update<R, A>(client: Client, id: string, run: () => Promise<R>, _arg?: A): Promise<R> {
  try {
    return await run();
  } catch (err) {
    if (err instanceof WorkflowUpdateFailedError) {
      const cause = err.cause as Error | undefined;
      throw new RefusedError(cause?.message ?? err.message);
    }
    if (err instanceof WorkflowNotFoundError || (err as Error)?.message?.includes('already completed')) {
      // An Update to a closed workflow reads as "not found": tell the two apart.
      const ended = await client.workflow
        .getHandle(id)
        .describe()
        .then((d) => d.status.name.toLowerCase())
        .catch(() => undefined);
      if (ended) throw new RefusedError(`promotion ${id} has already ended (workflow ${ended})`);
      throw new PromotionNotFoundError(id);
    }
    throw err;
  }
}

/**
 * An approval or rejection goes to the workflow that owns the decision: the layer's own (since
 * `sealed-decisions`). A layer that has not started or has ended, and promotions started before
 * the layers took their own approvals, get it at the promotion, which decides or refuses on the record.
 */
async function decideLayer(
  client: Client,
  id: string,
  req: ApprovalRequest,
  message: typeof approveUpdate | typeof rejectUpdate,
): Promise<ApprovalReply> {
  const layerId = layerWorkflowId(id, String(req?.layer ?? ''));
  try {
    return await client.workflow.getHandle(layerId).executeUpdate(message, { args: [req] });
  } catch (err) {
    const unhandled =
      err instanceof WorkflowUpdateFailedError &&
      String((err.cause as Error | undefined)?.message).startsWith('No registered handler for update');
    const gone = err instanceof WorkflowNotFoundError || (err as Error)?.message?.includes('already completed');
    if (!unhandled && !gone) return update(client, id, () => Promise.reject(err));
  }
  return update(client, id, () => client.workflow.getHandle(id).executeUpdate(message, { args: [req] }));
}

export function approve(client: Client, id: string, req: ApprovalRequest): Promise<ApprovalReply> {
  return decideLayer(client, id, req, approveUpdate);
}

export function reject(client: Client, id: string, req: ApprovalRequest): Promise<ApprovalReply> {
  return decideLayer(client, id, req, rejectUpdate);
}

export function abort(client: Client, id: string, req: AbortRequest): Promise<{ aborted: true }> {
  return update(client, id, () => client.workflow.getHandle(id).executeUpdate(abortUpdate, { args: [req] }));
}

export interface PromotionSummary {
  id: string;
  candidate: string;
  version: string;
  layer: string;
  phase: string;
  startTime: string;
  closeTime: string | null;
}

export async function listPromotions(
  client: Client,
  opts: { phase?: PromotionState; limit?: number } = {},
): Promise<PromotionSummary[]> {
  const limit = opts.limit ?? 100;
  // Sealed promotions do not record that a layer awaits approval (no signal tells them): the layer
  // does, in its own StrataPhase. The running layers of each page of promotions are asked which of
  // them wait for people, so a list costs what it shows, not every promotion parked on the server.
  const askLayers = opts.phase === undefined || opts.phase === 'running' || opts.phase === 'awaiting-approval';
  let query = `WorkflowType = 'promotion'`;
  if (opts.phase === 'awaiting-approval') query += ` AND ExecutionStatus = 'Running'`;
  // Promotions started before StrataState existed keep their state in StrataPhase.
  else if (opts.phase) query += ` AND (${STATE_KEY.name} = '${opts.phase}' OR ${PHASE_KEY.name} = '${opts.phase}')`;
  // A promotion terminated (or timed out) from outside keeps the state it last wrote: running.
  if (opts.phase === 'running') query += ` AND ExecutionStatus = 'Running'`;
  const pageSize = Math.min(limit, LIST_PAGE);
  const out: PromotionSummary[] = [];
  let page: WorkflowExecutionInfo[] = [];
  /** Adds the page's promotions; true once the list is full. */
  const take = async (): Promise<boolean> => {
    const running = page.filter((wf) => wf.status.name === 'RUNNING').map((wf) => wf.workflowId);
    const waiting = askLayers && running.length ? await awaitingApprovalAmong(client, running) : new Set<string>();
    for (const wf of page) {
      const attrs = wf.typedSearchAttributes;
      const recorded = attrs.get(STATE_KEY) ?? attrs.get(PHASE_KEY);
      let phase =
        recorded === undefined || (recorded === 'running' && wf.status.name !== 'RUNNING')
          ? wf.status.name.toLowerCase()
          : recorded;
      if (phase === 'running' && waiting.has(wf.workflowId)) phase = 'awaiting-approval';
      if (opts.phase && phase !== opts.phase) continue;
      out.push({
        id: wf.workflowId,
        candidate: attrs.get(CANDIDATE_KEY) ?? '',
        version: attrs.get(VERSION_KEY) ?? '',
        layer: attrs.get(LAYER_KEY) ?? '',
        phase,
        startTime: wf.startTime.toISOString(),
        closeTime: wf.closeTime?.toISOString() ?? null,
      });
      if (out.length >= limit) return true;
    }
    page = [];
    return false;
  };
  for await (const wf of client.workflow.list({ query, pageSize })) {
    page.push(wf);
    if (page.length >= pageSize && (await take())) return out;
  }
  await take();
  return out;
}

/** Promotions read (and their layers asked about) at a time by `listPromotions`. */
const LIST_PAGE = 100;

/** Which of `promotionIds` (running) have a running layer awaiting approval, from the layers' StrataPhase. */
async function awaitingApprovalAmong(client: Client, promotionIds: readonly string[]): Promise<Set<string>> {
  const ids = new Set<string>();
  const parents = promotionIds.map((id) => `'${id.replace(/'/g, "\\'")}'`).join(', ');
  const query =
    `WorkflowType = 'layer' AND ExecutionStatus = 'Running' AND ${PHASE_KEY.name} = 'awaiting-approval'` +
    ` AND ParentWorkflowId IN (${parents})`;
  for await (const wf of client.workflow.list({ query, pageSize: promotionIds.length })) {
    const parent = wf.parentExecution?.workflowId;
    if (parent) ids.add(parent);
  }
  return ids;
}
