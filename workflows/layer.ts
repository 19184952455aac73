import {
  ActivityCancellationType,
  ApplicationFailure,
  CancellationScope,
  condition,
  getExternalWorkflowHandle,
  isCancellation,
  proxyActivities,
  rootCause,
  setHandler,
  upsertMemo,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import { parseDuration } from '../src/domain/duration';
import { describeGateFailure, type LayerInput, type LayerResult } from '../src/domain/promotion';
import type { DataSummary } from '../src/domain/data';
import type { GateResult, LayerPhase, LayerStatus } from '../src/domain/status';
import { type ApprovalRecord, countApprovers, type Decision, takeApproval } from '../src/domain/approval';
import {
  allowedApprovers,
  type ApprovalNotice,
  type ApprovalNoticeKind,
  type ApprovalReminderStep,
  approvalReminderSchedule,
  effectivePolicy,
  formatDurationMs,
  hasReminderSchedule,
  NOTICE_EVENTS,
  notificationKey,
} from '../src/domain/approval-reminders';
import { evidenceDigest } from '../src/domain/evidence';
import { runGates } from './gates';
import type { Release } from '../src/domain/release';
import {
  APPROVAL_REFUSED,
  type ApprovalReply,
  type ApprovalRequest,
  type LayerDecision,
  type LayerProgress,
  approveUpdate,
  layerDecisionSignal,
  layerProgressSignal,
  layerStatusQuery,
  rejectUpdate,
} from './messages';
import { PHASE_KEY } from './search-attributes';
import { environmentLease } from './lease';
import { ACTIVITY_OPTIONS, NOTIFY_ACTIVITY_OPTIONS } from './activity-options';
import { currentTraceId } from './trace';
import { generation } from './generation';

const activities = proxyActivities<Activities>({
  ...ACTIVITY_OPTIONS,
  // An abort waits until the running activity has stopped before compensating.
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
});

// Notifications are fired and never awaited by the decision path: a webhook that is down delays
// nothing, and its bounded retries end in a failed activity that the audit lists as
// notification.failed.
const notifications = proxyActivities<Activities>(NOTIFY_ACTIVITY_OPTIONS);

/**
 * One layer of the ladder: provision → populate → deploy → gates → approval → promote.
 * A failed gate, a rejection, an expiry or an abort rolls the environment back to its known-good
 * release (the one promoted before this promotion), in a non-cancellable scope.
 *
 * The layer owns its decision: approvals and rejections are Updates on this workflow, each checked
 * against the layer's policy here, and an abort is a cancellation request. Its phase, gates and
 * approvals are its own state, answered by the layerStatus query; no message writes them.
 */
export async function layer(input: LayerInput): Promise<LayerResult> {
  const { layer: spec, candidate } = input;
  // Layers started before sealed-decisions reported progress to their parent by signal and took
  // their decision from the parent's signal: their histories replay that way.
  const since = generation();
  const sealed = since('sealed-decisions');
  // Layers started before exact-verified-subjects case-folded verified subjects too.
  const comparison = since('exact-verified-subjects') ? 'exact-verified' : 'folded';
  // Layers since evidence-digest take an approval only on the evidence it was made on.
  const evidenceBound = sealed && since('evidence-digest');
  const parentId = workflowInfo().parent?.workflowId;
  const parent = !sealed && parentId ? getExternalWorkflowHandle(parentId) : undefined;

  let phase: LayerPhase = 'pending';
  let running: string | null = null;
  const gates: GateResult[] = [];
  const approvals: ApprovalRecord[] = [];
  let decision: LayerDecision | undefined;
  let reportedFailure: string | undefined;
  let data: DataSummary | undefined;
  const work = new CancellationScope();
  // Apart from `work`, so that an abort does not turn a notification under way into a failure.
  const notices = new CancellationScope();
  /** Whether the approval has escalated (layers since approval-reminders): the policy is widened. */
  let escalated = false;
  let remindersSent = 0;
  // Only read by the status query: no command depends on it.
  const traceId = currentTraceId();

  if (sealed) {
    setHandler(layerStatusQuery, (): LayerStatus => ({
      name: spec.name,
      phase,
      running,
      gates: [...gates],
      approval:
        spec.approval.mode === 'manual'
          ? {
              required: spec.approval.required,
              allowed: allowedApprovers(spec.approval, escalated),
              ...(escalated ? { escalated } : {}),
              ...(remindersSent > 0 ? { reminders: remindersSent } : {}),
            }
          : { required: 0, allowed: [] },
      approvals: [...approvals],
      ...(reportedFailure ? { failure: reportedFailure } : {}),
      ...(data ? { data } : {}),
      ...(traceId ? { traceId } : {}),
    }));
    // An Update, not a signal: the policy check runs here, the caller gets the refusal, and every
    // attempt — granted or refused — lands in this workflow's history.
    const decide = (kind: Decision, req: ApprovalRequest): ApprovalReply => {
      const asked = String(req?.layer ?? spec.name).trim();
      const step =
        asked === spec.name
          ? takeApproval({
              layer: spec.name,
              phase: decision ? 'decided' : phase,
              policy: effectivePolicy(spec.approval, escalated),
              initiator: input.initiator,
              approvals,
              decision: kind,
              request: req,
              at: new Date().toISOString(),
              comparison,
              ...(evidenceBound
                ? {
                    evidence: evidenceDigest({
                      gates,
                      data: data ?? null,
                      candidateDigest: candidate.digest,
                      ladderDigest: input.ladder?.digest ?? null,
                    }),
                  }
                : {}),
            })
          : { kind: 'refused' as const, reason: `this is the workflow of layer ${spec.name}, not of "${asked}"` };
      if (step.kind === 'refused') {
        throw ApplicationFailure.create({ type: APPROVAL_REFUSED, nonRetryable: true, message: step.reason });
      }
      approvals.push(step.record);
      if (step.decided) decision = step.decided;
      return {
        layer: spec.name,
        decision: kind,
        actor: step.record.actor,
        count: step.count,
        required: step.required,
        quorumReached: step.quorumReached,
      };
    };
    setHandler(approveUpdate, (req) => decide('approve', req));
    setHandler(rejectUpdate, (req) => decide('reject', req));
  } else {
    setHandler(layerDecisionSignal, (d) => {
      if (decision) return; // the first decision stands
      decision = d;
      if (d.kind === 'aborted') work.cancel();
    });
  }

  const report = async (progress: Omit<LayerProgress, 'layer'>) => {
    if (progress.phase) {
      phase = progress.phase;
      upsertSearchAttributes([{ key: PHASE_KEY, value: phase }]);
    }
    if (progress.running !== undefined) running = progress.running;
    if (progress.failure) reportedFailure = progress.failure;
    if (progress.data) data = progress.data;
    if (parent) await parent.signal(layerProgressSignal, { layer: spec.name, ...progress });
  };

  /**
   * Waits for the decision like the plain wait, but at each step of the schedule sends a reminder
   * or escalates (widens the approvers and records it in the memo, which the audit reads) and
   * notifies. Returns whether a decision came before the expiry.
   */
  const awaitDecisionWithReminders = async (schedule: ApprovalReminderStep[], expiryMs: number) => {
    let waited = 0;
    for (const step of schedule) {
      if (step.atMs > waited && (await condition(() => decision !== undefined, step.atMs - waited))) return true;
      if (decision !== undefined) return true;
      waited = step.atMs;
      if (step.kind === 'escalation' && spec.approval.mode === 'manual' && spec.approval.escalate) {
        escalated = true;
        upsertMemo({
          approvalEscalation: { layer: spec.name, after: spec.approval.escalate.after, to: spec.approval.escalate.to },
        });
      } else remindersSent = step.sequence;
      void notify(step, waited);
    }
    return condition(() => decision !== undefined, Math.max(expiryMs - waited, 1));
  };

  /**
   * Sends one notice in the background: its failure is caught here and audited from history. The
   * returned promise settles when the notice was delivered or given up on (it never rejects).
   */
  const notify = (
    step: Pick<ApprovalReminderStep, 'sequence' | 'of'> & { kind: ApprovalNoticeKind },
    waitedMs: number,
  ): Promise<void> => {
    if (spec.approval.mode !== 'manual') return Promise.resolve();
    const workflowId = workflowInfo().workflowId;
    const notice: ApprovalNotice = {
      event: NOTICE_EVENTS[step.kind],
      kind: step.kind,
      promotionId: input.promotionId,
      workflowId,
      layer: spec.name,
      candidate: { name: candidate.name, version: candidate.version },
      sequence: step.sequence,
      of: step.of,
      approvers: allowedApprovers(spec.approval, escalated),
      ...(step.kind === 'escalation' && spec.approval.escalate ? { escalatedTo: spec.approval.escalate.to } : {}),
      required: spec.approval.required,
      approvals: countApprovers(approvals, comparison),
      waited: formatDurationMs(waitedMs),
      expiry: spec.approval.expiry,
      idempotencyKey: notificationKey(workflowId, spec.name, step.kind, step.sequence),
    };
    return notices
      .run(() => notifications.notifyApprovers(notice))
      .then(
        () => undefined,
        () => undefined, // audited as notification.failed from the activity's failure in history
      );
  };

  // Compensation as data: each undo step is added once its action has started.
  const compensations: Array<() => Promise<void>> = [];
  let knownGood: Release | null = null;
  let failure: string | undefined;
  let outcome: LayerResult['outcome'] = 'failed';
  /** A refused population's summary (policy decision, fidelity, PII findings), from the failure's details. */
  let refusedData: DataSummary | undefined;
  /** The expiry notice under way (layers since approval-notices): awaited before the layer ends. */
  let expiryNotice: Promise<void> | undefined;

  // Histories recorded before environments had leases replay without them.
  const useEnvironment = since('environment-lease');
  const lease = environmentLease(spec, input.promotionId, { since });
  const recordVersion = async (
    event: 'deployed' | 'promoted' | 'rolled-back',
    version: string | null,
    digest: string | null,
  ) => {
    if (useEnvironment) await lease.record(event, version, digest);
  };

  try {
    outcome = await work.run(async () => {
      if (useEnvironment) {
        // One promotion, drill or rollback per layer at a time: wait in order, or fail fast.
        await report({ phase: 'waiting-for-lease' });
        const answer = await lease.acquire('promotion', spec.lease === 'fail-fast');
        if (!answer.granted) {
          failure = `no lease: ${answer.reason}`;
          return 'failed' as const;
        }
      }
      await report({ phase: 'provisioning' });
      const env = await activities.provisionEnvironment({ promotionId: input.promotionId, layer: spec });
      // Results recorded before the rename name the known-good release `previous`.
      knownGood = env.knownGood ?? env.previous ?? null;
      await report({ running: env.running });

      await report({ phase: 'seeding' });
      // Histories recorded before the rename scheduled the same activity as seedEnvironment.
      const populated = since('populate-environment')
        ? await activities.populateEnvironment({ layer: spec })
        : await activities.seedEnvironment({ layer: spec });
      // Data-plane layers: the source, the policy decision, fidelity and the PII scan, for status.
      if (populated.data) await report({ data: populated.data });

      await report({ phase: 'deploying' });
      if (spec.rollback === 'previous') {
        compensations.unshift(async () => {
          const r = await activities.rollbackEnvironment({ layer: spec, to: knownGood });
          await recordVersion(
            'rolled-back',
            r.running,
            r.running ? ((knownGood as Release | null)?.digest ?? null) : null,
          );
          await report({ phase: 'rolled-back', running: r.running });
        });
      }
      const deployed = await activities.deployCandidate({ layer: spec, candidate });
      await recordVersion('deployed', deployed.running, candidate.digest);
      await report({ running: deployed.running });

      await report({ phase: 'testing' });
      await runGates(activities, input, {
        onResult: async (result) => {
          gates.push(result);
          await report({ gate: result });
        },
      });
      const failed = gates.find((g) => !g.passed);
      if (failed) {
        failure = describeGateFailure(failed);
        return 'failed' as const;
      }

      if (spec.approval.mode === 'manual') {
        await report({ phase: 'awaiting-approval' });
        const expiryMs = parseDuration(spec.approval.expiry) ?? 0;
        // Layers since approval-notices tell the approvers when the approval is wanted, and when
        // it expired; before, only reminders and the escalation were sent.
        const noticesOfWait = sealed && since('approval-notices');
        if (noticesOfWait) void notify({ kind: 'request', sequence: 1, of: 1 }, 0);
        // Layers since approval-reminders remind, then escalate, on durable timers while they wait.
        const schedule =
          sealed && hasReminderSchedule(spec.approval) && since('approval-reminders')
            ? approvalReminderSchedule(spec.approval)
            : [];
        const decided =
          schedule.length > 0
            ? await awaitDecisionWithReminders(schedule, expiryMs)
            : await condition(() => decision !== undefined, expiryMs);
        if (!decided) {
          if (noticesOfWait) expiryNotice = notify({ kind: 'expiry', sequence: 1, of: 1 }, expiryMs);
          failure = `approval expired: ${spec.approval.required} approval(s) needed within ${spec.approval.expiry}`;
          return 'failed' as const;
        }
        if (decision?.kind === 'rejected') {
          failure = `rejected by ${decision.actor}: ${decision.reason}`;
          return 'failed' as const;
        }
        if (decision?.kind === 'aborted') {
          // The abort woke the condition before the scope's cancellation reached it.
          failure = `aborted by ${decision.actor}: ${decision.reason}`;
          return 'aborted' as const;
        }
      }
      return 'promoted' as const;
    });
  } catch (err) {
    if (isCancellation(err) || work.consideredCancelled) {
      outcome = 'aborted';
      // Sealed layers are aborted by a cancellation request: the promotion names who asked.
      failure = decision?.kind === 'aborted' ? `aborted by ${decision.actor}: ${decision.reason}` : 'aborted';
    } else {
      outcome = 'failed';
      failure = `${phase} failed: ${rootCause(err) ?? String(err)}`;
      refusedData = refusalSummary(err);
    }
  }

  // A decision taken is carried out: a cancellation arriving now no longer stops the promote or the
  // rollback halfway (neither step schedules differently, so older histories replay the same).
  await CancellationScope.nonCancellable(async () => {
    if (outcome === 'promoted') {
      const r = await activities.promoteRelease({ layer: spec, digest: candidate.digest });
      await recordVersion('promoted', r.running, candidate.digest);
      await report({ phase: 'promoted', running: r.running });
    } else {
      await report(refusedData ? { failure, data: refusedData } : { failure });
      for (const undo of compensations) await undo();
      if (phase !== 'rolled-back') await report({ phase: 'failed' });
    }
    // Held or still queued: either way, let the next one have the layer.
    await lease.release();
    // The expiry notice is the last word on the approval: delivered (or given up on, after its
    // bounded retries) before the layer ends, rather than abandoned with it.
    if (expiryNotice) await expiryNotice;
  });
  const result: LayerResult = { layer: spec.name, outcome, phase, running, gates, failure };
  return sealed ? { ...result, approvals, ...(data ? { data } : {}) } : result;
}

/** The data summary a data-plane refusal carries in its details, if the failure is one. */
function refusalSummary(err: unknown): DataSummary | undefined {
  let cause: unknown = err;
  while (cause && !(cause instanceof ApplicationFailure)) cause = (cause as { cause?: unknown }).cause;
  const details = cause instanceof ApplicationFailure ? cause.details : undefined;
  const first = details?.[0] as DataSummary | undefined;
  return first && typeof first === 'object' && 'policy' in first ? first : undefined;
}
