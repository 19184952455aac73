import type { Client } from '@temporalio/client';
import { defaultPayloadConverter, tsToDate } from '../temporal/sdk-common';
import type { temporal } from '@temporalio/proto';
import type { PromotionInput, PromotionResult } from '../domain/promotion';
import { type DataSummary, describeData } from '../domain/data';
import type { GateResult } from '../domain/status';
import type { SeedRunResult } from '../domain/seeds';
import { describeGateFailure } from '../domain/promotion';
import type { PinnedLadder } from '../domain/ladder-version';
import type { ApprovalNoticeKind } from '../domain/approval-reminders';
import { traceIdFromHeader } from '../tracing/trace-header';
import { traceLink } from '../tracing/settings';
import { fetchHistory, historyHasPatch } from '../temporal/history';
import { environmentWorkflowId, type EnvironmentState } from '../domain/environment';
import { environmentQuery } from '../../workflows/environment-messages';

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;

export interface AuditEntry {
  /** ISO time of the event; never empty. */
  at: string;
  actor: string;
  action: string;
  layer: string | null;
  detail: string;
  /**
   * How the actor is known. `system`: a step the workflows took on their own. `local
   * (unauthenticated)`: a name given with --as in local mode, free text nobody verified.
   * `temporal client (unverified)`: the identity a Temporal client reported for itself (a
   * terminate, a cancellation request, a signal sent from outside the workflows). `api (<how>)`:
   * the API server (`strata serve`) verified the actor (`api (token ci-bot)`, `api (oidc
   * <issuer>)`); only as trustworthy as access to the Temporal frontend (docs/security.md).
   */
  authentication: Authentication;
  /** The OpenTelemetry trace the step belongs to (`layer.traced` entries). */
  traceId?: string;
}

export const AUTHENTICATION = {
  system: 'system',
  local: 'local (unauthenticated)',
  client: 'temporal client (unverified)',
} as const;
export type Authentication = (typeof AUTHENTICATION)[keyof typeof AUTHENTICATION] | `api (${string})`;

/**
 * How the actor of a request (an Update's argument, a promotion's input) was authenticated: the
 * `auth` the API server put in it, else local mode's free text.
 */
export function authenticationOf(request: { auth?: unknown } | undefined): Authentication {
  const auth = typeof request?.auth === 'string' ? request.auth.trim() : '';
  return auth ? `api (${auth})` : AUTHENTICATION.local;
}

/** The actor of steps the workflows take on their own (provision, gates, rollback, …). */
export const SYSTEM_ACTOR = 'strata';

/** Signals the workflows exchange among themselves: one sent by any client decides nothing. */
const INTERNAL_SIGNALS: Record<string, string> = {
  layerProgress: 'status is built from the layers themselves',
  layerDecision: 'layers take approvals as Updates and aborts as cancellations',
  leaseGranted: 'a hint: the lease is checked with the environment',
  leaseDenied: 'a hint: the lease is checked with the environment',
};

function decode<T>(payloads: temporal.api.common.v1.IPayloads | null | undefined, index = 0): T | undefined {
  const p = payloads?.payloads?.[index];
  return p ? (defaultPayloadConverter.fromPayload(p) as T) : undefined;
}

/**
 * The time of each event of one history, never empty. Temporal stamps every event; should one lack
 * its stamp, it takes the time of the event before it (or, at the start, the first stamped one after
 * it): events of a history are in time order. A history with no stamp at all takes `fallback`.
 */
export function eventTimes(events: HistoryEvent[], fallback?: string): Map<HistoryEvent, string> {
  const stamped = events.map((e) => (e.eventTime ? tsToDate(e.eventTime).toISOString() : undefined));
  const times = new Map<HistoryEvent, string>();
  const first = stamped.find((t) => t !== undefined) ?? fallback;
  if (first === undefined) {
    if (events.length === 0) return times;
    throw new Error('a history without any event time, and no time to fall back on');
  }
  let last = first;
  events.forEach((e, i) => {
    last = stamped[i] ?? last;
    times.set(e, last);
  });
  return times;
}

/**
 * Who did what, when and why, read from the Temporal histories of a promotion and of its layer
 * workflows — the histories are the record; nothing else is trusted. Refused approvals are in
 * history as Updates that completed with a failure, so they are listed too.
 */
export async function auditTrail(client: Client, promotionId: string): Promise<AuditEntry[]> {
  const history = await fetchHistory(client, promotionId);
  const { entries, children } = promotionEntries(history.events ?? []);
  for (const child of children) {
    let events: HistoryEvent[];
    try {
      events = (await fetchHistory(client, child.workflowId)).events ?? [];
    } catch {
      // A layer closes before its promotion, so retention removes its history first.
      entries.push({
        at: child.startedAt,
        actor: SYSTEM_ACTOR,
        authentication: AUTHENTICATION.system,
        action: 'layer.history-missing',
        layer: child.layer,
        detail: `no history for ${child.workflowId}`,
      });
      continue;
    }
    entries.push(...layerEntries(events, child.layer, child.startedAt));
  }
  const taskQueue = history.events?.[0]?.workflowExecutionStartedEventAttributes?.taskQueue?.name;
  if (taskQueue) entries.push(...(await leaseReleases(client, taskQueue, children)));
  return byTime(entries);
}

/**
 * Leases the layers' environments released on their own because the layer's workflow had closed
 * (terminated, timed out) while holding one: the environment's record, as it keeps it.
 */
async function leaseReleases(client: Client, taskQueue: string, children: LayerChild[]): Promise<AuditEntry[]> {
  const out: AuditEntry[] = [];
  for (const layer of new Set(children.map((c) => c.layer))) {
    let env: EnvironmentState;
    try {
      env = await client.workflow.getHandle(environmentWorkflowId(taskQueue, layer)).query(environmentQuery);
    } catch {
      continue; // no environment (yet), or it is gone
    }
    for (const op of env.operations ?? []) {
      if (op.action !== 'release-holder-closed' || !children.some((c) => c.workflowId === op.holder)) continue;
      out.push({
        at: op.at,
        actor: SYSTEM_ACTOR,
        authentication: AUTHENTICATION.system,
        action: 'lease.released-holder-closed',
        layer,
        detail: `environment ${layer} released the lease of ${op.holder}: ${op.reason}`,
      });
    }
  }
  return out;
}

/**
 * The ladder version a promotion pinned at its start (the result of its resolveLadder activity),
 * or undefined for promotions that carried their layers, or have not read their ladder yet.
 */
export function pinnedLadderOf(events: HistoryEvent[]): PinnedLadder | undefined {
  let scheduled: string | undefined;
  for (const e of events) {
    const s = e.activityTaskScheduledEventAttributes;
    if (s?.activityType?.name === 'resolveLadder') scheduled = String(e.eventId);
    const c = e.activityTaskCompletedEventAttributes;
    if (c && scheduled !== undefined && String(c.scheduledEventId) === scheduled) return decode<PinnedLadder>(c.result);
  }
  return undefined;
}

/**
 * Whether a promotion ran (or was to run) a stored ladder: its input names one, or its workflow
 * took the server-side-ladder path (then any `layers` in its input were ignored, not climbed).
 */
export function runsStoredLadder(events: HistoryEvent[], input: PromotionInput | undefined): boolean {
  if (input?.ladder) return true;
  return historyHasPatch(events, 'server-side-ladder');
}

/** Stable sort by time: entries of one history keep their order. */
export function byTime(entries: AuditEntry[]): AuditEntry[] {
  return entries
    .map((entry, i) => ({ entry, i }))
    .sort((a, b) => (a.entry.at < b.entry.at ? -1 : a.entry.at > b.entry.at ? 1 : a.i - b.i))
    .map(({ entry }) => entry);
}

/** A layer workflow the promotion started, and when it asked for it. */
export interface LayerChild {
  workflowId: string;
  layer: string;
  startedAt: string;
}

/** The entries of the promotion's own history, and the layer workflows it started. */
export function promotionEntries(events: HistoryEvent[]): { entries: AuditEntry[]; children: LayerChild[] } {
  const times = eventTimes(events);
  const at = (e: HistoryEvent) => times.get(e)!;
  const entries: AuditEntry[] = [];
  let input: PromotionInput | undefined;
  const updates = new Map<string, { name: string; request: Record<string, unknown> }>();
  const children: LayerChild[] = [];

  for (const e of events) {
    if (e.workflowExecutionStartedEventAttributes) {
      input = decode<PromotionInput>(e.workflowExecutionStartedEventAttributes.input);
      const c = input?.candidate;
      entries.push({
        at: at(e),
        actor: input?.initiator ?? 'unknown',
        authentication: authenticationOf(input),
        action: 'promotion.started',
        layer: null,
        detail: c
          ? `${c.name} ${c.version} (sha256 ${c.digest.slice(0, 12)}) ` +
            (runsStoredLadder(events, input)
              ? `up ladder ${input?.ladder?.name ?? '(none named)'}${input?.ladder?.version ? ` version ${input.ladder.version}` : ''}`
              : `through ${input!.layers.map((l) => l.name).join(' → ')}`)
          : '',
      });
    } else if (decisionEntry(e, at(e), updates, entries, null)) {
      continue;
    } else if (signalEntry(e, at(e), entries, null)) {
      continue;
    } else if (e.activityTaskCompletedEventAttributes && input?.ladder) {
      const pinned = pinnedLadderOf(events.filter((x) => Number(x.eventId) <= Number(e.eventId)));
      if (pinned && !entries.some((x) => x.action === 'ladder.pinned')) {
        entries.push({
          at: at(e),
          actor: SYSTEM_ACTOR,
          authentication: AUTHENTICATION.system,
          action: 'ladder.pinned',
          layer: null,
          detail: `ladder ${pinned.name} version ${pinned.version} (sha256 ${pinned.digest}) through ${pinned.layers.map((l) => l.name).join(' → ')}`,
        });
      }
    } else if (e.startChildWorkflowExecutionInitiatedEventAttributes) {
      const a = e.startChildWorkflowExecutionInitiatedEventAttributes;
      const args = decode<{ layer: { name: string } }>(a.input);
      children.push({ workflowId: a.workflowId ?? '', layer: args?.layer.name ?? '', startedAt: at(e) });
      // The tracing interceptors start each layer in the promotion's trace, its context in the header.
      const traceId = traceIdFromHeader(a.header);
      if (traceId) {
        const link = traceLink(traceId);
        entries.push({
          at: at(e),
          actor: SYSTEM_ACTOR,
          authentication: AUTHENTICATION.system,
          action: 'layer.traced',
          layer: args?.layer.name ?? null,
          detail: `trace ${traceId}${link ? ` ${link}` : ''}`,
          traceId,
        });
      }
    } else if (e.workflowExecutionCompletedEventAttributes) {
      const result = decode<PromotionResult>(e.workflowExecutionCompletedEventAttributes.result);
      const action = result?.state === 'promoted' ? 'promotion.completed' : `promotion.${result?.state ?? 'failed'}`;
      entries.push({
        at: at(e),
        actor: SYSTEM_ACTOR,
        authentication: AUTHENTICATION.system,
        action,
        layer: null,
        detail:
          result?.state === 'promoted'
            ? `promoted through ${result.layers.map((l) => l.name).join(', ')}`
            : (result?.reason ?? ''),
      });
    } else if (e.workflowExecutionTerminatedEventAttributes) {
      const t = e.workflowExecutionTerminatedEventAttributes;
      entries.push({
        at: at(e),
        actor: t.identity ?? 'unknown',
        authentication: AUTHENTICATION.client,
        action: 'promotion.terminated',
        layer: null,
        detail: t.reason ?? '',
      });
    } else if (e.workflowExecutionFailedEventAttributes) {
      const f = e.workflowExecutionFailedEventAttributes.failure;
      entries.push({
        at: at(e),
        actor: SYSTEM_ACTOR,
        authentication: AUTHENTICATION.system,
        action: 'promotion.failed',
        layer: null,
        detail: f?.message ?? '',
      });
    }
  }

  return { entries, children };
}

type PendingUpdates = Map<string, { name: string; request: Record<string, unknown> }>;

/**
 * Approvals, rejections and aborts, from the Update events of a promotion's or a layer's history:
 * granted or refused, each is an entry. Returns whether the event was one of them.
 */
function decisionEntry(
  e: HistoryEvent,
  at: string,
  updates: PendingUpdates,
  entries: AuditEntry[],
  layerOf: string | null,
): boolean {
  if (e.workflowExecutionUpdateAcceptedEventAttributes) {
    const a = e.workflowExecutionUpdateAcceptedEventAttributes;
    const req = a.acceptedRequest;
    updates.set(req?.meta?.updateId ?? a.protocolInstanceId ?? '', {
      name: req?.input?.name ?? '',
      request: decode<Record<string, unknown>>(req?.input?.args) ?? {},
    });
    return true;
  }
  if (!e.workflowExecutionUpdateCompletedEventAttributes) return false;
  const c = e.workflowExecutionUpdateCompletedEventAttributes;
  const u = updates.get(c.meta?.updateId ?? '');
  if (!u) return true;
  const actor =
    String(u.request.actor ?? '')
      .trim()
      .toLowerCase() || 'unknown';
  const layer = typeof u.request.layer === 'string' ? u.request.layer : layerOf;
  const reason = String(u.request.reason ?? '');
  const failure = c.outcome?.failure?.message;
  const entry = { at, actor, authentication: authenticationOf(u.request) } as const;
  // Groups the API server verified, when the approval was admitted through a `group:` entry.
  const groups = Array.isArray(u.request.groups) && u.request.groups.length > 0 ? u.request.groups.map(String) : [];
  const asMember = groups.length > 0 ? ` [groups: ${groups.join(', ')}]` : '';
  // The evidence the approver was shown (src/domain/evidence.ts), as the request carried it.
  const shown = (u.request.evidence as { digest?: unknown } | undefined)?.digest;
  const onEvidence = typeof shown === 'string' ? ` [evidence sha256 ${shown}]` : '';
  if (u.name === 'abort') {
    entries.push({
      ...entry,
      action: failure ? 'abort.refused' : 'abort.requested',
      layer: null,
      detail: failure ? `${failure} (reason given: ${reason})` : reason,
    });
    return true;
  }
  const asked = u.name === 'reject' ? 'reject' : 'approve';
  if (failure) {
    entries.push({
      ...entry,
      action: 'approval.refused',
      layer,
      detail: `${asked} refused: ${failure} (reason given: ${reason})${onEvidence}`,
    });
    return true;
  }
  const reply = decode<{ count: number; required: number }>(c.outcome?.success);
  entries.push({
    ...entry,
    action: asked === 'reject' ? 'approval.rejected' : 'approval.granted',
    layer,
    detail:
      (asked === 'reject' ? reason : `${reason} (${reply?.count ?? '?'}/${reply?.required ?? '?'})`) +
      asMember +
      (onEvidence || ' [no evidence digest]'),
  });
  return true;
}

/**
 * A signal a Temporal client sent from outside the workflows (the server records a workflow as the
 * origin of the signals workflows send one another). The workflows decide nothing on such a
 * signal: the entry says who sent it and why it changed nothing. Returns whether it was one.
 */
function signalEntry(e: HistoryEvent, at: string, entries: AuditEntry[], layer: string | null): boolean {
  const s = e.workflowExecutionSignaledEventAttributes;
  if (!s) return false;
  if (s.externalWorkflowExecution?.workflowId) return true;
  const name = s.signalName ?? '';
  entries.push({
    at,
    actor: s.identity || 'unknown',
    authentication: AUTHENTICATION.client,
    action: 'signal.from-client',
    layer,
    detail: `signal ${name} sent from outside the workflows: ${INTERNAL_SIGNALS[name] ?? 'no workflow acts on it'}; it changed nothing`,
  });
  return true;
}

/** Audit actions of the data plane's refusals, by the failure type the populate activity gives them. */
const DATA_REFUSALS: Record<string, string> = {
  DataPolicyViolation: 'data.policy-refused',
  DatasetNotApproved: 'data.not-approved',
  FidelityBelowThreshold: 'data.fidelity-failed',
  PiiFound: 'data.pii-found',
  DataInputError: 'data.input-error',
};

/** Audit actions of an artifact that failed its verification before a deploy, rollback or restart. */
const ARTIFACT_REFUSALS: Record<string, string> = {
  ArtifactTampered: 'artifact.tampered',
  ArtifactMissing: 'artifact.missing',
};

/** The digest a tampered artifact has now, or what kept one from being computed. */
function describeFound(found: string | undefined): string {
  if (found === undefined) return '?';
  return /^[0-9a-f]{64}$/.test(found) ? `sha256 ${found}` : found;
}

/**
 * The fields of activity results that the audit reads, as histories recorded them: histories
 * outlive renames, so older names are read too.
 */
interface RecordedActivityResult {
  dir?: string;
  /** The release the layer falls back to (`previous` in histories recorded before the rename). */
  knownGood?: { version: string } | null;
  previous?: { version: string } | null;
  data?: DataSummary;
  dbPath?: string;
  rows?: number;
  created?: boolean;
  running?: string | null;
  url?: string;
  changed?: boolean;
}

/** The entries of one layer workflow's history; `startedAt` stands in should it carry no time at all. */
export function layerEntries(events: HistoryEvent[], layer: string, startedAt: string): AuditEntry[] {
  const times = eventTimes(events, startedAt);
  const at = (e: HistoryEvent) => times.get(e)!;
  const scheduled = new Map<string, { type: string; input: Record<string, unknown> | undefined }>();
  const out: AuditEntry[] = [];
  const push = (e: HistoryEvent, action: string, detail: string) =>
    out.push({ at: at(e), actor: SYSTEM_ACTOR, authentication: AUTHENTICATION.system, action, layer, detail });
  const updates: PendingUpdates = new Map();
  /** Activities that reached an end (completed, failed, timed out, cancelled), by scheduled event id. */
  const settled = new Set<string>();

  const pushChecks = (e: HistoryEvent, g: GateResult) => {
    for (const c of g.checks ?? [])
      push(e, c.passed ? 'check.passed' : 'check.failed', `gate ${g.name}: ${c.name}: ${c.observed}`);
  };

  for (const e of events) {
    // Layers since sealed-decisions take their own approvals.
    if (decisionEntry(e, at(e), updates, out, layer) || signalEntry(e, at(e), out, layer)) continue;
    if (e.workflowExecutionCancelRequestedEventAttributes) {
      const c = e.workflowExecutionCancelRequestedEventAttributes;
      const byPromotion = c.externalWorkflowExecution?.workflowId;
      out.push({
        at: at(e),
        actor: byPromotion ? SYSTEM_ACTOR : c.identity || 'unknown',
        authentication: byPromotion ? AUTHENTICATION.system : AUTHENTICATION.client,
        action: 'layer.cancel-requested',
        layer,
        detail: byPromotion
          ? `the promotion ${byPromotion} asked the layer to stop (an abort)`
          : `a Temporal client asked the layer to stop${c.cause ? `: ${c.cause}` : ''}; it rolls back`,
      });
      continue;
    }
    if (e.activityTaskScheduledEventAttributes) {
      const a = e.activityTaskScheduledEventAttributes;
      scheduled.set(String(e.eventId), { type: a.activityType?.name ?? '', input: decode(a.input) });
    } else if (e.activityTaskCompletedEventAttributes) {
      const a = e.activityTaskCompletedEventAttributes;
      const s = scheduled.get(String(a.scheduledEventId));
      const r = decode<RecordedActivityResult>(a.result) ?? {};
      switch (s?.type) {
        case 'provisionEnvironment':
          // Results recorded before the rename name the known-good release `previous`.
          push(
            e,
            'layer.provisioned',
            `environment ${r.dir}; known-good before: ${(r.knownGood ?? r.previous)?.version ?? 'none'}`,
          );
          break;
        case 'populateEnvironment':
        case 'seedEnvironment': // its name before the rename
          if (r.data) push(e, 'data.seeded', `${describeData(r.data)} → ${r.dbPath}`);
          else
            push(
              e,
              'layer.seeded',
              `${r.rows} synthetic rows in ${r.dbPath}${r.created ? '' : ' (already populated with this seed)'}`,
            );
          break;
        case 'deployCandidate':
          push(e, 'layer.deployed', `${r.running} serving at ${r.url}${r.changed ? '' : ' (already running: no-op)'}`);
          break;
        case 'runGate': {
          const g = decode<GateResult>(a.result);
          if (!g) break;
          const unit = g.unit ? ` ${g.unit}` : '';
          push(
            e,
            g.passed ? 'gate.passed' : 'gate.failed',
            g.passed
              ? `gate ${g.name}: ${g.value === null ? 'nothing measured' : `measured ${g.value}${unit}`}, threshold ${g.threshold ?? '-'}${unit} (${g.detail})`
              : describeGateFailure(g),
          );
          pushChecks(e, g);
          break;
        }
        case 'promoteRelease':
          push(e, 'layer.promoted', `${r.running} is the layer's known-good version`);
          break;
        case 'rollbackEnvironment':
          push(e, 'layer.rolled-back', `now running ${r.running ?? 'nothing (no earlier version)'}`);
          break;
        case 'notifyApprovers': {
          const notice = noticeOf(s.input);
          const sent = decode<{ delivered?: Array<{ webhook: string; attempt: number }>; none?: string }>(a.result);
          const to = (sent?.delivered ?? []).map((d) => `${d.webhook} (attempt ${d.attempt})`).join(', ');
          push(
            e,
            NOTICE_SENT[notice.kind] ?? 'notification.reminder-sent',
            `${describeNotice(notice)}: ${to ? `delivered to ${to}` : (sent?.none ?? 'no webhook')}`,
          );
          break;
        }
      }
    } else if (e.activityTaskFailedEventAttributes) {
      const a = e.activityTaskFailedEventAttributes;
      const s = scheduled.get(String(a.scheduledEventId));
      const failure = a.failure?.cause ?? a.failure;
      const type = failure?.applicationFailureInfo?.type ?? '';
      const refusal = DATA_REFUSALS[type];
      if (s?.type === 'notifyApprovers') {
        // Never decides anything: the layer went on without it.
        push(
          e,
          'notification.failed',
          `${describeNotice(noticeOf(s.input))}: ${failure?.message ?? a.failure?.message ?? ''}`,
        );
      } else if (refusal) push(e, refusal, failure?.message ?? '');
      else if (ARTIFACT_REFUSALS[type]) {
        const d = decode<{ where?: string; expected?: string; found?: string }>(
          failure?.applicationFailureInfo?.details,
        );
        push(
          e,
          ARTIFACT_REFUSALS[type],
          `${s?.type ?? 'activity'} refused: expected sha256 ${d?.expected ?? '?'}` +
            (type === 'ArtifactTampered' ? `, found ${describeFound(d?.found)}` : ', not in the store') +
            ` (${d?.where ?? 'unknown location'})`,
        );
      } else
        push(
          e,
          'activity.failed',
          `${s?.type ?? 'activity'}: ${a.failure?.cause?.message ?? a.failure?.message ?? ''}`,
        );
    } else if (e.activityTaskTimedOutEventAttributes || e.activityTaskCanceledEventAttributes) {
      const a = e.activityTaskTimedOutEventAttributes ?? e.activityTaskCanceledEventAttributes!;
      const s = scheduled.get(String(a.scheduledEventId));
      if (s?.type === 'notifyApprovers')
        push(
          e,
          'notification.failed',
          `${describeNotice(noticeOf(s.input))}: ${e.activityTaskTimedOutEventAttributes ? 'timed out' : 'cancelled'}`,
        );
    } else if (e.workflowPropertiesModifiedEventAttributes) {
      const memo = e.workflowPropertiesModifiedEventAttributes.upsertedMemo?.fields ?? {};
      const escalation = memo.approvalEscalation
        ? decode<{ after?: string; to?: string[] }>({ payloads: [memo.approvalEscalation] })
        : undefined;
      if (escalation)
        push(
          e,
          'approval.escalated',
          `no quorum after ${escalation.after ?? '?'}: ${(escalation.to ?? []).join(', ')} may now approve as well`,
        );
    } else if (e.childWorkflowExecutionCompletedEventAttributes) {
      // One seed of a many-seeds layer.
      const r = decode<SeedRunResult>(e.childWorkflowExecutionCompletedEventAttributes.result);
      if (r && typeof r.seed === 'number') {
        push(
          e,
          'seed.measured',
          `seed ${r.seed}: ${r.value === null ? `not measured (${r.detail})` : `${r.value}${r.fidelity !== undefined ? `, fidelity ${r.fidelity.toFixed(3)}` : ''}${r.rows !== undefined ? `, ${r.rows} rows` : ''}`}`,
        );
      }
    } else if (e.childWorkflowExecutionFailedEventAttributes) {
      const a = e.childWorkflowExecutionFailedEventAttributes;
      push(
        e,
        'seed.failed',
        `${a.workflowExecution?.workflowId ?? 'seed run'}: ${a.failure?.cause?.message ?? a.failure?.message ?? ''}`,
      );
    } else if (e.workflowExecutionCompletedEventAttributes) {
      const r = decode<{ outcome: string; failure?: string; gates?: GateResult[] }>(
        e.workflowExecutionCompletedEventAttributes.result,
      );
      // The seeds gate is computed by the layer workflow itself: its verdict is in the layer's result.
      for (const g of r?.gates ?? []) {
        if (g.type !== 'seeds') continue;
        push(
          e,
          g.passed ? 'gate.passed' : 'gate.failed',
          g.passed ? `gate ${g.name}: ${g.detail}` : describeGateFailure(g),
        );
        pushChecks(e, g);
      }
      if (r && r.outcome !== 'promoted')
        push(e, r.outcome === 'aborted' ? 'layer.aborted' : 'layer.failed', r.failure ?? r.outcome);
    }
    if (e.workflowExecutionCompletedEventAttributes || e.workflowExecutionFailedEventAttributes) {
      // A notification still being retried when the layer ended was abandoned with it.
      for (const [id, s] of scheduled) {
        if (s.type === 'notifyApprovers' && !settled.has(id))
          push(e, 'notification.failed', `${describeNotice(noticeOf(s.input))}: not delivered before the layer ended`);
      }
    }
    const ended =
      e.activityTaskCompletedEventAttributes ??
      e.activityTaskFailedEventAttributes ??
      e.activityTaskTimedOutEventAttributes ??
      e.activityTaskCanceledEventAttributes;
    if (ended) settled.add(String(ended.scheduledEventId));
  }
  return out;
}

/** The fields of an approval notice (src/domain/approval-reminders.ts) the audit names. */
interface RecordedNotice {
  kind: ApprovalNoticeKind;
  sequence?: number;
  of?: number;
  idempotencyKey?: string;
}

/** The audit action of a delivered notice, by its kind. */
const NOTICE_SENT: Record<ApprovalNoticeKind, string> = {
  request: 'notification.request-sent',
  reminder: 'notification.reminder-sent',
  escalation: 'notification.escalation-sent',
  expiry: 'notification.expiry-sent',
};

/** How the audit names a notice of each kind; a reminder is named with its sequence. */
const NOTICE_NAME: Partial<Record<ApprovalNoticeKind, string>> = {
  request: 'approval request',
  escalation: 'escalation notice',
  expiry: 'expiry notice',
};

function noticeOf(input: Record<string, unknown> | undefined): RecordedNotice {
  return { kind: 'reminder', ...(input as Partial<RecordedNotice> | undefined) } as RecordedNotice;
}

function describeNotice(n: RecordedNotice): string {
  const what = NOTICE_NAME[n.kind] ?? `reminder ${n.sequence ?? '?'}/${n.of ?? '?'}`;
  return `${what} [idempotency key ${n.idempotencyKey ?? '?'}]`;
}
