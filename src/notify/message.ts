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
    // An expired approval can no longer be given.
    ...(notice.kind === 'expiry'
      ? {}
      : { approve: `strata approve ${notice.promotionId} --layer ${notice.layer} --reason '…'` }),
    ...(opts.link ? { links: { inbox: `${opts.link}/` } } : {}),
  });
}

/** The text of a Slack-compatible incoming webhook ({"text": …}, Slack's mrkdwn). */
export function slackText(notice: ApprovalNotice, opts: { link?: string }): string {
  const promotion = `Promotion \`${notice.promotionId}\` of ${notice.candidate.name} ${notice.candidate.version}`;
  if (notice.kind === 'expiry') {
    return [
      `:hourglass: *Approval expired*: layer *${notice.layer}* waited ${notice.waited} without a quorum and failed`,
      `${promotion}: ${notice.approvals}/${notice.required} approvals. Promote again to ask anew.`,
    ].join('\n');
  }
  const head =
    notice.kind === 'request'
      ? `:inbox_tray: *Approval wanted*: layer *${notice.layer}* passed its gates and awaits approval`
      : notice.kind === 'escalation'
        ? `:rotating_light: *Escalated*: layer *${notice.layer}* has waited ${notice.waited} without a quorum; ${(notice.escalatedTo ?? []).join(', ')} may now approve`
        : `:bell: *Reminder ${notice.sequence}/${notice.of}*: layer *${notice.layer}* has awaited approval for ${notice.waited}`;
  const lines = [
    head,
    `${promotion}: ${notice.approvals}/${notice.required} approvals, expires after ${notice.expiry}.`,
    `Who may approve: ${notice.approvers.join(', ')}`,
    opts.link
      ? `<${opts.link}/|Open the approval inbox>`
      : `\`strata approve ${notice.promotionId} --layer ${notice.layer} --reason '…'\``,
  ];
  return lines.join('\n');
}
