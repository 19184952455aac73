// What the data plane did in a layer, as status and audit show it: counts, names and scores, never a value.

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

/**
 * PII findings in one line: `table.column detector ×count (confidence 0.97), …` (counts and the
 * column evidence's confidence only, never a value; reports from before it have no confidence).
 */
export function describeFindings(
  findings: ReadonlyArray<{ table: string; column: string; detector: string; count: number; confidence?: number }>,
): string {
  return findings
    .map(
      (f) =>
        `${f.table}.${f.column} ${f.detector} ×${f.count}` +
        (f.confidence === undefined ? '' : ` (confidence ${f.confidence.toFixed(2)})`),
    )
    .join(', ');
}
