// The detectors on the HELD-OUT corpus of real-world formats from 11 locales
// (test/fixtures/pii/eval/corpus.jsonl, made by scripts/make-pii-eval-corpus.ts, validity checked
// there with libphonenumber, mod-97, Luhn and the SSA rules, never with src/data/pii). Prints recall
// and precision per detector and per locale (docs/data-pii.md quotes them), twice: with the lines
// grouped into columns as a table would hold them (column evidence applies, names do not), and
// each value alone.
//
// Targets (issue 16): recall ≥ 0.98 and precision ≥ 0.98. Every detector meets them as columns and
// is held to them. Each value alone, phones do not (unseparated national numbers and dotted or
// dash-grouped numbers need the column's evidence): they are held to the figures they reached
// before column evidence existed (recall 0.8795, precision 0.9813) so that a regression fails.

import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { applyColumnKinds, columnKinds } from '../../../src/data/pii/column';
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

/**
 * Scores every line. `asColumns`: the corpus is line-based, so its lines are grouped into the
 * columns a real table would hold them in, one per locale and recorded field kind (the label; for
 * a look-alike, its field). The columns are unnamed: only the share of values that
 * match is column evidence here, never a name. Each line is then scored on its own, with the
 * candidates its column's evidence lets count.
 */
function score(asColumns: boolean): { byDetector: Map<string, Score>; byLocale: Map<string, Score> } {
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
  const columns = new Map<string, Array<{ line: EvalLine; counts: number[] }>>();
  for (const line of lines) {
    // A look-alike's field is the word its text starts with (Datum, Total, PLZ, EAN, ISBN, Order,
    // Invoice): a table holds order numbers in a column of their own, not mixed with dates.
    const key = `${line.locale}/${line.labels[0] ?? `look-alike ${line.text.split(' ')[0]}`}`;
    const counts = new Array<number>(detectors.slots).fill(0);
    detectors.countInto(line.text, counts);
    columns.set(key, [...(columns.get(key) ?? []), { line, counts }]);
  }
  for (const column of columns.values()) {
    const valuesWith = new Array<number>(detectors.slots).fill(0);
    const totals = new Array<number>(detectors.slots).fill(0);
    for (const { counts } of column) {
      counts.forEach((n, i) => {
        totals[i] += n;
        if (n > 0) valuesWith[i]++;
      });
    }
    const kinds = asColumns
      ? columnKinds(detectors, '', { values: column.length, counts: totals, valuesWith })
      : { phone: false, ssn: false };
    for (const { line, counts } of column) {
      const named = new Array<number>(detectors.names.length).fill(0);
      applyColumnKinds(detectors, kinds, counts, named);
      const found: Record<string, number> = {};
      detectors.names.forEach((name, i) => {
        if (named[i] > 0) found[name] = named[i];
      });
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
  }
  return { byDetector, byLocale };
}

describe('the held-out multi-locale corpus', () => {
  const { byDetector, byLocale } = score(true);
  const alone = score(false);
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
    console.log(
      `as columns (one per locale and field kind, unnamed):\n${table('detector', byDetector)}\n\n${table('locale', byLocale)}\n\n` +
        `each value alone (no column evidence):\n${table('detector', alone.byDetector)}\n\n${table('locale', alone.byLocale)}`,
    );
  });

  for (const name of ['email', 'iban', 'card', 'ssn']) {
    it(`${name}: recall and precision ≥ ${TARGET}`, () => {
      const s = byDetector.get(name)!;
      expect(recall(s)).toBeGreaterThanOrEqual(TARGET);
      expect(precision(s)).toBeGreaterThanOrEqual(TARGET);
    });
  }

  it('phone, each value alone: no worse than before column evidence (recall 0.875, precision 0.98)', () => {
    const s = alone.byDetector.get('phone')!;
    expect(recall(s)).toBeGreaterThanOrEqual(0.875);
    expect(precision(s)).toBeGreaterThanOrEqual(0.98);
  });

  it(`phone, as columns: recall and precision ≥ ${TARGET}`, () => {
    const s = byDetector.get('phone')!;
    expect(recall(s)).toBeGreaterThanOrEqual(TARGET);
    expect(precision(s)).toBeGreaterThanOrEqual(TARGET);
  });

  it('ipv4: the corpus plants none; as columns, dotted phone numbers in a phone column are phones', () => {
    expect(byDetector.get('ipv4')?.fp ?? 0).toBe(0);
    // Each value alone, a dotted 3-2-2-2 number is an address (a known limit without column evidence).
    expect(alone.byDetector.get('ipv4')?.fp ?? 0).toBeLessThanOrEqual(10);
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
