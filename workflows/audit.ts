import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';

const activities = proxyActivities<Activities>({
  startToCloseTimeout: '30 minutes',
  heartbeatTimeout: '30 seconds',
  retry: { initialInterval: '10s', backoffCoefficient: 2, maximumInterval: '5 minutes', maximumAttempts: 5 },
});

/**
 * One export of the audit trail to $STRATA_HOME/audit/, started daily by the audit Schedule
 * (`strata audit schedule`; the worker creates it at start). The export itself is one activity.
 */
export async function auditExport(): Promise<Awaited<ReturnType<Activities['exportAuditTrail']>>> {
  return activities.exportAuditTrail();
}
