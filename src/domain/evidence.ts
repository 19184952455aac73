// The evidence an approver is shown for a layer, and its digest: the sha256 of the RFC 8785
// canonical JSON of {gates, data, candidateDigest, ladderDigest}. Clients compute it from the
// promotion's status and send it with an approval; the layer workflow computes it from its own
// state when the approval arrives and refuses one made on other evidence. Pure: the workflow runs it.

import type { DataSummary } from './data';
import type { EvidenceDigest } from './evidence-check';
import { sha256Hex } from './sha256';
import type { GateResult, PromotionStatus } from './status';

export * from './evidence-check';

export interface Evidence {
  /** The layer's gate results, in the order they ran. */
  gates: GateResult[];
  /** What the environment was populated with (null for layers without a data plane). */
  data: DataSummary | null;
  candidateDigest: string;
  /** The pinned ladder version's digest (null for promotions that carried their layers). */
  ladderDigest: string | null;
}

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
