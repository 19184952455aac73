import { ActivityCancellationType, type ActivityOptions } from '@temporalio/workflow';

/**
 * How the layer, rollback and seed-run workflows call activities. Activities heartbeat every
 * second, so a worker killed mid-activity is noticed within the 10 s heartbeat timeout.
 */
export const ACTIVITY_OPTIONS = {
  startToCloseTimeout: '10 minutes',
  heartbeatTimeout: '10 seconds',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s', maximumAttempts: 5 },
} satisfies ActivityOptions;

/**
 * How layers send approval notifications (webhooks): a few quick retries, bounded (about 15 s in
 * all), so that an undeliverable one ends as a failed activity — notification.failed in the audit —
 * instead of retrying for ever. The activity is never awaited by a decision; an abort or the
 * layer's end abandons it without waiting.
 */
export const NOTIFY_ACTIVITY_OPTIONS = {
  startToCloseTimeout: '20 seconds',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '8s', maximumAttempts: 5 },
  cancellationType: ActivityCancellationType.TRY_CANCEL,
} satisfies ActivityOptions;
