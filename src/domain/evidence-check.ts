// Whether an approval was made on the evidence a layer has now (evidence.ts computes the digests).
// Apart from evidence.ts so that the approval rules need no status types.

export interface EvidenceDigest {
  /** sha256 of the canonical JSON of the whole evidence. */
  digest: string;
  /** sha256 of each part's canonical JSON, so that a refusal can name what changed. */
  parts: { gates: string; data: string; candidate: string; ladder: string };
}

/** What each part is called in a refusal. */
export const EVIDENCE_PARTS: Record<keyof EvidenceDigest['parts'], string> = {
  gates: 'the gate results',
  data: 'the data summary',
  candidate: 'the candidate digest',
  ladder: 'the ladder version',
};

/** What an approval request says the approver was shown. */
export interface ShownEvidence {
  digest: string;
  parts?: Partial<EvidenceDigest['parts']>;
}

/** The evidence an approval request carries, if it is well formed. */
export function shownEvidence(raw: unknown): ShownEvidence | undefined {
  if (!raw || typeof raw !== 'object') return undefined;
  const r = raw as { digest?: unknown; parts?: unknown };
  if (typeof r.digest !== 'string' || !/^[0-9a-f]{64}$/.test(r.digest)) return undefined;
  const parts = r.parts && typeof r.parts === 'object' ? (r.parts as Record<string, unknown>) : {};
  const picked: Partial<EvidenceDigest['parts']> = {};
  for (const key of Object.keys(EVIDENCE_PARTS) as Array<keyof EvidenceDigest['parts']>)
    if (typeof parts[key] === 'string') picked[key] = parts[key];
  return { digest: r.digest, parts: picked };
}

/**
 * Why `shown` is stale against `current`, naming what changed; undefined when it is current.
 * Parts the client did not send are not named (the message says the change is elsewhere then).
 */
export function staleEvidence(shown: ShownEvidence, current: EvidenceDigest): string | undefined {
  if (shown.digest === current.digest) return undefined;
  const changed = (Object.keys(EVIDENCE_PARTS) as Array<keyof EvidenceDigest['parts']>)
    .filter((k) => shown.parts?.[k] !== undefined && shown.parts[k] !== current.parts[k])
    .map((k) => EVIDENCE_PARTS[k]);
  const what = changed.length > 0 ? changed.join(', ') : 'the evidence (the request named no parts)';
  return (
    `approval.refused: stale evidence: ${what} changed since it was shown ` +
    `(shown sha256 ${shown.digest.slice(0, 12)}…, now ${current.digest.slice(0, 12)}…); look again and decide on what is there now`
  );
}
