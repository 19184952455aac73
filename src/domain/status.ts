import type { ApprovalRecord } from './approval';
import type { DataSummary } from './data';

export const PROMOTION_STATES = ['running', 'awaiting-approval', 'promoted', 'failed', 'aborted'] as const;
export type PromotionState = (typeof PROMOTION_STATES)[number];

export const LAYER_PHASES = [
  'pending',
  'waiting-for-lease',
  'provisioning',
  'seeding',
  'deploying',
  'testing',
  'awaiting-approval',
  'promoted',
  'failed',
  'rolled-back',
] as const;
export type LayerPhase = (typeof LAYER_PHASES)[number];

export interface GateResult {
  name: string;
  type: string;
  passed: boolean;
  /** The measured value; null when the gate could not measure (the detail says why). */
  value: number | null;
  threshold: number | null;
  unit?: string;
  detail: string;
  /** The load run behind a traffic or chaos gate ($STRATA_HOME/runs/<id>). */
  runId?: string;
  /** Every figure the gate measured, by name (p50, p99, errorRate, recoveryMs, …). */
  measured?: Record<string, number | null>;
  /** One line per check inside the gate (expectations, schema rules), each with its own verdict. */
  checks?: GateCheck[];
}

/** One check of a gate that runs several (an expectation, a schema-compatibility rule). */
export interface GateCheck {
  name: string;
  passed: boolean;
  /** What was measured, in words or figures, e.g. "99.2 % not null (mostly 0.95)". */
  observed: string;
}

export interface LayerStatus {
  name: string;
  phase: LayerPhase;
  /** Version running in the layer's environment now (null when none). */
  running: string | null;
  gates: GateResult[];
  approval: {
    required: number;
    allowed: string[];
    /** The approval has waited past its escalation: `allowed` includes the escalation's entries. */
    escalated?: boolean;
    /** Reminders sent so far (layers with `approval.remind`). */
    reminders?: number;
  };
  approvals: ApprovalRecord[];
  /** Why the layer failed, when it did. */
  failure?: string;
  /** The data the environment was populated with (layers with `data:`). */
  data?: DataSummary;
  /** The layer's own workflow, once started (promotions since `sealed-decisions`): status asks it. */
  workflowId?: string;
  /** The OpenTelemetry trace the layer's workflow runs in (when the worker traces). */
  traceId?: string;
  /** While waiting for the environment's lease: who holds it (filled in by clients). */
  lease?: { holder: string; kind: string; since: string } | null;
}

export interface PromotionStatus {
  id: string;
  candidate: { name: string; version: string; digest: string };
  initiator: string;
  /** The stored ladder version the promotion runs (absent for promotions that carried their layers). */
  ladder?: { name: string; version: number; digest: string };
  state: PromotionState;
  layers: LayerStatus[];
  /** Set when the promotion ended failed or aborted. */
  reason?: string;
}

export function isTerminal(state: PromotionState): boolean {
  return state === 'promoted' || state === 'failed' || state === 'aborted';
}

/** A layer phase nothing follows: the layer's workflow has decided. */
export function isTerminalPhase(phase: LayerPhase): boolean {
  return phase === 'promoted' || phase === 'failed' || phase === 'rolled-back';
}
