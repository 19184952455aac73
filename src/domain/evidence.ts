// The evidence an approver is shown for a layer, and its digest: the sha256 of the RFC 8785
// canonical JSON of {gates, data, candidateDigest, ladderDigest}. Clients compute it from the
// promotion's status and send it with an approval; the layer workflow computes it from its own
// state when the approval arrives and refuses one made on other evidence. Pure: the workflow runs it.

import type { DataSummary } from './data';
import { sha256Hex } from './sha256';
import type { GateResult, PromotionStatus } from './status';

export interface Evidence {
  /** The layer's gate results, in the order they ran. */
  gates: GateResult[];
  /** What the environment was populated with (null for layers without a data plane). */
  data: DataSummary | null;
  candidateDigest: string;
  /** The pinned ladder version's digest (null for promotions that carried their layers). */
  ladderDigest: string | null;
}

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

/**
 * RFC 8785 canonical JSON of JSON data (what JSON.stringify would keep): object keys sorted by
 * UTF-16 code units, no whitespace, numbers and strings as ECMAScript serializes them.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') {
    if (typeof value === 'number' && !Number.isFinite(value)) return 'null';
    return JSON.stringify(value) ?? 'null';
  }
  if (Array.isArray(value)) return `[${value.map((v) => (v === undefined ? 'null' : canonicalJson(v))).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined && typeof v !== 'function')
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

export function evidenceDigest(e: Evidence): EvidenceDigest {
  return {
    digest: sha256Hex(
      canonicalJson({
        gates: e.gates,
        data: e.data,
        candidateDigest: e.candidateDigest,
        ladderDigest: e.ladderDigest,
      }),
    ),
    parts: {
      gates: sha256Hex(canonicalJson(e.gates)),
      data: sha256Hex(canonicalJson(e.data)),
      candidate: sha256Hex(canonicalJson(e.candidateDigest)),
      ladder: sha256Hex(canonicalJson(e.ladderDigest)),
    },
  };
}

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

/**
 * The evidence of `layer` as a client sees it in the promotion's status (what `strata status` and
 * the API show the approver); undefined when the promotion has no such layer.
 */
export function layerEvidence(status: PromotionStatus, layer: string): Evidence | undefined {
  const l = status.layers.find((x) => x.name === layer);
  if (!l) return undefined;
  return {
    gates: l.gates,
    data: l.data ?? null,
    candidateDigest: status.candidate.digest,
    ladderDigest: status.ladder?.digest ?? null,
  };
}
