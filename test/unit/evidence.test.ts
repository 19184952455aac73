import { createHash } from 'node:crypto';
import canonicalize from 'canonicalize';
import { describe, expect, it } from 'vitest';
import { canonicalJson, evidenceDigest, staleEvidence, type Evidence } from '../../src/domain/evidence';
import { sha256Hex } from '../../src/domain/sha256';

const evidence: Evidence = {
  gates: [
    { name: 'quality', type: 'quality', passed: true, value: 0.8125, threshold: 0.78, detail: 'auc', unit: undefined },
    {
      name: 'p99',
      type: 'slo',
      passed: true,
      value: 12,
      threshold: 250,
      unit: 'ms',
      detail: 'ok',
      measured: { p50: 3, p99: 12, errorRate: 0 },
    },
  ],
  data: { source: 'synthetic', classification: 'synthetic' } as Evidence['data'],
  candidateDigest: 'a'.repeat(64),
  ladderDigest: null,
};

describe('evidence digest', () => {
  it('sha256 in plain TypeScript equals node:crypto, across lengths and non-ASCII text', () => {
    for (const text of ['', 'abc', 'é€😀 ünïcødé', 'x'.repeat(55), 'y'.repeat(56), 'z'.repeat(64), 'w'.repeat(1000)])
      expect(sha256Hex(text)).toBe(createHash('sha256').update(text, 'utf8').digest('hex'));
  });

  it('canonical JSON is RFC 8785 (as the canonicalize package writes it)', () => {
    const samples = [evidence, { b: [1, 2.5, -0, 1e21, 'é'], a: { z: null, y: true } }, 'x', 3, null];
    for (const v of samples) expect(canonicalJson(v)).toBe(canonicalize(JSON.parse(JSON.stringify(v))));
  });

  it('is the sha256 of the canonical JSON of {gates, data, candidateDigest, ladderDigest}; the same after a JSON round trip', () => {
    const d = evidenceDigest(evidence);
    const expected = createHash('sha256')
      .update(canonicalize(JSON.parse(JSON.stringify(evidence)))!, 'utf8')
      .digest('hex');
    expect(d.digest).toBe(expected);
    expect(evidenceDigest(JSON.parse(JSON.stringify(evidence)) as Evidence)).toEqual(d);
  });

  it('a stale digest names what changed', () => {
    const shown = evidenceDigest(evidence);
    expect(staleEvidence(shown, shown)).toBeUndefined();
    const regated = evidenceDigest({ ...evidence, gates: [{ ...evidence.gates[0], value: 0.79 }, evidence.gates[1]] });
    expect(staleEvidence(shown, regated)).toMatch(/^approval\.refused: stale evidence: the gate results changed/);
    const reladdered = evidenceDigest({ ...evidence, ladderDigest: 'b'.repeat(64) });
    expect(staleEvidence(shown, reladdered)).toContain('the ladder version changed');
    expect(staleEvidence({ digest: shown.digest }, reladdered)).toContain(
      'the evidence (the request named no parts) changed',
    );
  });
});
