import type { ActivityOptions } from '@temporalio/workflow';

/**
 * How the layer, rollback and seed-run workflows call activities. Activities heartbeat every
 * second, so a worker killed mid-activity is noticed within the 10 s heartbeat timeout.
 */
export const ACTIVITY_OPTIONS = {
  startToCloseTimeout: '10 minutes',
  heartbeatTimeout: '10 seconds',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s', maximumAttempts: 5 },
} satisfies ActivityOptions;
