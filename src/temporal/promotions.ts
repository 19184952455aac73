import { randomBytes } from 'node:crypto';
import {
  type Client,
  WorkflowExecutionAlreadyStartedError,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
} from '@temporalio/client';
import { normalizeIdentity } from '../domain/identity';
import type { CandidateRef, LadderSpec, LayerSpec } from '../domain/ladder';
import { layerWorkflowId, type PromotionResult } from '../domain/promotion';
import type { PromotionState } from '../domain/status';
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
import { CANDIDATE_KEY, LAYER_KEY, STATE_KEY, VERSION_KEY } from '../../workflows/search-attributes';
import type { LadderRef } from '../domain/ladder-version';
import { applyLadder } from './ladders';
import { RefusedError } from './refused';
import { PromotionNotFoundError } from './errors';
import { listFrom, type PromotionSummary } from './list';
import { clientReader } from './status';

export { RefusedError } from './refused';

export { PromotionNotFoundError };

// A promotion's status is read in status.ts, which loads no gRPC (the HTTP API's reader uses it).
export { getStatus, layerStatusFromHistory, liveLayerStatus, statusFromHistory, withTraceIds } from './status';

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

export type { PromotionSummary } from './list';

/** `strata list` through the gRPC client: see `listFrom`. */
export function listPromotions(
  client: Client,
  opts: { phase?: PromotionState; limit?: number } = {},
): Promise<PromotionSummary[]> {
  return listFrom(clientReader(client), opts);
}
