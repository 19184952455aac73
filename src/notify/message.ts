// The bodies of approval notifications. Identifiers, names and people only: the promotion, the
// layer, the candidate's name and version, who may approve, how long it has waited, and links —
// never a gate's measurement, a data value or an approval's reason.

import type { ApprovalNotice } from '../domain/approval-reminders';

/** The JSON body of a `signed` webhook. */
export function signedBody(notice: ApprovalNotice, opts: { link?: string; sentAt: string }): string {
  return JSON.stringify({
    event: notice.event,
    idempotencyKey: notice.idempotencyKey,
    sentAt: opts.sentAt,
    promotionId: notice.promotionId,
    workflowId: notice.workflowId,
    layer: notice.layer,
    candidate: notice.candidate,
    ...(notice.kind === 'reminder' ? { reminder: { sequence: notice.sequence, of: notice.of } } : {}),
    ...(notice.escalatedTo ? { escalatedTo: notice.escalatedTo } : {}),
    approvers: notice.approvers,
    required: notice.required,
    approvals: notice.approvals,
    waited: notice.waited,
    expiry: notice.expiry,
    approve: `strata approve ${notice.promotionId} --layer ${notice.layer} --reason '…'`,
    ...(opts.link ? { links: { inbox: `${opts.link}/` } } : {}),
  });
}

/** The text of a Slack-compatible incoming webhook ({"text": …}, Slack's mrkdwn). */
export function slackText(notice: ApprovalNotice, opts: { link?: string }): string {
  const head =
    notice.kind === 'escalation'
      ? `:rotating_light: *Escalated*: layer *${notice.layer}* has waited ${notice.waited} without a quorum; ${(notice.escalatedTo ?? []).join(', ')} may now approve`
      : `:bell: *Reminder ${notice.sequence}/${notice.of}*: layer *${notice.layer}* has awaited approval for ${notice.waited}`;
  const lines = [
    head,
    `Promotion \`${notice.promotionId}\` of ${notice.candidate.name} ${notice.candidate.version}: ${notice.approvals}/${notice.required} approvals, expires after ${notice.expiry}.`,
    `Who may approve: ${notice.approvers.join(', ')}`,
    opts.link
      ? `<${opts.link}/|Open the approval inbox>`
      : `\`strata approve ${notice.promotionId} --layer ${notice.layer} --reason '…'\``,
  ];
  return lines.join('\n');
}
