// Notices of a waiting approval: that it is wanted, the reminders and the escalation while it waits
// (when each falls due, who may approve once it has escalated), and its expiry; and what a
// notification about each says. Pure: the layer workflow waits on durable timers between the steps
// and hands each notice to the notify activity.

import type { ApprovalPolicy } from './ladder';
import { parseDuration } from './duration';
import { sha256Hex } from './sha256';
import { allowedApprovers } from './approval';

// Defined beside the approval rules (status reads it without this module's hashing); the layer
// workflow and the tests import it from here.
export { allowedApprovers };

/**
 * What a notification is about: the approval is wanted (the layer began waiting), a reminder, the
 * escalation, or the approval expired (the layer failed for want of it).
 */
export type ApprovalNoticeKind = 'request' | 'reminder' | 'escalation' | 'expiry';

/** The webhook event of each kind of notice (the X-Strata-Event header, and `event` in a signed body). */
export const NOTICE_EVENTS = {
  request: 'approval.requested',
  reminder: 'approval.reminder',
  escalation: 'approval.escalated',
  expiry: 'approval.expired',
} as const satisfies Record<ApprovalNoticeKind, string>;
export type ApprovalNoticeEvent = (typeof NOTICE_EVENTS)[ApprovalNoticeKind];

/** One step of a waiting approval, `atMs` after the layer began awaiting it. */
export interface ApprovalReminderStep {
  kind: 'reminder' | 'escalation';
  atMs: number;
  /** 1-based among the steps of its kind (reminder 1, reminder 2, …). */
  sequence: number;
  /** How many steps of its kind there are. */
  of: number;
}

type ManualPolicy = Extract<ApprovalPolicy, { mode: 'manual' }>;

/** Whether a layer's approval has reminders or an escalation to wait for. */
export function hasReminderSchedule(policy: ApprovalPolicy): policy is ManualPolicy {
  return policy.mode === 'manual' && ((policy.remind?.length ?? 0) > 0 || policy.escalate !== undefined);
}

/**
 * The reminders and the escalation of a manual approval, in time order (a reminder due at the same
 * moment as the escalation comes first). Steps at or after the expiry are dropped: the config
 * refuses them, and a layer never waits past its expiry.
 */
export function approvalReminderSchedule(policy: ApprovalPolicy): ApprovalReminderStep[] {
  if (policy.mode !== 'manual') return [];
  const expiryMs = parseDuration(policy.expiry) ?? Number.POSITIVE_INFINITY;
  const reminders = (policy.remind ?? []).map((d) => parseDuration(d) ?? Number.NaN);
  const steps: ApprovalReminderStep[] = reminders.map((atMs, i) => ({
    kind: 'reminder',
    atMs,
    sequence: i + 1,
    of: reminders.length,
  }));
  const escalateMs = policy.escalate ? (parseDuration(policy.escalate.after) ?? Number.NaN) : Number.NaN;
  if (policy.escalate) steps.push({ kind: 'escalation', atMs: escalateMs, sequence: 1, of: 1 });
  return steps
    .filter((s) => Number.isFinite(s.atMs) && s.atMs > 0 && s.atMs < expiryMs)
    .map((s, i) => ({ s, i }))
    .sort((a, b) => a.s.atMs - b.s.atMs || a.i - b.i)
    .map(({ s }) => s);
}

/** The policy the layer checks approvals against: widened once the approval has escalated. */
export function effectivePolicy(policy: ApprovalPolicy, escalated: boolean): ApprovalPolicy {
  if (policy.mode !== 'manual' || !escalated || !policy.escalate) return policy;
  return { ...policy, approvers: allowedApprovers(policy, true) };
}

/**
 * The idempotency key of one notification: the same for every attempt (and every replay) of it, and
 * distinct for each workflow, layer, kind and sequence. Receivers deduplicate on it.
 */
export function notificationKey(workflowId: string, layer: string, kind: ApprovalNoticeKind, sequence: number): string {
  return `strata-${sha256Hex(`${workflowId}\n${layer}\n${kind}\n${sequence}`).slice(0, 40)}`;
}

/**
 * What one notification says: identifiers, names and people only — never a data value, a gate's
 * measurement or an approval's reason.
 */
export interface ApprovalNotice {
  /** NOTICE_EVENTS[kind]: `approval.requested`, `approval.reminder`, `approval.escalated` or `approval.expired`. */
  event: ApprovalNoticeEvent;
  kind: ApprovalNoticeKind;
  promotionId: string;
  /** The layer workflow's id (the one the approvals go to). */
  workflowId: string;
  layer: string;
  candidate: { name: string; version: string };
  /** Reminder `sequence` of `of` (1 of 1 for the request, the escalation and the expiry). */
  sequence: number;
  of: number;
  /** Who may approve now (after an escalation: including the escalation's entries). */
  approvers: string[];
  /** The entries the escalation admitted (escalation only). */
  escalatedTo?: string[];
  required: number;
  /** Distinct approvals so far. */
  approvals: number;
  /** How long the layer has waited ("0s" for the request), and how long it waits in all before it expires ("72h"). */
  waited: string;
  expiry: string;
  /** Same for every attempt of this notification (see notificationKey). */
  idempotencyKey: string;
}

/** A duration in milliseconds as the shortest config-style string ("20h", "90s", "1h30m"). */
export function formatDurationMs(ms: number): string {
  if (!Number.isFinite(ms) || ms <= 0) return '0s';
  const units: Array<[string, number]> = [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1000],
    ['ms', 1],
  ];
  let rest = Math.round(ms);
  let out = '';
  for (const [unit, size] of units) {
    const n = Math.floor(rest / size);
    if (n > 0) {
      out += `${n}${unit}`;
      rest -= n * size;
    }
  }
  return out;
}
