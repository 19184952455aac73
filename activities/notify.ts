// Approval notifications: one activity per notice (a reminder, an escalation), delivered to every
// webhook of strata.yaml that subscribes to it. Retried by the workflow's bounded retry policy
// (at-least-once; the Idempotency-Key is the same on every attempt). Webhooks a previous attempt
// reached are kept in the heartbeat details and not posted again. A final failure is the
// activity's failure, which the audit lists as notification.failed; the workflow never waits on it.

import { ApplicationFailure, Context } from '@temporalio/activity';
import type { ApprovalNotice } from '../src/domain/approval-reminders';
import { loadNotifications, type NotificationsConfig, webhooksFor } from '../src/notify/config';
import { deliver } from '../src/notify/deliver';
import type { ActivityDeps } from './support';

export interface NotifyResult {
  /** Webhooks that accepted the notice (across attempts), with the status of the accepting attempt. */
  delivered: Array<{ webhook: string; status: number; attempt: number }>;
  /** No webhook subscribes to this event on this layer (or none is configured). */
  none?: string;
  attempt: number;
}

export function createNotifyActivities(deps: ActivityDeps) {
  return {
    async notifyApprovers(notice: ApprovalNotice): Promise<NotifyResult> {
      const ctx = Context.current();
      const attempt = ctx.info.attempt;
      let config: NotificationsConfig;
      try {
        config = loadNotifications(deps.paths.home);
      } catch (err) {
        throw ApplicationFailure.nonRetryable(
          `notification settings: ${(err as Error).message}`,
          'NotificationConfigInvalid',
        );
      }
      const hooks = webhooksFor(config, notice.layer, notice.event);
      if (hooks.length === 0) {
        return {
          delivered: [],
          none:
            config.webhooks.length === 0
              ? 'no webhook configured'
              : `no webhook subscribes to ${notice.event} on ${notice.layer}`,
          attempt,
        };
      }
      const before = ctx.info.heartbeatDetails as NotifyResult['delivered'] | undefined;
      const delivered = Array.isArray(before) ? [...before] : [];
      const failures: Array<{ webhook: string; reason: string; permanent: boolean }> = [];
      for (const hook of hooks) {
        if (delivered.some((d) => d.webhook === hook.name)) continue;
        const outcome = await deliver(hook, notice, config, { signal: ctx.cancellationSignal });
        if (outcome.ok) {
          delivered.push({ webhook: hook.name, status: outcome.status, attempt });
          ctx.heartbeat(delivered);
        } else failures.push(outcome);
      }
      if (failures.length === 0) return { delivered, attempt };
      const message = `${notice.event} ${notice.sequence}/${notice.of} not delivered (attempt ${attempt}): ${failures
        .map((f) => `webhook ${f.webhook}: ${f.reason}`)
        .join('; ')}${delivered.length ? `; delivered to ${delivered.map((d) => d.webhook).join(', ')}` : ''}`;
      // Retrying helps only if some failure may pass on its own.
      if (failures.every((f) => f.permanent))
        throw ApplicationFailure.nonRetryable(message, 'NotificationUndeliverable');
      throw ApplicationFailure.retryable(message, 'NotificationUndelivered');
    },
  };
}
