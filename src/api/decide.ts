// One approval or rejection on behalf of a verified caller: the API's approve/reject routes and the
// web inbox both go through here, so the same request reaches the layer's Update and the workflow
// applies the same checks (initiator, approver policy, quorum, stale evidence).

import type { Client } from '@temporalio/client';
import type { ShownEvidence } from '../domain/evidence';
import { approve, reject } from '../temporal/promotions';
import type { ApprovalReply } from '../../workflows/messages';
import type { VerifiedIdentity } from './identity';
import { approverGroups, type Role } from './roles';

export interface Decider {
  identity: VerifiedIdentity;
  roles: readonly Role[];
  actor: string;
  auth: string;
}

/** The groups a policy's `group:<name>` entries admit: the approver roles held, and the OIDC groups. */
export function decisionGroups(who: Decider): string[] {
  return [...new Set([...approverGroups(who.roles), ...who.identity.groups])].sort();
}

export function decideAs(
  client: Client,
  id: string,
  decision: 'approve' | 'reject',
  who: Decider,
  body: { layer: string; reason: string; evidence?: ShownEvidence },
): Promise<ApprovalReply> {
  const request = {
    layer: body.layer,
    reason: body.reason,
    actor: who.actor,
    auth: who.auth,
    groups: decisionGroups(who),
    ...(body.evidence ? { evidence: body.evidence } : {}),
  };
  return decision === 'approve' ? approve(client, id, request) : reject(client, id, request);
}
