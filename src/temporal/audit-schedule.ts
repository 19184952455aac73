import { type Client, ScheduleNotFoundError, ScheduleOverlapPolicy } from '@temporalio/client';

/** The daily export's Schedule: one per task queue. */
export function auditScheduleId(taskQueue: string): string {
  return `${taskQueue}.audit-export`;
}

/** When the export runs unless told otherwise: daily at 02:17 UTC (off the hour, away from drills). */
export const DEFAULT_AUDIT_CRON = '17 2 * * *';

export interface AuditScheduleState {
  id: string;
  created: boolean;
  cron: string;
  paused: boolean;
  nextActionTimes: string[];
  recentActions: number;
}

/**
 * Creates the daily audit export Schedule if it does not exist; with `cron` given, an existing one
 * is updated to it. Idempotent: every worker start and every `strata audit schedule` may call it.
 */
export async function ensureAuditSchedule(
  client: Client,
  taskQueue: string,
  opts: { cron?: string } = {},
): Promise<AuditScheduleState> {
  const id = auditScheduleId(taskQueue);
  const cron = opts.cron ?? DEFAULT_AUDIT_CRON;
  let created = false;
  try {
    await client.schedule.create({
      scheduleId: id,
      spec: { cronExpressions: [cron] },
      action: { type: 'startWorkflow', workflowType: 'auditExport', workflowId: id, taskQueue, args: [] },
      policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1 day' },
      memo: { strataCron: cron },
    });
    created = true;
  } catch (err) {
    if (!/already (exists|registered|running)/i.test((err as Error).message ?? '')) throw err;
    if (opts.cron) {
      await client.schedule.getHandle(id).update((s) => ({ ...s, spec: { cronExpressions: [cron] } }));
    }
  }
  const d = await client.schedule.getHandle(id).describe();
  return {
    id,
    created,
    cron: opts.cron ?? String((d.memo as Record<string, unknown> | undefined)?.strataCron ?? cron),
    paused: d.state.paused,
    nextActionTimes: d.info.nextActionTimes.slice(0, 3).map((t) => t.toISOString()),
    recentActions: d.info.recentActions.length,
  };
}

/** Runs the export now, through the Schedule (its result lands where the daily ones do). */
export async function triggerAuditSchedule(client: Client, taskQueue: string): Promise<void> {
  try {
    await client.schedule.getHandle(auditScheduleId(taskQueue)).trigger(ScheduleOverlapPolicy.ALLOW_ALL);
  } catch (err) {
    if (err instanceof ScheduleNotFoundError) throw new Error('no audit schedule yet: run `strata audit schedule`');
    throw err;
  }
}
