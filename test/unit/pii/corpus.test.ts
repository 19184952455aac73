// Recall and precision of the detectors on the labelled corpus (test/fixtures/pii/corpus.jsonl,
// made by scripts/make-pii-corpus.ts). Detectors return counts, not positions, so a line scores
// per detector: true positives min(labelled, found), false positives the excess found, false
// negatives the excess labelled.

import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { type CorpusLine, makeCorpus } from '../../../scripts/make-pii-corpus';
import { loadDenyList, loadPatterns } from '../../../src/data/pii/config';
import { PiiDetectors } from '../../../src/data/pii/detectors';

const FIXTURES = path.join(__dirname, '..', '..', 'fixtures', 'pii');
const CORPUS_FILE = path.join(FIXTURES, 'corpus.jsonl');
const RECALL_BAR = 0.99;
const PRECISION_BAR = 0.95;

const corpusText = fs.readFileSync(CORPUS_FILE, 'utf8');
const corpus: CorpusLine[] = corpusText
  .trim()
  .split('\n')
  .map((line) => JSON.parse(line) as CorpusLine);

const detectors = new PiiDetectors({
  patterns: loadPatterns(path.join(FIXTURES, 'patterns.yaml')),
  denyList: loadDenyList(path.join(FIXTURES, 'deny-list.txt')),
});

interface Score {
  tp: number;
  fp: number;
  fn: number;
}

const tally = (xs: readonly string[]): Map<string, number> => {
  const out = new Map<string, number>();
  for (const x of xs) out.set(x, (out.get(x) ?? 0) + 1);
  return out;
};

function evaluate(lines: readonly CorpusLine[]): { perDetector: Map<string, Score>; overall: Score } {
  const perDetector = new Map<string, Score>(detectors.names.map((n) => [n, { tp: 0, fp: 0, fn: 0 }]));
  for (const line of lines) {
    const labelled = tally(line.labels);
    const found = detectors.count(line.text);
    for (const name of detectors.names) {
      const want = labelled.get(name) ?? 0;
      const got = found[name] ?? 0;
      const score = perDetector.get(name)!;
      score.tp += Math.min(want, got);
      score.fp += Math.max(0, got - want);
      score.fn += Math.max(0, want - got);
    }
  }
  const overall = { tp: 0, fp: 0, fn: 0 };
  for (const s of perDetector.values()) {
    overall.tp += s.tp;
    overall.fp += s.fp;
    overall.fn += s.fn;
  }
  return { perDetector, overall };
}

const recall = (s: Score): number => s.tp / (s.tp + s.fn);
const precision = (s: Score): number => (s.tp + s.fp === 0 ? 1 : s.tp / (s.tp + s.fp));

describe('the PII corpus', () => {
  it('is what scripts/make-pii-corpus.ts makes (regenerate it with `npx tsx scripts/make-pii-corpus.ts`)', () => {
    const made = makeCorpus()
      .map((line) => JSON.stringify(line))
      .join('\n');
    expect(made + '\n' === corpusText).toBe(true);
  });

  it('has ≥ 3000 lines, positives for every detector and look-alikes for every built-in one', () => {
    expect(corpus.length).toBeGreaterThanOrEqual(3000);
    const planted = tally(corpus.flatMap((l) => l.labels));
    const decoys = tally(corpus.flatMap((l) => l.decoys ?? []));
    for (const name of detectors.names) {
      expect(planted.get(name) ?? 0, `${name} values`).toBeGreaterThanOrEqual(50);
      expect(decoys.get(name) ?? 0, `${name} look-alikes`).toBeGreaterThanOrEqual(50);
    }
  });

  it('holds enough look-alikes that a detector without its rule (Luhn, mod-97, SSN rules, octet range) would fall below the precision bar', () => {
    const planted = tally(corpus.flatMap((l) => l.labels));
    const decoys = tally(corpus.flatMap((l) => l.decoys ?? []));
    for (const name of ['card', 'iban', 'ssn', 'ipv4', 'phone']) {
      // If every look-alike of this kind were counted, precision would be at most this.
      const ceiling = planted.get(name)! / (planted.get(name)! + decoys.get(name)!);
      expect(ceiling, name).toBeLessThan(PRECISION_BAR);
    }
  });
});

describe('detectors on the corpus', () => {
  const { perDetector, overall } = evaluate(corpus);

  it(`reach recall ≥ ${RECALL_BAR} and precision ≥ ${PRECISION_BAR}, per detector and overall`, () => {
    const row = (name: string, s: Score) =>
      `${name.padEnd(12)} ${String(s.tp + s.fn).padStart(6)} ${String(s.tp).padStart(6)} ${String(s.fp).padStart(4)} ${String(s.fn).padStart(4)}` +
      `  ${recall(s).toFixed(4)}  ${precision(s).toFixed(4)}`;
    console.log(
      [
        `PII corpus: ${corpus.length} lines, ${overall.tp + overall.fn} planted values`,
        'detector     values     tp   fp   fn  recall  precision',
        ...[...perDetector].map(([name, s]) => row(name, s)),
        row('overall', overall),
      ].join('\n'),
    );
    for (const [name, s] of perDetector) {
      expect(recall(s), `${name} recall`).toBeGreaterThanOrEqual(RECALL_BAR);
      expect(precision(s), `${name} precision`).toBeGreaterThanOrEqual(PRECISION_BAR);
    }
    expect(recall(overall)).toBeGreaterThanOrEqual(RECALL_BAR);
    expect(precision(overall)).toBeGreaterThanOrEqual(PRECISION_BAR);
  });

  it('find nothing on lines that hold only look-alikes and prose', () => {
    const clean = corpus.filter((l) => l.labels.length === 0);
    expect(clean.length).toBeGreaterThan(1000);
    const flagged = clean.filter((l) => Object.keys(detectors.count(l.text)).length > 0);
    expect(flagged.length / clean.length).toBeLessThan(1 - PRECISION_BAR);
  });
});
