import type { ApprovalPolicy } from './ladder';
import { normalizeIdentity } from './identity';

export type Decision = 'approve' | 'reject';

export interface ApprovalRecord {
  actor: string;
  decision: Decision;
  reason: string;
  /** ISO time (workflow time) the decision was taken. */
  at: string;
}

export interface ApprovalAttempt {
  actor: string;
  decision: Decision;
  reason: string;
}

export type ApprovalOutcome =
  | { kind: 'refused'; reason: string }
  | { kind: 'duplicate'; reason: string }
  | { kind: 'granted'; quorumReached: boolean; count: number; required: number }
  | { kind: 'rejected' };

/**
 * Decides what one approval attempt means for a layer. Pure: the workflow calls it inside its
 * Update handler and records the attempt whatever the outcome, so refusals reach history.
 */
export function evaluateApproval(args: {
  layer: string;
  phase: string;
  policy: ApprovalPolicy;
  initiator: string;
  approvals: ApprovalRecord[];
  attempt: ApprovalAttempt;
}): ApprovalOutcome {
  const { layer, phase, policy, initiator, approvals, attempt } = args;
  const actor = normalizeIdentity(attempt.actor);
  if (actor.length === 0) return { kind: 'refused', reason: 'an approver identity is required' };
  if (attempt.reason.trim().length === 0) return { kind: 'refused', reason: 'a reason is required' };
  if (phase !== 'awaiting-approval') {
    return { kind: 'refused', reason: `layer ${layer} is not awaiting approval (phase: ${phase})` };
  }
  if (policy.mode !== 'manual') {
    return { kind: 'refused', reason: `layer ${layer} is approved automatically` };
  }
  if (actor === normalizeIdentity(initiator)) {
    return { kind: 'refused', reason: `${actor} started this promotion and may not approve it` };
  }
  if (!policy.approvers.map(normalizeIdentity).includes(actor)) {
    return {
      kind: 'refused',
      reason: `${actor} is not an approver of layer ${layer} (allowed: ${policy.approvers.join(', ')})`,
    };
  }
  if (attempt.decision === 'reject') return { kind: 'rejected' };
  const granted = new Set(approvals.filter((a) => a.decision === 'approve').map((a) => normalizeIdentity(a.actor)));
  if (granted.has(actor)) {
    return { kind: 'duplicate', reason: `${actor} has already approved layer ${layer}; an approver counts once` };
  }
  const count = granted.size + 1;
  return { kind: 'granted', quorumReached: count >= policy.required, count, required: policy.required };
}
