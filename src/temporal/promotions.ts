import { randomBytes } from 'node:crypto';
import {
  type Client,
  WorkflowExecutionAlreadyStartedError,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
} from '@temporalio/client';
import { normalizeIdentity } from '../domain/identity';
import type { CandidateRef, LadderSpec, LayerSpec } from '../domain/ladder';
import type { PromotionResult } from '../domain/promotion';
import type { PromotionState, PromotionStatus } from '../domain/status';
import {
  type AbortRequest,
  type ApprovalReply,
  type ApprovalRequest,
  abortUpdate,
  approveUpdate,
  rejectUpdate,
  statusQuery,
} from '../../workflows/messages';
import type { promotion } from '../../workflows/promotion';
import { environmentQuery } from '../../workflows/environment-messages';
import { environmentWorkflowId } from '../domain/environment';
import type { PromotionInput } from '../domain/promotion';
import { defaultPayloadConverter } from '@temporalio/common';
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

export async function startPromotion(
  client: Client,
  args: {
    id?: string;
    ladder: LadderSpec;
    layers: LayerSpec[];
    candidate: CandidateRef;
    initiator: string;
    taskQueue: string;
  },
): Promise<string> {
  const id = args.id ?? derivePromotionId(args.candidate);
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
 * A running promotion answers the `status` query; an ended one is read from its history (input
 * and result), so status works without a worker and long after the fact.
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
    const started = history.events?.[0]?.workflowExecutionStartedEventAttributes;
    const input = defaultPayloadConverter.fromPayload(started!.input!.payloads![0]) as PromotionInput;
    let result: PromotionResult | undefined;
    try {
      result = (await handle.result()) as PromotionResult;
    } catch {
      result = undefined; // terminated or timed out: no result
    }
    return {
      id,
      candidate: { name: input.candidate.name, version: input.candidate.version, digest: input.candidate.digest },
      initiator: input.initiator,
      state: result?.state ?? 'failed',
      reason: result ? result.reason : `workflow ended ${description.status.name.toLowerCase()}`,
      layers: input.layers.map((spec) => {
        const r = result?.layers.find((l) => l.name === spec.name);
        return {
          name: spec.name,
          phase: r?.phase ?? 'pending',
          running: r?.running ?? null,
          gates: r?.gates ?? [],
          approval:
            spec.approval.mode === 'manual'
              ? { required: spec.approval.required, allowed: spec.approval.approvers }
              : { required: 0, allowed: [] },
          approvals: r?.approvals ?? [],
          ...(r?.failure ? { failure: r.failure } : {}),
          ...(r?.data ? { data: r.data } : {}),
        };
      }),
    };
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) throw new PromotionNotFoundError(id);
    throw err;
  }
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
