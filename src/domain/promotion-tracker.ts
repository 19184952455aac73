import type { ApprovalRecord } from './approval';
import type { LayerProgress, LayerResult, PromotionInput, PromotionResult } from './promotion';
import { isTerminal, type LayerStatus, type PromotionState, type PromotionStatus } from './status';

/**
 * The state of one promotion as its workflow sees it, and the only code that changes it: the
 * workflow wires messages to these methods (samples-typescript's safe-message-handlers keeps its
 * cluster state in a plain class the same way). Pure: no clock, no I/O.
 */
export class PromotionTracker {
  readonly status: PromotionStatus;

  constructor(id: string, input: PromotionInput, initiator: string) {
    this.status = {
      id,
      candidate: { name: input.candidate.name, version: input.candidate.version, digest: input.candidate.digest },
      initiator,
      ...(input.pinned
        ? { ladder: { name: input.pinned.name, version: input.pinned.version, digest: input.pinned.digest } }
        : {}),
      state: 'running',
      layers: input.layers.map((l): LayerStatus => ({
        name: l.name,
        phase: 'pending',
        running: null,
        gates: [],
        approval:
          l.approval.mode === 'manual'
            ? { required: l.approval.required, allowed: l.approval.approvers }
            : { required: 0, allowed: [] },
        approvals: [],
      })),
    };
  }

  get state(): PromotionState {
    return this.status.state;
  }

  layer(name: string): LayerStatus | undefined {
    return this.status.layers.find((l) => l.name === name);
  }

  /**
   * A layer reported progress. Returns the state the promotion is in now, while it runs
   * (`awaiting-approval` when a layer waits for one), or undefined when nothing changes it.
   */
  applyProgress(p: LayerProgress): PromotionState | undefined {
    const l = this.layer(p.layer);
    if (!l) return undefined;
    if (p.phase) l.phase = p.phase;
    if (p.running !== undefined) l.running = p.running;
    if (p.gate) l.gates.push(p.gate);
    if (p.failure) l.failure = p.failure;
    if (p.data) l.data = p.data;
    if (isTerminal(this.status.state)) return undefined;
    return this.status.layers.some((x) => x.phase === 'awaiting-approval') ? 'awaiting-approval' : 'running';
  }

  /** A layer's child workflow ended: its result is the layer's final word. */
  applyLayerResult(result: LayerResult): void {
    const l = this.layer(result.layer);
    if (!l) return;
    l.phase = result.phase;
    l.running = result.running;
    l.gates = result.gates;
    if (result.failure) l.failure = result.failure;
    if (result.approvals) l.approvals = [...result.approvals];
    if (result.data) l.data = result.data;
  }

  /** A layer's workflow started (promotions since `sealed-decisions`): status asks it while it runs. */
  startedLayer(name: string, workflowId: string): void {
    const l = this.layer(name);
    if (l) l.workflowId = workflowId;
  }

  recordApproval(layer: string, approval: ApprovalRecord): void {
    this.layer(layer)?.approvals.push(approval);
  }

  end(state: PromotionState, reason?: string): void {
    if (reason !== undefined) this.status.reason = reason;
    this.status.state = state;
  }

  toResult(): PromotionResult {
    return {
      id: this.status.id,
      state: this.status.state,
      reason: this.status.reason,
      layers: this.status.layers.map((l) => ({ ...l, gates: [...l.gates], approvals: [...l.approvals] })),
    };
  }
}
