// The export's chain and signature against 200 seeded random tamperings: every one detected, as the
// kind of tampering it was, at the line where it was made.

import { createPublicKey, generateKeyPairSync, sign } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  buildExport,
  canonical,
  type ExportedEntry,
  GENESIS,
  keyEntries,
  type ProblemKind,
  sha256Hex,
  type Signer,
  verifyExports,
} from '../../../src/audit/chain';

function signer(): Signer {
  const { privateKey } = generateKeyPairSync('ed25519');
  const der = createPublicKey(privateKey).export({ format: 'der', type: 'spki' });
  const raw = Buffer.from(der.subarray(der.length - 32));
  return { keyId: `test:${raw.toString('hex').slice(0, 8)}`, publicKey: raw.toString('base64'), privateKey };
}

/** mulberry32: a small seeded generator, so a failure can be replayed. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function entries(n: number, offset = 0): ExportedEntry[] {
  const actions = ['promotion.started', 'gate.passed', 'approval.granted', 'approval.refused', 'layer.promoted'];
  return Array.from({ length: n }, (_, i) => ({
    source: `promotion:p${(i + offset) % 3}`,
    at: new Date(Date.UTC(2026, 0, 1, 0, 0, i + offset)).toISOString(),
    actor: i % 4 === 0 ? 'alice' : 'strata',
    authentication: 'system',
    action: actions[(i + offset) % actions.length],
    layer: i % 2 ? 'traffic' : null,
    detail: `detail ${i + offset}`,
  }));
}

const key = signer();
const trusted = [Buffer.from(key.publicKey, 'base64')];

describe('audit export chain', () => {
  it('an untouched export verifies, and a second export continues the first', () => {
    const first = buildExport(keyEntries(entries(5)), { seq: 0, head: GENESIS }, key, '2026-01-02T00:00:00.000Z');
    const second = buildExport(keyEntries(entries(4, 5)), first.head, key, '2026-01-03T00:00:00.000Z');
    expect(second.head.seq).toBe(9);
    const report = verifyExports(
      [
        { file: 'a', text: first.text },
        { file: 'b', text: second.text },
      ],
      trusted,
    );
    expect(report).toMatchObject({ ok: true, problems: [] });
    expect(report.files.map((f) => [f.firstSeq, f.lastSeq])).toEqual([
      [1, 5],
      [6, 9],
    ]);
    // The second file alone still verifies; out of order, the chain breaks.
    expect(verifyExports([{ file: 'b', text: second.text }], trusted).ok).toBe(true);
    const swapped = verifyExports(
      [
        { file: 'b', text: second.text },
        { file: 'a', text: first.text },
      ],
      trusted,
    );
    expect(swapped.problems[0]).toMatchObject({ file: 'a', kind: 'discontinuous' });
    // Each line carries the sha256 of the exact bytes of the line before it.
    const lines = first.text.trimEnd().split('\n');
    for (let i = 1; i < lines.length; i++) expect(JSON.parse(lines[i]).prev).toBe(sha256Hex(lines[i - 1]));
    expect(lines[0]).toBe(canonical(JSON.parse(lines[0])));
  });

  it('an empty export is a signature line that keeps the head', () => {
    const first = buildExport(keyEntries(entries(3)), { seq: 0, head: GENESIS }, key, 'now');
    const empty = buildExport([], first.head, key, 'later');
    expect(empty.head).toEqual(first.head);
    expect(
      verifyExports(
        [
          { file: 'a', text: first.text },
          { file: 'b', text: empty.text },
        ],
        trusted,
      ).ok,
    ).toBe(true);
  });

  it('200 random tamperings, seeded: each detected as what it was, at its line', () => {
    const rnd = random(Number(process.env.AUDIT_TAMPER_SEED ?? 20261203));
    const pick = (n: number) => Math.floor(rnd() * n);
    const other = signer();
    const kinds: ProblemKind[] = ['edited', 'deleted', 'inserted', 'reordered', 'truncated', 'resigned'];
    const counts: Record<string, number> = {};
    for (let round = 0; round < 200; round++) {
      const n = 3 + pick(30);
      const from = round % 2 ? { seq: 0, head: GENESIS } : { seq: 40 + pick(100), head: sha256Hex(`h${round}`) };
      const { text } = buildExport(keyEntries(entries(n, round)), from, key, '2026-02-01T00:00:00.000Z');
      const lines = text.trimEnd().split('\n'); // n entry lines, then the signature line
      const kind = kinds[round % kinds.length];
      let tampered: string;
      let line: number; // 1-based line the report must name first
      if (kind === 'edited') {
        const i = pick(n + 1);
        const v = JSON.parse(lines[i]) as Record<string, unknown>;
        const fields =
          i === n
            ? ['lastSeq', 'prev', 'exportedAt', 'count', 'start']
            : ['detail', 'actor', 'at', 'seq', 'prev', 'key', 'action'];
        const field = fields[pick(fields.length)];
        const target = ['detail', 'actor', 'at', 'action'].includes(field) ? (v.entry as Record<string, unknown>) : v;
        const old = target[field];
        target[field] =
          typeof old === 'number'
            ? old + 1 + pick(5)
            : field === 'prev' || field === 'start'
              ? sha256Hex(String(rnd()))
              : `${String(old)}x`;
        lines[i] = canonical(v);
        tampered = `${lines.join('\n')}\n`;
        line = i + 1;
      } else if (kind === 'deleted') {
        const i = pick(n);
        lines.splice(i, 1);
        tampered = `${lines.join('\n')}\n`;
        line = i + 1;
      } else if (kind === 'inserted') {
        const p = pick(n + 1);
        const prevLine = p === 0 ? undefined : lines[p - 1];
        const crafted = rnd() < 0.5;
        const forged = canonical({
          type: 'entry',
          seq: from.seq + 1 + pick(n),
          key: sha256Hex(`k${round}`).slice(0, 32),
          prev: crafted ? (prevLine ? sha256Hex(prevLine) : from.head) : sha256Hex(`x${round}`),
          entry: { ...entries(1, 1000 + round)[0], detail: 'forged' },
        });
        lines.splice(p, 0, forged);
        tampered = `${lines.join('\n')}\n`;
        line = p + 1;
      } else if (kind === 'reordered') {
        const a = pick(n);
        let b = pick(n - 1);
        if (b >= a) b += 1;
        [lines[a], lines[b]] = [lines[b], lines[a]];
        tampered = `${lines.join('\n')}\n`;
        line = Math.min(a, b) + 1;
      } else if (kind === 'truncated') {
        const cut = pick(text.length);
        tampered = text.slice(0, cut);
        line = -1; // anywhere at the end
      } else {
        const { sig: _sig, ...body } = JSON.parse(lines[n]) as Record<string, unknown>;
        const resigned = { ...body, keyId: other.keyId, publicKey: other.publicKey };
        const sig = sign(null, Buffer.from(canonical(resigned), 'utf8'), other.privateKey).toString('base64');
        lines[n] = canonical({ ...resigned, sig });
        tampered = `${lines.join('\n')}\n`;
        line = n + 1;
      }
      const report = verifyExports([{ file: 'x.jsonl', text: tampered }], trusted);
      const context = `round ${round} (${kind}, ${n} entries): ${JSON.stringify(report.problems)}`;
      expect(report.ok, context).toBe(false);
      expect(report.problems[0].kind, context).toBe(kind);
      if (line > 0) expect(report.problems[0].line, context).toBe(line);
      counts[kind] = (counts[kind] ?? 0) + 1;
    }
    expect(Object.values(counts).reduce((a, b) => a + b, 0)).toBe(200);
  });
});
