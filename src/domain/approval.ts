import type { ApprovalPolicy } from './ladder';
import { type EvidenceDigest, shownEvidence, staleEvidence } from './evidence-check';
import { GROUP_PREFIX, type IdentityComparison, normalizeIdentity } from './identity';

export type Decision = 'approve' | 'reject';

export interface ApprovalRecord {
  actor: string;
  decision: Decision;
  reason: string;
  /** ISO time (workflow time) the decision was taken. */
  at: string;
  /**
   * The evidence digest the approver was shown (layers since `evidence-digest`). Absent when a
   * local-mode client sent none (an older client): the audit trail labels that approval
   * `[no evidence digest]`.
   */
  evidence?: string;
}

export interface ApprovalAttempt {
  actor: string;
  decision: Decision;
  reason: string;
  /**
   * The groups the actor's verified identity is in, as the API server resolved them at decision
   * time; a policy entry `group:<name>` admits its members. Only as trustworthy as access to the
   * Temporal frontend (docs/security.md).
   */
  groups?: readonly string[];
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
  /** @default exact-verified */
  comparison?: IdentityComparison;
}): ApprovalOutcome {
  const { layer, phase, policy, initiator, approvals, attempt } = args;
  const comparison = args.comparison ?? 'exact-verified';
  const norm = (raw: string) => normalizeIdentity(raw, comparison);
  const actor = norm(attempt.actor);
  if (actor.length === 0) return { kind: 'refused', reason: 'an approver identity is required' };
  if (attempt.reason.trim().length === 0) return { kind: 'refused', reason: 'a reason is required' };
  if (phase !== 'awaiting-approval') {
    return { kind: 'refused', reason: `layer ${layer} is not awaiting approval (phase: ${phase})` };
  }
  if (policy.mode !== 'manual') {
    return { kind: 'refused', reason: `layer ${layer} is approved automatically` };
  }
  if (actor === norm(initiator)) {
    return { kind: 'refused', reason: `${actor} started this promotion and may not approve it` };
  }
  if (!isApprover(policy.approvers, actor, attempt.groups ?? [], comparison)) {
    return {
      kind: 'refused',
      reason: `${actor} is not an approver of layer ${layer} (allowed: ${policy.approvers.join(', ')})`,
    };
  }
  if (attempt.decision === 'reject') return { kind: 'rejected' };
  const granted = new Set(approvals.filter((a) => a.decision === 'approve').map((a) => norm(a.actor)));
  if (granted.has(actor)) {
    return { kind: 'duplicate', reason: `${actor} has already approved layer ${layer}; an approver counts once` };
  }
  const count = granted.size + 1;
  return { kind: 'granted', quorumReached: count >= policy.required, count, required: policy.required };
}

/** Whether the policy names `actor`, or a group (`group:<name>`) among `groups`. */
export function isApprover(
  approvers: readonly string[],
  actor: string,
  groups: readonly string[],
  comparison: IdentityComparison = 'exact-verified',
): boolean {
  const memberOf = new Set(groups.map((g) => `${GROUP_PREFIX}${normalizeIdentity(g, comparison)}`));
  return approvers
    .map((entry) => normalizeIdentity(entry, comparison))
    .some((entry) => entry === actor || memberOf.has(entry));
}

/** What one approval or rejection did to a layer, once checked: the record to keep and the reply. */
export type ApprovalStep =
  | { kind: 'refused'; reason: string }
  | {
      kind: 'recorded';
      record: ApprovalRecord;
      /** Distinct approvals so far (after this one), and how many the layer needs. */
      count: number;
      required: number;
      quorumReached: boolean;
      /** The layer's decision, once taken: approved by these approvers, or rejected. */
      decided?: { kind: 'approved'; approvers: string[] } | { kind: 'rejected'; actor: string; reason: string };
    };

/**
 * One approval or rejection, checked against the layer's policy and the approvals it already has:
 * the Update handlers of the workflow that owns the decision call it, record the returned record
 * and throw on a refusal (so refusals land in history too). `at` is the workflow's time.
 */
export function takeApproval(args: {
  layer: string;
  phase: string;
  policy: ApprovalPolicy;
  initiator: string;
  approvals: ApprovalRecord[];
  decision: Decision;
  request: { actor?: unknown; reason?: unknown; groups?: unknown; auth?: unknown; evidence?: unknown };
  at: string;
  /** @default exact-verified */
  comparison?: IdentityComparison;
  /**
   * The layer's evidence digest now (layers since `evidence-digest`): a request made on other
   * evidence is refused as stale; one without a digest is refused when it came through the API
   * (`auth` set: the API's clients send it) and taken, labelled, in local mode.
   */
  evidence?: EvidenceDigest;
}): ApprovalStep {
  const comparison = args.comparison ?? 'exact-verified';
  const actor = normalizeIdentity(String(args.request?.actor ?? ''), comparison);
  const groups = Array.isArray(args.request?.groups) ? args.request.groups.map(String) : [];
  const reason = String(args.request?.reason ?? '').trim();
  const outcome = evaluateApproval({
    layer: args.layer,
    phase: args.phase,
    policy: args.policy,
    initiator: args.initiator,
    approvals: args.approvals,
    attempt: { actor, decision: args.decision, reason, groups },
    comparison,
  });
  if (outcome.kind === 'refused' || outcome.kind === 'duplicate') return { kind: 'refused', reason: outcome.reason };
  let evidence: string | undefined;
  if (args.evidence) {
    const shown = shownEvidence(args.request?.evidence);
    const viaApi = typeof args.request?.auth === 'string' && args.request.auth.trim() !== '';
    if (!shown && viaApi)
      return {
        kind: 'refused',
        reason:
          'approval.refused: no evidence digest: an approval through the API carries the digest of the evidence shown',
      };
    const stale = shown && staleEvidence(shown, args.evidence);
    if (stale) return { kind: 'refused', reason: stale };
    evidence = shown?.digest;
  }
  const record: ApprovalRecord = {
    actor,
    decision: args.decision,
    reason,
    at: args.at,
    ...(evidence !== undefined ? { evidence } : {}),
  };
  const required = args.policy.mode === 'manual' ? args.policy.required : 0;
  if (outcome.kind === 'rejected') {
    return {
      kind: 'recorded',
      record,
      count: countApprovers(args.approvals, comparison),
      required,
      quorumReached: false,
      decided: { kind: 'rejected', actor, reason },
    };
  }
  const approvers = [...args.approvals, record].filter((a) => a.decision === 'approve').map((a) => a.actor);
  return {
    kind: 'recorded',
    record,
    count: outcome.count,
    required,
    quorumReached: outcome.quorumReached,
    ...(outcome.quorumReached ? { decided: { kind: 'approved' as const, approvers } } : {}),
  };
}

/** Distinct approvers among a layer's approvals. */
export function countApprovers(approvals: ApprovalRecord[], comparison: IdentityComparison = 'exact-verified'): number {
  return new Set(approvals.filter((a) => a.decision === 'approve').map((a) => normalizeIdentity(a.actor, comparison)))
    .size;
}

/**
 * The approver entries a layer admits: the policy's own, plus the escalation's once escalated.
 * (Here rather than in approval-reminders.ts, whose hashing `strata status` does not need.)
 */
export function allowedApprovers(policy: ApprovalPolicy, escalated: boolean): string[] {
  if (policy.mode !== 'manual') return [];
  if (!escalated || !policy.escalate) return [...policy.approvers];
  return [...new Set([...policy.approvers, ...policy.escalate.to])];
}
