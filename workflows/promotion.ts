import {
  ApplicationFailure,
  allHandlersFinished,
  ChildWorkflowHandle,
  condition,
  getExternalWorkflowHandle,
  ParentClosePolicy,
  setHandler,
  startChild,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import { evaluateApproval, type Decision } from '../src/domain/approval';
import { normalizeIdentity } from '../src/domain/identity';
import { layerWorkflowId, type PromotionInput, type PromotionResult } from '../src/domain/promotion';
import { PromotionTracker } from '../src/domain/promotion-tracker';
import { isTerminal, isTerminalPhase, type LayerStatus, type PromotionState } from '../src/domain/status';
import { layer as layerWorkflow } from './layer';
import { pinLadder } from './ladder-pin';
import { generation } from './generation';
import {
  ABORT_REFUSED,
  APPROVAL_REFUSED,
  type ApprovalReply,
  type ApprovalRequest,
  abortUpdate,
  approveUpdate,
  layerDecisionSignal,
  layerProgressSignal,
  rejectUpdate,
  statusQuery,
} from './messages';
import { CANDIDATE_KEY, LAYER_KEY, PHASE_KEY, STATE_KEY, VERSION_KEY } from './search-attributes';

/**
 * A promotion: one candidate climbs the given layers in order, each as a child `layer` workflow
 * with a derived id. It stops at the first layer that does not promote. An abort is an Update
 * handled here; approvals are Updates on the layer that awaits them (since `sealed-decisions`),
 * and one sent here is refused. Every attempt — granted or refused — lands in a history.
 */
export async function promotion(requested: PromotionInput): Promise<PromotionResult> {
  const since = generation();
  const input = await pinLadder(requested, since);
  const id = workflowInfo().workflowId;
  // Promotions started before sealed-decisions took approvals here, passed decisions to their
  // layers by signal and built status from the layers' progress signals: they replay that way.
  const sealed = since('sealed-decisions');
  const initiator = normalizeIdentity(input.initiator);
  const tracker = new PromotionTracker(id, input, initiator);
  const status = tracker.status;
  const specs = new Map(input.layers.map((l) => [l.name, l]));
  const decided = new Set<string>();
  let current: { name: string; handle: ChildWorkflowHandle<typeof layerWorkflow> } | undefined;
  let abortRequest: { actor: string; reason: string } | undefined;

  // Promotions started before StrataState existed keep their state in StrataPhase.
  const stateKey = since('strata-state-search-attribute') ? STATE_KEY : PHASE_KEY;
  const setState = (state: PromotionState, reason?: string) => {
    if (status.state === state) return;
    tracker.end(state, reason);
    upsertSearchAttributes([{ key: stateKey, value: state }]);
  };

  setHandler(statusQuery, () => status);

  if (!sealed) {
    setHandler(layerProgressSignal, (p) => {
      const state = tracker.applyProgress(p);
      if (state) setState(state);
    });
  }

  // Only promotions started before sealed-decisions decide here: they compare identities folded.
  const decide = async (decision: Decision, req: ApprovalRequest): Promise<ApprovalReply> => {
    const actor = normalizeIdentity(String(req?.actor ?? ''), 'folded');
    const reason = String(req?.reason ?? '').trim();
    const layerName = String(req?.layer ?? '').trim();
    const l = tracker.layer(layerName);
    const spec = specs.get(layerName);
    if (!l || !spec) {
      throw ApplicationFailure.create({
        type: APPROVAL_REFUSED,
        nonRetryable: true,
        message: `promotion ${id} has no layer "${layerName}" (layers: ${status.layers.map((x) => x.name).join(', ')})`,
      });
    }
    const phase = decided.has(l.name) || abortRequest ? 'decided' : l.phase;
    const outcome = evaluateApproval({
      layer: l.name,
      phase,
      policy: spec.approval,
      initiator,
      approvals: l.approvals,
      attempt: { actor, decision, reason },
      comparison: 'folded',
    });
    if (outcome.kind === 'refused' || outcome.kind === 'duplicate') {
      throw ApplicationFailure.create({ type: APPROVAL_REFUSED, nonRetryable: true, message: outcome.reason });
    }
    tracker.recordApproval(l.name, { actor, decision, reason, at: new Date().toISOString() });
    const required = spec.approval.mode === 'manual' ? spec.approval.required : 0;
    if (outcome.kind === 'rejected') {
      decided.add(l.name);
      await current?.handle.signal(layerDecisionSignal, { kind: 'rejected', actor, reason });
      return { layer: l.name, decision, actor, count: countApprovals(l), required, quorumReached: false };
    }
    if (outcome.quorumReached) {
      decided.add(l.name);
      const approvers = l.approvals.filter((a) => a.decision === 'approve').map((a) => a.actor);
      await current?.handle.signal(layerDecisionSignal, { kind: 'approved', approvers });
    }
    return { layer: l.name, decision, actor, count: outcome.count, required, quorumReached: outcome.quorumReached };
  };

  /** Sealed: the decision belongs to the layer's own workflow; here an approval is refused, on the record. */
  const refuseHere = (req: ApprovalRequest): never => {
    const layerName = String(req?.layer ?? '').trim();
    const l = tracker.layer(layerName);
    const message = !l
      ? `promotion ${id} has no layer "${layerName}" (layers: ${status.layers.map((x) => x.name).join(', ')})`
      : l.workflowId && !isTerminalPhase(l.phase)
        ? `layer ${l.name} takes its approvals on its own workflow ${l.workflowId}`
        : `layer ${l.name} is not awaiting approval (phase: ${l.phase})`;
    throw ApplicationFailure.create({ type: APPROVAL_REFUSED, nonRetryable: true, message });
  };
  setHandler(approveUpdate, (req) => (sealed ? refuseHere(req) : decide('approve', req)));
  setHandler(rejectUpdate, (req) => (sealed ? refuseHere(req) : decide('reject', req)));

  /** Sealed: an abort reaches the running layer as a cancellation request, never as a signal. */
  const stopLayer = async (workflowId: string, pendingAbort: { actor: string; reason: string }) => {
    if (sealed) {
      // The layer may have ended meanwhile: nothing left to stop.
      await getExternalWorkflowHandle(workflowId)
        .cancel()
        .catch(() => undefined);
    } else {
      await getExternalWorkflowHandle(workflowId).signal(layerDecisionSignal, { kind: 'aborted', ...pendingAbort });
    }
  };

  setHandler(abortUpdate, async (req) => {
    const actor = normalizeIdentity(String(req?.actor ?? ''));
    const reason = String(req?.reason ?? '').trim();
    const refuse = (message: string) => ApplicationFailure.create({ type: ABORT_REFUSED, nonRetryable: true, message });
    if (!actor) throw refuse('an identity is required to abort (--as)');
    if (!reason) throw refuse('a reason is required to abort (--reason)');
    if (abortRequest) throw refuse(`promotion ${id} is already being aborted by ${abortRequest.actor}`);
    if (isTerminal(status.state)) {
      throw refuse(`promotion ${id} has already ended (${status.state})`);
    }
    abortRequest = { actor, reason };
    if (current && !decided.has(current.name)) {
      if (sealed) await stopLayer(current.handle.workflowId, abortRequest);
      else await current.handle.signal(layerDecisionSignal, { kind: 'aborted', actor, reason });
    }
    return { aborted: true as const };
  });

  for (const spec of input.layers) {
    if (abortRequest) break;
    upsertSearchAttributes([{ key: LAYER_KEY, value: spec.name }]);
    const handle = await startChild(layerWorkflow, {
      workflowId: layerWorkflowId(id, spec.name),
      args: [
        {
          promotionId: id,
          layer: spec,
          candidate: input.candidate,
          initiator,
          // The ladder version is part of the evidence an approver is shown (layer.ts).
          ...(input.pinned && since('evidence-digest')
            ? { ladder: { name: input.pinned.name, version: input.pinned.version, digest: input.pinned.digest } }
            : {}),
        },
      ],
      parentClosePolicy: ParentClosePolicy.TERMINATE,
      typedSearchAttributes: [
        { key: CANDIDATE_KEY, value: input.candidate.name },
        { key: VERSION_KEY, value: input.candidate.version },
        { key: LAYER_KEY, value: spec.name },
        { key: PHASE_KEY, value: 'pending' },
      ],
    });
    current = { name: spec.name, handle };
    if (sealed) tracker.startedLayer(spec.name, handle.workflowId);
    // An abort that arrived while the child was starting.
    const pendingAbort = abortRequest as { actor: string; reason: string } | undefined;
    if (pendingAbort) {
      if (sealed) await stopLayer(handle.workflowId, pendingAbort);
      else await handle.signal(layerDecisionSignal, { kind: 'aborted', ...pendingAbort });
    }
    let result = await handle.result();
    // A sealed layer knows it was cancelled, not by whom: the abort Update here does.
    const aborter = abortRequest as { actor: string; reason: string } | undefined;
    if (sealed && result.outcome === 'aborted' && aborter) {
      result = { ...result, failure: `aborted by ${aborter.actor}: ${aborter.reason}` };
    }
    tracker.applyLayerResult(result);
    current = undefined;
    if (result.outcome !== 'promoted') {
      setState(
        result.outcome === 'aborted' ? 'aborted' : 'failed',
        `layer ${spec.name}: ${result.failure ?? result.outcome}`,
      );
      break;
    }
  }
  if (abortRequest && status.state !== 'aborted' && status.state !== 'failed') {
    setState('aborted', `aborted by ${abortRequest.actor}: ${abortRequest.reason}`);
  } else if (!isTerminal(status.state)) {
    setState('promoted');
  }

  // Let in-flight Update handlers reply before the workflow completes.
  await condition(allHandlersFinished);
  return tracker.toResult();
}

function countApprovals(l: LayerStatus): number {
  return new Set(l.approvals.filter((a) => a.decision === 'approve').map((a) => a.actor)).size;
}
