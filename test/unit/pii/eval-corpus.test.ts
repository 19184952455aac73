// The detectors on the HELD-OUT corpus of real-world formats from 11 locales
// (test/fixtures/pii/eval/corpus.jsonl, made by scripts/make-pii-eval-corpus.ts, validity checked
// there with libphonenumber, mod-97, Luhn and the SSA rules, never with src/data/pii). Prints recall
// and precision per detector and per locale (docs/data-pii.md quotes them).
//
// Targets (issue 16): recall ≥ 0.98 and precision ≥ 0.98. Email, IBAN, card and SSN meet them and
// are held to them. Phones do not yet: unseparated national numbers need column-level evidence,
// which is not built, and dotted 3-2-2-2 numbers are IPv4-shaped. Phones are held to the figures
// they reach now (recall 0.8795, precision 0.9813) so that a regression fails; the target is the test
// marked `todo` below.

import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { PiiDetectors } from '../../../src/data/pii/detectors';
import { EVAL_FILE, type EvalLine, makeEvalCorpus } from '../../../scripts/make-pii-eval-corpus';

const TARGET = 0.98;
const lines = fs
  .readFileSync(EVAL_FILE, 'utf8')
  .trim()
  .split('\n')
  .map((l) => JSON.parse(l) as EvalLine);

interface Score {
  tp: number;
  fp: number;
  fn: number;
}
const recall = (s: Score): number => s.tp / (s.tp + s.fn);
const precision = (s: Score): number => (s.tp + s.fp === 0 ? 1 : s.tp / (s.tp + s.fp));

function score(): { byDetector: Map<string, Score>; byLocale: Map<string, Score> } {
  const detectors = new PiiDetectors();
  const byDetector = new Map<string, Score>();
  const byLocale = new Map<string, Score>();
  const add = (map: Map<string, Score>, key: string, tp: number, fp: number, fn: number) => {
    const s = map.get(key) ?? { tp: 0, fp: 0, fn: 0 };
    s.tp += tp;
    s.fp += fp;
    s.fn += fn;
    map.set(key, s);
  };
  for (const line of lines) {
    const found = detectors.count(line.text);
    const wanted: Record<string, number> = {};
    for (const k of line.labels) wanted[k] = (wanted[k] ?? 0) + 1;
    for (const k of new Set([...Object.keys(found), ...Object.keys(wanted)])) {
      const tp = Math.min(found[k] ?? 0, wanted[k] ?? 0);
      const fp = (found[k] ?? 0) - tp;
      const fn = (wanted[k] ?? 0) - tp;
      add(byDetector, k, tp, fp, fn);
      add(byLocale, line.locale, tp, fp, fn);
    }
  }
  return { byDetector, byLocale };
}

describe('the held-out multi-locale corpus', () => {
  const { byDetector, byLocale } = score();
  const table = (title: string, map: Map<string, Score>) =>
    [
      `${title.padEnd(8)}  values    tp   fp   fn  recall  precision`,
      ...[...map].map(
        ([k, s]) =>
          `${k.padEnd(8)} ${String(s.tp + s.fn).padStart(7)} ${String(s.tp).padStart(5)} ${String(s.fp).padStart(4)} ${String(s.fn).padStart(4)}  ${recall(s).toFixed(4)}  ${precision(s).toFixed(4)}`,
      ),
    ].join('\n');

  it('is what the script makes, with ≥ 8 locales', () => {
    expect(makeEvalCorpus()).toEqual(lines);
    expect(new Set(lines.map((l) => l.locale)).size).toBeGreaterThanOrEqual(8);
    console.log(`${table('detector', byDetector)}\n\n${table('locale', byLocale)}`);
  });

  for (const name of ['email', 'iban', 'card', 'ssn']) {
    it(`${name}: recall and precision ≥ ${TARGET}`, () => {
      const s = byDetector.get(name)!;
      expect(recall(s)).toBeGreaterThanOrEqual(TARGET);
      expect(precision(s)).toBeGreaterThanOrEqual(TARGET);
    });
  }

  it('phone: no worse than today (recall 0.875, precision 0.98)', () => {
    const s = byDetector.get('phone')!;
    expect(recall(s)).toBeGreaterThanOrEqual(0.875);
    expect(precision(s)).toBeGreaterThanOrEqual(0.98);
  });

  it.todo(`phone: recall and precision ≥ ${TARGET} (needs column-level evidence for unseparated numbers)`);

  it('ipv4: the corpus plants none; dotted phone numbers read as addresses stay few (a known defect)', () => {
    expect(byDetector.get('ipv4')?.fp ?? 0).toBeLessThanOrEqual(10);
  });

  it('shares no line with the tuning corpus', () => {
    const tuning = new Set(
      fs
        .readFileSync(path.join(path.dirname(EVAL_FILE), '..', 'corpus.jsonl'), 'utf8')
        .trim()
        .split('\n')
        .map((l) => (JSON.parse(l) as { text: string }).text),
    );
    expect(lines.filter((l) => tuning.has(l.text))).toEqual([]);
  });
});
