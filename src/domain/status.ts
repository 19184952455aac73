import type { ApprovalRecord } from './approval';

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

/** What populating put in the environment (data-plane layers): source, policy decision, fidelity, PII scan. */
export interface DataSummary {
  source: string;
  classification: string;
  /** sha256 of the source file (profile or dataset) that was approved. */
  digest?: string;
  approvedBy?: string;
  /** The data policy's decision: its rule and whether it allowed populating from the source. */
  policy: { allowed: boolean; rule: string };
  /** The masking policy the rows went through, if any. */
  masking?: string;
  table: string;
  rows: number;
  seed: number;
  created: boolean;
  /** Set when populating was refused: DataPolicyViolation, DatasetNotApproved, FidelityBelowThreshold or PiiFound. */
  refused?: string;
  fidelity?: { overall: number; threshold: number; passed: boolean };
  pii?: {
    total: number;
    allowance: number;
    findings: Array<{ table: string; column: string; detector: string; count: number }>;
  };
}

export interface LayerStatus {
  name: string;
  phase: LayerPhase;
  /** Version running in the layer's environment now (null when none). */
  running: string | null;
  gates: GateResult[];
  approval: { required: number; allowed: string[] };
  approvals: ApprovalRecord[];
  /** Why the layer failed, when it did. */
  failure?: string;
  /** The data the environment was populated with (layers with `data:`). */
  data?: DataSummary;
  /** While waiting for the environment's lease: who holds it (filled in by clients). */
  lease?: { holder: string; kind: string; since: string } | null;
}

export interface PromotionStatus {
  id: string;
  candidate: { name: string; version: string; digest: string };
  initiator: string;
  state: PromotionState;
  layers: LayerStatus[];
  /** Set when the promotion ended failed or aborted. */
  reason?: string;
}

export function isTerminal(state: PromotionState): boolean {
  return state === 'promoted' || state === 'failed' || state === 'aborted';
}

/** One line for status and audit: where a layer's rows came from and what the data plane checked. */
export function describeData(d: DataSummary): string {
  const source = `${d.classification} source ${d.source}${d.digest ? ` (sha256 ${d.digest.slice(0, 12)}${d.approvedBy ? `, approved by ${d.approvedBy}` : ''})` : ''}`;
  const parts = [
    d.refused
      ? `REFUSED (${d.refused}): nothing written from ${source}`
      : `${d.rows} rows of ${d.table} from ${source}, seed ${d.seed}`,
    `policy ${d.policy.rule} ${d.policy.allowed ? 'allowed' : 'REFUSED'}`,
  ];
  if (d.masking) parts.push(`masked by ${d.masking}`);
  if (d.fidelity)
    parts.push(`fidelity ${d.fidelity.overall.toFixed(3)} ${d.fidelity.passed ? '≥' : '<'} ${d.fidelity.threshold}`);
  if (d.pii) {
    const found = describeFindings(d.pii.findings);
    parts.push(
      `PII ${d.pii.total} finding${d.pii.total === 1 ? '' : 's'} (allowance ${d.pii.allowance})${found ? `: ${found}` : ''}`,
    );
  }
  if (!d.created && !d.refused) parts.push('already populated with exactly this');
  return parts.join('; ');
}

/** PII findings in one line: `table.column detector ×count, …` (counts only, never a value). */
export function describeFindings(
  findings: ReadonlyArray<{ table: string; column: string; detector: string; count: number }>,
): string {
  return findings.map((f) => `${f.table}.${f.column} ${f.detector} ×${f.count}`).join(', ');
}
