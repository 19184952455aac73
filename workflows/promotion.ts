import {
  ApplicationFailure,
  allHandlersFinished,
  ChildWorkflowHandle,
  condition,
  ParentClosePolicy,
  setHandler,
  startChild,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import { evaluateApproval, type Decision } from '../src/domain/approval';
import { normalizeIdentity } from '../src/domain/identity';
import { layerWorkflowId, type LayerResult, type PromotionInput, type PromotionResult } from '../src/domain/promotion';
import type { LayerStatus, PromotionState, PromotionStatus } from '../src/domain/status';
import { layer as layerWorkflow } from './layer';
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
import { CANDIDATE_KEY, LAYER_KEY, PHASE_KEY, VERSION_KEY } from './search-attributes';

/**
 * A promotion: one candidate climbs the given layers in order, each as a child `layer` workflow
 * with a derived id. It stops at the first layer that does not promote. Approvals and aborts are
 * Updates handled here, where every attempt — granted or refused — lands in history.
 */
export async function promotion(input: PromotionInput): Promise<PromotionResult> {
  const id = workflowInfo().workflowId;
  const initiator = normalizeIdentity(input.initiator);
  const status: PromotionStatus = {
    id,
    candidate: { name: input.candidate.name, version: input.candidate.version, digest: input.candidate.digest },
    initiator,
    state: 'running',
    layers: input.layers.map((l): LayerStatus => ({
      name: l.name,
      phase: 'pending',
      running: null,
      gates: [],
      approval:
        l.approval.mode === 'manual'
          ? { required: l.approval.required, allowed: l.approval.approvers }
          : { required: 0, allowed: [] },
      approvals: [],
    })),
  };
  const specs = new Map(input.layers.map((l) => [l.name, l]));
  const decided = new Set<string>();
  let current: { name: string; handle: ChildWorkflowHandle<typeof layerWorkflow> } | undefined;
  let abortRequest: { actor: string; reason: string } | undefined;

  const setState = (state: PromotionState) => {
    if (status.state === state) return;
    status.state = state;
    upsertSearchAttributes([{ key: PHASE_KEY, value: state }]);
  };

  setHandler(statusQuery, () => status);

  setHandler(layerProgressSignal, (p) => {
    const l = status.layers.find((x) => x.name === p.layer);
    if (!l) return;
    if (p.phase) l.phase = p.phase;
    if (p.running !== undefined) l.running = p.running;
    if (p.gate) l.gates.push(p.gate);
    if (p.failure) l.failure = p.failure;
    if (p.data) l.data = p.data;
    if (!['promoted', 'failed', 'aborted'].includes(status.state)) {
      setState(status.layers.some((x) => x.phase === 'awaiting-approval') ? 'awaiting-approval' : 'running');
    }
  });

  const decide = async (decision: Decision, req: ApprovalRequest): Promise<ApprovalReply> => {
    const actor = normalizeIdentity(String(req?.actor ?? ''));
    const reason = String(req?.reason ?? '').trim();
    const layerName = String(req?.layer ?? '').trim();
    const l = status.layers.find((x) => x.name === layerName);
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
    });
    if (outcome.kind === 'refused' || outcome.kind === 'duplicate') {
      throw ApplicationFailure.create({ type: APPROVAL_REFUSED, nonRetryable: true, message: outcome.reason });
    }
    l.approvals.push({ actor, decision, reason, at: new Date().toISOString() });
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

  setHandler(approveUpdate, (req) => decide('approve', req));
  setHandler(rejectUpdate, (req) => decide('reject', req));

  setHandler(abortUpdate, async (req) => {
    const actor = normalizeIdentity(String(req?.actor ?? ''));
    const reason = String(req?.reason ?? '').trim();
    const refuse = (message: string) => ApplicationFailure.create({ type: ABORT_REFUSED, nonRetryable: true, message });
    if (!actor) throw refuse('an identity is required to abort (--as)');
    if (!reason) throw refuse('a reason is required to abort (--reason)');
    if (abortRequest) throw refuse(`promotion ${id} is already being aborted by ${abortRequest.actor}`);
    if (['promoted', 'failed', 'aborted'].includes(status.state)) {
      throw refuse(`promotion ${id} has already ended (${status.state})`);
    }
    abortRequest = { actor, reason };
    if (current && !decided.has(current.name)) {
      await current.handle.signal(layerDecisionSignal, { kind: 'aborted', actor, reason });
    }
    return { aborted: true as const };
  });

  const results: LayerResult[] = [];
  for (const spec of input.layers) {
    if (abortRequest) break;
    upsertSearchAttributes([{ key: LAYER_KEY, value: spec.name }]);
    const handle = await startChild(layerWorkflow, {
      workflowId: layerWorkflowId(id, spec.name),
      args: [{ promotionId: id, layer: spec, candidate: input.candidate, initiator }],
      parentClosePolicy: ParentClosePolicy.TERMINATE,
      typedSearchAttributes: [
        { key: CANDIDATE_KEY, value: input.candidate.name },
        { key: VERSION_KEY, value: input.candidate.version },
        { key: LAYER_KEY, value: spec.name },
        { key: PHASE_KEY, value: 'pending' },
      ],
    });
    current = { name: spec.name, handle };
    // An abort that arrived while the child was starting.
    const pendingAbort = abortRequest as { actor: string; reason: string } | undefined;
    if (pendingAbort) {
      await handle.signal(layerDecisionSignal, { kind: 'aborted', ...pendingAbort });
    }
    const result = await handle.result();
    results.push(result);
    const l = status.layers.find((x) => x.name === spec.name)!;
    l.phase = result.phase;
    l.running = result.running;
    l.gates = result.gates;
    if (result.failure) l.failure = result.failure;
    current = undefined;
    if (result.outcome !== 'promoted') {
      status.reason = `layer ${spec.name}: ${result.failure ?? result.outcome}`;
      setState(result.outcome === 'aborted' ? 'aborted' : 'failed');
      break;
    }
  }
  if (abortRequest && status.state !== 'aborted' && status.state !== 'failed') {
    status.reason = `aborted by ${abortRequest.actor}: ${abortRequest.reason}`;
    setState('aborted');
  } else if (status.state === 'running' || status.state === 'awaiting-approval') {
    setState('promoted');
  }

  // Let in-flight Update handlers reply before the workflow completes.
  await condition(allHandlersFinished);
  return {
    id,
    state: status.state,
    reason: status.reason,
    layers: status.layers.map((l) => ({
      name: l.name,
      phase: l.phase,
      running: l.running,
      gates: l.gates,
      approvals: l.approvals,
      failure: l.failure,
      ...(l.data ? { data: l.data } : {}),
    })),
  };
}

function countApprovals(l: LayerStatus): number {
  return new Set(l.approvals.filter((a) => a.decision === 'approve').map((a) => a.actor)).size;
}
