import type { ApprovalRecord } from './approval';
import type { CandidateRef, LayerSpec } from './ladder';
import type { DataSummary } from './data';
import type { GateResult, LayerPhase, LayerStatus, PromotionState } from './status';
import type { LadderRef, PinnedLadder } from './ladder-version';

export interface PromotionInput {
  ladderName: string;
  /**
   * The layers to climb, already sliced to --from..--to, in order. Only promotions recorded before
   * ladders lived on the server run these; newer ones ignore them and run `ladder`.
   */
  layers: LayerSpec[];
  /** The stored ladder (and version) to run: the workflow reads it from the ladder entity. */
  ladder?: LadderRef;
  /** Set by the workflow itself once it has read and checked the ladder; never taken from a client. */
  pinned?: PinnedLadder;
  candidate: CandidateRef;
  /** Who started the promotion (normalized); may never approve it. */
  initiator: string;
  /** Set by the API server: how it verified the initiator (the audit labels it `api (<auth>)`). */
  auth?: string;
}

export interface LayerInput {
  promotionId: string;
  layer: LayerSpec;
  candidate: CandidateRef;
  initiator: string;
  /** The pinned ladder version (promotions since `evidence-digest`): its digest is part of the evidence. */
  ladder?: { name: string; version: number; digest: string };
}

export type LayerOutcome = 'promoted' | 'failed' | 'aborted';

export interface LayerResult {
  layer: string;
  outcome: LayerOutcome;
  phase: LayerPhase;
  running: string | null;
  gates: GateResult[];
  failure?: string;
  /** The approvals the layer took (layers since `sealed-decisions` hold their own). */
  approvals?: ApprovalRecord[];
  /** The data the environment was populated with (layers since `sealed-decisions`). */
  data?: DataSummary;
}

export interface PromotionResult {
  id: string;
  state: PromotionState;
  reason?: string;
  /** Recorded results of older promotions lack `approval` (status rebuilds it from the ladder). */
  layers: LayerStatus[];
}

/** Child → parent: what a layer workflow is doing now (the layerProgress signal). */
export interface LayerProgress {
  layer: string;
  phase?: LayerPhase;
  running?: string | null;
  gate?: GateResult;
  failure?: string;
  data?: DataSummary;
}

/** The id of a layer's child workflow: derived, so a restarted promotion finds the same child. */
export function layerWorkflowId(promotionId: string, layer: string): string {
  return `${promotionId}.${layer}`;
}

/** One line describing a failed gate: its name, measured value and threshold. */
export function describeGateFailure(gate: GateResult): string {
  const unit = gate.unit ? ` ${gate.unit}` : '';
  const measured = gate.value === null ? 'nothing measured' : `measured ${gate.value}${unit}`;
  const threshold = gate.threshold === null ? '' : `, threshold ${gate.threshold}${unit}`;
  return `gate ${gate.name} failed: ${measured}${threshold} (${gate.detail})`;
}
