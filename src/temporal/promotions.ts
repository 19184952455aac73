import { randomBytes } from 'node:crypto';
import {
  type Client,
  WorkflowExecutionAlreadyStartedError,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
} from '@temporalio/client';
import { storeCandidate } from '../artifacts/store';
import { normalizeIdentity } from '../domain/identity';
import type { CandidateRef, LadderSpec, LayerSpec } from '../domain/ladder';
import type { Decision } from '../domain/approval';
import type { LayerResult, PromotionResult } from '../domain/promotion';
import { PromotionTracker } from '../domain/promotion-tracker';
import type { PromotionState, PromotionStatus } from '../domain/status';
import {
  type AbortRequest,
  type ApprovalReply,
  type ApprovalRequest,
  type LayerProgress,
  abortUpdate,
  approveUpdate,
  layerProgressSignal,
  rejectUpdate,
  statusQuery,
} from '../../workflows/messages';
import type { promotion } from '../../workflows/promotion';
import { environmentQuery } from '../../workflows/environment-messages';
import { environmentWorkflowId } from '../domain/environment';
import type { PromotionInput } from '../domain/promotion';
import { defaultPayloadConverter } from '@temporalio/common';
import { tsToDate } from '@temporalio/common/lib/time';
import type { temporal } from '@temporalio/proto';
import { CANDIDATE_KEY, LAYER_KEY, PHASE_KEY, STATE_KEY, VERSION_KEY } from '../../workflows/search-attributes';

/** A request the workflow refused (approval by the initiator, abort of an ended promotion, …). */
export class RefusedError extends Error {
  override name = 'RefusedError';
}

export class PromotionNotFoundError extends Error {
  override name = 'PromotionNotFoundError';
  constructor(readonly id: string) {
    super(`no promotion with id "${id}" (see \`strata list\`)`);
  }
}

/** candidate-version-xxxxxx: readable, and unique enough for one machine or team. */
export function derivePromotionId(candidate: CandidateRef): string {
  const safe = `${candidate.name}-${candidate.version}`.replace(/[^A-Za-z0-9._-]/g, '-');
  return `${safe}-${randomBytes(3).toString('hex')}`;
}

/**
 * Seals the candidate in the artifact store (`artifacts`, the workers' $STRATA_HOME/artifacts)
 * and starts its promotion. Workers deploy from the store entry the digest names, never from
 * `candidate.dir`; an entry stored before is re-verified, not rewritten.
 */
export async function startPromotion(
  client: Client,
  args: {
    id?: string;
    ladder: LadderSpec;
    layers: LayerSpec[];
    candidate: CandidateRef;
    initiator: string;
    taskQueue: string;
    /** The artifact store's root ($STRATA_HOME/artifacts, `StrataPaths.artifacts`). */
    artifacts: string;
  },
): Promise<string> {
  const id = args.id ?? derivePromotionId(args.candidate);
  await storeCandidate(args.candidate, args.artifacts);
  try {
    await client.workflow.start<typeof promotion>('promotion', {
      workflowId: id,
      taskQueue: args.taskQueue,
      args: [
        {
          ladderName: args.ladder.name,
          layers: args.layers,
          candidate: args.candidate,
          initiator: normalizeIdentity(args.initiator),
        },
      ],
      typedSearchAttributes: [
        { key: CANDIDATE_KEY, value: args.candidate.name },
        { key: VERSION_KEY, value: args.candidate.version },
        { key: LAYER_KEY, value: args.layers[0].name },
        { key: STATE_KEY, value: 'running' },
      ],
    });
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError) {
      throw new RefusedError(`a promotion with id "${id}" already exists; choose another --id`);
    }
    throw err;
  }
  return id;
}

/**
 * A running promotion answers the `status` query; an ended one is read from its history, so status
 * works without a worker and long after the fact.
 */
export async function getStatus(client: Client, id: string): Promise<PromotionStatus> {
  const handle = client.workflow.getHandle(id);
  try {
    const description = await handle.describe();
    if (description.type !== 'promotion') throw new PromotionNotFoundError(id);
    if (description.status.name === 'RUNNING') {
      const status = await handle.query(statusQuery);
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
    const history = await handle.fetchHistory();
    return statusFromHistory(id, history.events ?? [], description.status.name.toLowerCase());
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) throw new PromotionNotFoundError(id);
    throw err;
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
  const input = decode<PromotionInput>(events[0]?.workflowExecutionStartedEventAttributes?.input);
  if (!input) throw new Error(`promotion ${id}: its history does not start with the promotion's input`);
  const tracker = new PromotionTracker(id, input, normalizeIdentity(input.initiator));
  let reason = `workflow ended ${closedAs}`;
  // Decisions in the order their handlers ran (acceptance), kept once they completed successfully.
  const decisions: Array<{ updateId: string; decision: Decision; reason: string; at: string }> = [];
  const granted = new Map<string, ApprovalReply>();
  let workflowTime = '';

  for (const e of events) {
    if (e.workflowTaskStartedEventAttributes && e.eventTime) {
      // Workflow code sees this time as "now" (an approval's `at`).
      workflowTime = tsToDate(e.eventTime).toISOString();
    } else if (e.workflowExecutionSignaledEventAttributes?.signalName === layerProgressSignal.name) {
      const progress = decode<LayerProgress>(e.workflowExecutionSignaledEventAttributes.input);
      if (progress) tracker.applyProgress(progress);
    } else if (e.childWorkflowExecutionCompletedEventAttributes) {
      const result = decode<LayerResult>(e.childWorkflowExecutionCompletedEventAttributes.result);
      if (result) tracker.applyLayerResult(result);
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
    } else if (e.workflowExecutionCompletedEventAttributes) {
      const result = decode<PromotionResult>(e.workflowExecutionCompletedEventAttributes.result);
      if (result) return statusFromResult(tracker.status, result);
    } else if (e.workflowExecutionTerminatedEventAttributes?.reason) {
      reason = `workflow ended ${closedAs}: ${e.workflowExecutionTerminatedEventAttributes.reason}`;
    } else if (e.workflowExecutionFailedEventAttributes?.failure?.message) {
      reason = `workflow ended ${closedAs}: ${e.workflowExecutionFailedEventAttributes.failure.message}`;
    }
  }
  for (const d of decisions) {
    const reply = granted.get(d.updateId);
    if (reply)
      tracker.recordApproval(reply.layer, { actor: reply.actor, decision: d.decision, reason: d.reason, at: d.at });
  }
  tracker.end('failed', reason);
  return tracker.status;
}

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

export function approve(client: Client, id: string, req: ApprovalRequest): Promise<ApprovalReply> {
  return update(client, id, () => client.workflow.getHandle(id).executeUpdate(approveUpdate, { args: [req] }));
}

export function reject(client: Client, id: string, req: ApprovalRequest): Promise<ApprovalReply> {
  return update(client, id, () => client.workflow.getHandle(id).executeUpdate(rejectUpdate, { args: [req] }));
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
  let query = `WorkflowType = 'promotion'`;
  // Promotions started before StrataState existed keep their state in StrataPhase.
  if (opts.phase) query += ` AND (${STATE_KEY.name} = '${opts.phase}' OR ${PHASE_KEY.name} = '${opts.phase}')`;
  const out: PromotionSummary[] = [];
  for await (const wf of client.workflow.list({ query })) {
    const attrs = wf.typedSearchAttributes;
    out.push({
      id: wf.workflowId,
      candidate: attrs.get(CANDIDATE_KEY) ?? '',
      version: attrs.get(VERSION_KEY) ?? '',
      layer: attrs.get(LAYER_KEY) ?? '',
      phase: attrs.get(STATE_KEY) ?? attrs.get(PHASE_KEY) ?? wf.status.name.toLowerCase(),
      startTime: wf.startTime.toISOString(),
      closeTime: wf.closeTime?.toISOString() ?? null,
    });
    if (out.length >= (opts.limit ?? 100)) break;
  }
  return out;
}
