// Cluster facts for /metrics, read from Temporal's visibility when Prometheus scrapes: promotions
// started and finished (by their StrataState), layers awaiting approval, and when each running
// layer entered its phase. Every worker sees the same namespace, so these are aggregated with
// max() across workers, never sum(). Counters count what closed since this worker started.
import type { Client } from '@temporalio/client';
import { LAYER_KEY, PHASE_KEY, STATE_KEY } from '../../workflows/search-attributes';
import { currentPhase } from './layer-history';
import { strataMetrics as m } from './registry';

/** How far back each poll looks again, so an entry the visibility store indexed late is not missed. */
const OVERLAP_MS = 60_000;

export class TemporalCollector {
  private readonly started = new Map<string, number>();
  private readonly finished = new Map<string, number>();
  private readonly phases = new Map<string, { phase: string; enteredMs: number }>();
  private startedSince: number;
  private closedSince: number;

  constructor(
    private readonly client: Client,
    private readonly taskQueue: string,
    since = Date.now(),
  ) {
    this.startedSince = since;
    this.closedSince = since;
  }

  async refresh(): Promise<void> {
    await Promise.all([this.countStarted(), this.countFinished(), this.runningLayers()]);
  }

  private scope(type: string): string {
    return `WorkflowType = '${type}' AND TaskQueue = '${this.taskQueue}'`;
  }

  private async countStarted(): Promise<void> {
    const from = new Date(this.startedSince - OVERLAP_MS).toISOString();
    for await (const wf of this.client.workflow.list({
      query: `${this.scope('promotion')} AND StartTime >= '${from}'`,
    })) {
      const at = wf.startTime.getTime();
      if (at < this.startedSince || this.started.has(wf.workflowId)) continue;
      this.started.set(wf.workflowId, at);
      m.promotionsStarted.inc();
    }
    this.startedSince = prune(this.started, this.startedSince);
  }

  private async countFinished(): Promise<void> {
    const from = new Date(this.closedSince - OVERLAP_MS).toISOString();
    const query = `${this.scope('promotion')} AND ExecutionStatus != 'Running' AND CloseTime >= '${from}'`;
    for await (const wf of this.client.workflow.list({ query })) {
      const at = wf.closeTime?.getTime();
      if (at === undefined || at < this.closedSince || this.finished.has(wf.workflowId)) continue;
      this.finished.set(wf.workflowId, at);
      const state = wf.typedSearchAttributes.get(STATE_KEY) ?? wf.typedSearchAttributes.get(PHASE_KEY);
      m.promotionsFinished.inc({ outcome: outcomeOf(state, wf.status.name) });
    }
    this.closedSince = prune(this.finished, this.closedSince);
  }

  private async runningLayers(): Promise<void> {
    const pending = new Map<string, number>();
    const waiting = new Map<string, number>();
    const entered = new Map<string, { layer: string; phase: string; ms: number }>();
    const seen = new Set<string>();
    const now = Date.now();
    for await (const wf of this.client.workflow.list({
      query: `${this.scope('layer')} AND ExecutionStatus = 'Running'`,
    })) {
      const layer = wf.typedSearchAttributes.get(LAYER_KEY);
      const phase = wf.typedSearchAttributes.get(PHASE_KEY);
      if (!layer || !phase) continue;
      seen.add(wf.runId);
      let known = this.phases.get(wf.runId);
      if (known?.phase !== phase) {
        // Read once per phase change: the upsert's event time is when the phase began.
        known = (await currentPhase(this.client, wf.workflowId, wf.runId)) ?? {
          phase,
          enteredMs: wf.startTime.getTime(),
        };
        this.phases.set(wf.runId, known);
      }
      const key = `${layer}\u0000${known.phase}`;
      const oldest = entered.get(key);
      if (!oldest || known.enteredMs < oldest.ms) entered.set(key, { layer, phase: known.phase, ms: known.enteredMs });
      if (known.phase === 'awaiting-approval') {
        pending.set(layer, (pending.get(layer) ?? 0) + 1);
        waiting.set(layer, Math.max(waiting.get(layer) ?? 0, (now - known.enteredMs) / 1000));
      }
    }
    for (const runId of this.phases.keys()) if (!seen.has(runId)) this.phases.delete(runId);
    m.pendingApprovals.reset();
    m.approvalWaiting.reset();
    m.layerPhaseEntered.reset();
    for (const [layer, n] of pending) m.pendingApprovals.set({ layer }, n);
    for (const [layer, s] of waiting) m.approvalWaiting.set({ layer }, s);
    for (const e of entered.values()) m.layerPhaseEntered.set({ layer: e.layer, phase: e.phase }, e.ms / 1000);
  }
}

function outcomeOf(state: string | undefined, status: string): string {
  if (state === 'promoted' || state === 'failed' || state === 'aborted') return state;
  if (status === 'CANCELLED') return 'aborted';
  return status === 'COMPLETED' ? 'promoted' : 'failed';
}

/** Forgets ids older than the overlap window and returns the new low-water mark. */
function prune(ids: Map<string, number>, since: number): number {
  const latest = Math.max(since, ...ids.values());
  const keepFrom = latest - OVERLAP_MS;
  for (const [id, at] of ids) if (at < keepFrom) ids.delete(id);
  return Math.max(since, keepFrom);
}
