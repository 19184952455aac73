import { randomBytes } from 'node:crypto';
import { type Client, ScheduleNotFoundError, ScheduleOverlapPolicy, WorkflowFailedError } from '@temporalio/client';
import { parseDuration } from '../domain/duration';
import type { DrillScenario } from '../domain/drill';
import type { LadderSpec, LayerSpec } from '../domain/ladder';
import type { drill, DrillInput, DrillResult } from '../../workflows/drill';
import type { StoredLadderRef } from '../../workflows/ladder-pin';
import { applyLadder } from './ladders';
import { LAYER_KEY, PHASE_KEY } from '../../workflows/search-attributes';
import { RefusedError } from './promotions';

/** The innermost cause's message: "Activity task failed" says less than what failed in it. */
export function deepestMessage(err: unknown): string {
  let e = err as { message?: string; cause?: unknown } | undefined;
  let message = e?.message ?? String(err);
  while (e?.cause) {
    e = e.cause as { message?: string; cause?: unknown };
    if (e?.message) message = e.message;
  }
  return message;
}

export function drillScheduleId(taskQueue: string, layer: string, scenario: DrillScenario): string {
  return `${taskQueue}.drill.${layer}.${scenario}`;
}

/**
 * The stored ladder a drill or a rollback names: a stored ladder as is, or one held in memory
 * (local mode: a ladder file, a test's ladder), applied first as a ladder change by `by`.
 */
export async function storedLadder(
  client: Client,
  taskQueue: string,
  ladder: LadderSpec | StoredLadderRef,
  by: { actor: string; reason: string },
): Promise<StoredLadderRef> {
  if (!('layers' in ladder)) return { name: ladder.name, ...(ladder.version ? { version: ladder.version } : {}) };
  const reply = await applyLadder(client, taskQueue, ladder, by);
  return { name: ladder.name, version: reply.current.version };
}

export async function runDrill(
  client: Client,
  taskQueue: string,
  request: Omit<DrillInput, 'ladder'> & { ladder: LadderSpec | StoredLadderRef },
): Promise<DrillResult> {
  const ladder = await storedLadder(client, taskQueue, request.ladder, {
    actor: request.requestedBy,
    reason: 'applied by strata drill (local mode)',
  });
  const input: DrillInput = { ...request, ladder };
  const id = `drill.${input.layer.name}.${input.scenario}.${randomBytes(3).toString('hex')}`;
  try {
    return await client.workflow.execute<typeof drill>('drill', {
      workflowId: id,
      taskQueue,
      args: [input],
      typedSearchAttributes: [
        { key: LAYER_KEY, value: input.layer.name },
        { key: PHASE_KEY, value: 'running' },
      ],
    });
  } catch (err) {
    if (err instanceof WorkflowFailedError) throw new RefusedError(`drill ${id} failed: ${deepestMessage(err)}`);
    throw err;
  }
}

export interface DrillHistoryRow {
  id: string;
  scenario: string;
  startTime: string;
  closeTime: string | null;
  phase: string;
  rtoMs: number | null;
  rpoMs: number | null;
  report: string | null;
}

/** Drills of a layer on this task queue, newest first, with their measured figures. */
export async function drillHistory(
  client: Client,
  taskQueue: string,
  layer: string,
  limit = 50,
): Promise<DrillHistoryRow[]> {
  const rows: DrillHistoryRow[] = [];
  const query = `WorkflowType = 'drill' AND StrataLayer = '${layer}' AND TaskQueue = '${taskQueue}'`;
  for await (const wf of client.workflow.list({ query })) {
    let result: DrillResult | undefined;
    if (wf.status.name === 'COMPLETED')
      result = (await client.workflow
        .getHandle(wf.workflowId)
        .result()
        .catch(() => undefined)) as DrillResult | undefined;
    rows.push({
      id: wf.workflowId,
      scenario: result?.scenario ?? '',
      startTime: wf.startTime.toISOString(),
      closeTime: wf.closeTime?.toISOString() ?? null,
      phase: wf.typedSearchAttributes.get(PHASE_KEY) ?? wf.status.name.toLowerCase(),
      rtoMs: result?.measurement.rtoMs ?? null,
      rpoMs: result?.measurement.rpoMs ?? null,
      report: result?.files.markdownFile ?? null,
    });
    if (rows.length >= limit) break;
  }
  return rows;
}

export interface ScheduleRequest {
  layer: LayerSpec;
  /** The stored ladder the layer's objectives come from; each run reads its current version. */
  ladder: LadderSpec | StoredLadderRef;
  scenario: DrillScenario;
  cron?: string;
  every?: string;
  jitter?: string;
  requestedBy: string;
}

/** A Temporal Schedule that starts the drill workflow: overlap skip, a one-day catch-up window. */
export async function createDrillSchedule(client: Client, taskQueue: string, req: ScheduleRequest): Promise<string> {
  const scheduleId = drillScheduleId(taskQueue, req.layer.name, req.scenario);
  const { name } = await storedLadder(client, taskQueue, req.ladder, {
    actor: req.requestedBy,
    reason: 'applied by strata drill schedule (local mode)',
  });
  try {
    await client.schedule.create({
      scheduleId,
      spec: {
        ...(req.cron ? { cronExpressions: [req.cron] } : {}),
        ...(req.every ? { intervals: [{ every: parseDuration(req.every)! }] } : {}),
        ...(req.jitter ? { jitter: parseDuration(req.jitter)! } : {}),
      },
      action: {
        type: 'startWorkflow',
        workflowType: 'drill',
        workflowId: scheduleId,
        taskQueue,
        args: [
          {
            layer: req.layer,
            ladder: { name },
            scenario: req.scenario,
            requestedBy: `schedule:${req.requestedBy}`,
          } satisfies DrillInput,
        ],
        typedSearchAttributes: [
          { key: LAYER_KEY, value: req.layer.name },
          { key: PHASE_KEY, value: 'scheduled' },
        ],
      },
      policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1 day' },
      memo: {
        strataLayer: req.layer.name,
        strataScenario: req.scenario,
        strataSpec: [req.cron ? `cron ${req.cron}` : `every ${req.every}`, req.jitter ? `jitter ${req.jitter}` : '']
          .filter(Boolean)
          .join(', '),
      },
    });
  } catch (err) {
    const message = (err as Error).message ?? String(err);
    if (/already (exists|registered|running)/i.test(message))
      throw new RefusedError(`schedule ${scheduleId} already exists (see \`strata drill schedule ls\`)`);
    throw err;
  }
  return scheduleId;
}

export interface ScheduleRow {
  id: string;
  layer: string;
  scenario: string;
  paused: boolean;
  spec: string;
  recentActions: number;
  nextActionTimes: string[];
}

export async function listDrillSchedules(client: Client, taskQueue: string): Promise<ScheduleRow[]> {
  const rows: ScheduleRow[] = [];
  for await (const s of client.schedule.list()) {
    if (!s.scheduleId.startsWith(`${taskQueue}.drill.`)) continue;
    const d = await client.schedule.getHandle(s.scheduleId).describe();
    rows.push({
      id: s.scheduleId,
      layer: String((d.memo as Record<string, unknown> | undefined)?.strataLayer ?? ''),
      scenario: String((d.memo as Record<string, unknown> | undefined)?.strataScenario ?? ''),
      paused: d.state.paused,
      spec: String((d.memo as Record<string, unknown> | undefined)?.strataSpec ?? ''),
      recentActions: d.info.recentActions.length,
      nextActionTimes: d.info.nextActionTimes.slice(0, 3).map((t) => t.toISOString()),
    });
  }
  return rows.sort((a, b) => a.id.localeCompare(b.id));
}

export async function withSchedule<T>(
  client: Client,
  id: string,
  fn: (h: ReturnType<Client['schedule']['getHandle']>) => Promise<T>,
): Promise<T> {
  const handle = client.schedule.getHandle(id);
  try {
    return await fn(handle);
  } catch (err) {
    if (err instanceof ScheduleNotFoundError)
      throw new RefusedError(`no schedule "${id}" (see \`strata drill schedule ls\`)`);
    throw err;
  }
}
