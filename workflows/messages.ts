import { defineQuery, defineSignal, defineUpdate } from './define';
import type { ShownEvidence } from '../src/domain/evidence';
import type { LayerProgress } from '../src/domain/promotion';
import type { LayerStatus, PromotionStatus } from '../src/domain/status';

// Messages shared by workflows and clients. Clients import these, never the workflow bodies.

export interface ApprovalRequest {
  layer: string;
  actor: string;
  reason: string;
  /**
   * Set by the API server (`strata serve`): how it verified the actor (`token ci-bot`, `oidc
   * <issuer>`). The audit trail labels the entry `api (<auth>)`; absent, `local (unauthenticated)`.
   */
  auth?: string;
  /** Set by the API server: the verified identity's approver groups, for `group:<name>` policy entries. */
  groups?: string[];
  /**
   * The evidence the approver was shown (src/domain/evidence.ts): its digest, and the digest of each
   * part so that a stale one is refused naming what changed.
   */
  evidence?: ShownEvidence;
}

export interface ApprovalReply {
  layer: string;
  decision: 'approve' | 'reject';
  actor: string;
  /** Distinct approvals so far, and how many the layer needs. */
  count: number;
  required: number;
  quorumReached: boolean;
}

export interface AbortRequest {
  actor: string;
  reason: string;
  /** Set by the API server: how it verified the actor (see ApprovalRequest.auth). */
  auth?: string;
}

/** Approve a layer awaiting approval. Refusals fail the Update with an ApprovalRefused failure. */
export const approveUpdate = defineUpdate<ApprovalReply, [ApprovalRequest]>('approve');
/** Reject a layer awaiting approval: one reject ends the promotion. */
export const rejectUpdate = defineUpdate<ApprovalReply, [ApprovalRequest]>('reject');
/** Abort the promotion: the current layer rolls back and no further layer starts. */
export const abortUpdate = defineUpdate<{ aborted: true }, [AbortRequest]>('abort');
export const statusQuery = defineQuery<PromotionStatus>('status');

/**
 * A layer workflow's own state: status asks each running layer for it. Layers started since
 * `sealed-decisions` hold their approvals and answer approve/reject themselves; nothing else
 * writes their phase or gates.
 */
export const layerStatusQuery = defineQuery<LayerStatus>('layerStatus');

/**
 * Child → parent: what a layer workflow is doing now. Only promotions started before
 * `sealed-decisions` listen to it (a signal anyone can send must not write status).
 */
export type { LayerProgress };
export const layerProgressSignal = defineSignal<[LayerProgress]>('layerProgress');

/**
 * Parent → child: the approval decision (quorum reached, rejected) or an abort. Only layers started
 * before `sealed-decisions` listen to it; later ones take approvals as Updates and aborts as a
 * cancellation request.
 */
export type LayerDecision =
  | { kind: 'approved'; approvers: string[] }
  | { kind: 'rejected'; actor: string; reason: string }
  | { kind: 'aborted'; actor: string; reason: string };
export const layerDecisionSignal = defineSignal<[LayerDecision]>('layerDecision');

export const APPROVAL_REFUSED = 'ApprovalRefused';
export const ABORT_REFUSED = 'AbortRefused';
