// The default fidelity thresholds, held to the example data: synthetic rows from the example
// profile (examples/data/transactions.profile.json, with the example ladder's label rule) are
// scored against a held-out sample of the real file the profile was made from
// (examples/data/production-transactions.csv). The good generator must pass the example ladder's
// thresholds; each deliberately broken generator must fail them.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadLadder } from '../../../src/config/ladder';
import { createRandom } from '../../../src/data/profile/random';
import { loadProfile } from '../../../src/data/profile/schema';
import { checkFidelity, DEFAULT_FIDELITY_THRESHOLDS } from '../../../src/data/synth/fidelity';
import { fidelityAgainstRows } from '../../../src/data/synth/fidelity-rows';
import type { SynthValue } from '../../../src/data/synth/generator';
import { heldOutRows, type Holdout } from '../../../src/data/synth/holdout';
import { generateRows } from '../../../src/data/synth/output';

const ROOT = path.resolve(__dirname, '../../..');
const ladder = loadLadder(path.join(ROOT, 'examples', 'ladder.yaml'));
const sandbox = ladder.layers.find((l) => l.name === 'sandbox')!.data!;
const profile = loadProfile(sandbox.source.file);
const labels = sandbox.source.labels ?? [];
const ROWS = 2000;

let home: string;
let real: Holdout;

beforeAll(async () => {
  home = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-defaults-'));
  real = await heldOutRows(home, sandbox.source.holdout!, 'e'.repeat(64));
});
afterAll(() => fs.rmSync(home, { recursive: true, force: true }));

function generate(options: { noise?: number; missingRate?: number } = {}) {
  return generateRows(profile, { rows: ROWS, seed: sandbox.seed, labels, ...options });
}

function permute<T>(values: T[], seed: number): T[] {
  const random = createRandom(seed, 5);
  const out = values.slice();
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random.next() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

/** Rows with the given columns each permuted on its own (marginals kept, associations broken). */
function shuffleColumns(rows: SynthValue[][], columns: number[]): SynthValue[][] {
  const out = rows.map((r) => r.slice());
  for (const c of columns) {
    const shuffled = permute(
      rows.map((r) => r[c]),
      c + 1,
    );
    out.forEach((r, i) => (r[c] = shuffled[i]));
  }
  return out;
}

function score(columns: string[], rows: SynthValue[][]) {
  const report = fidelityAgainstRows(profile, real, { columns, rows }, { labels: ['is_fraud'], seed: sandbox.seed });
  const thresholds = {
    ...DEFAULT_FIDELITY_THRESHOLDS,
    overall: sandbox.fidelityThreshold,
    ...sandbox.fidelityThresholds,
  };
  return { report, check: checkFidelity(report, thresholds) };
}

describe('default fidelity thresholds on the example data', () => {
  const good = generate();
  const names = good.columns.map((c) => c.name);
  const modelled = good.columns.flatMap((c, i) => (c.type === 'identifier' || c.type === 'free-text' ? [] : [i]));
  const at = (name: string): number => names.indexOf(name);

  const cases: Array<[string, () => SynthValue[][], boolean]> = [
    ['the good generator', () => good.rows, true],
    ['noise 1 with 50 % missing values', () => generate({ noise: 1, missingRate: 0.5 }).rows, false],
    ['shuffled columns (marginals kept, correlations broken)', () => shuffleColumns(good.rows, modelled), false],
    [
      'a constant column (amount stuck at its median)',
      () => {
        const amounts = good.rows.map((r) => r[at('amount')] as number).sort((a, b) => a - b);
        const median = amounts[amounts.length >> 1];
        return good.rows.map((r) => r.map((v, c) => (c === at('amount') ? median : v)));
      },
      false,
    ],
    ['labels independent of the features', () => shuffleColumns(good.rows, [at('is_fraud')]), false],
  ];

  for (const [name, rows, passes] of cases) {
    it(`${passes ? 'passes' : 'fails'}: ${name}`, () => {
      const { report, check } = score(names, rows());
      console.log(`${name}: ${check.message}`);
      expect(report.basis).toBe('rows');
      expect(check.passed).toBe(passes);
    });
  }
});
