// Measures that catch what marginals miss, computed against REAL rows (a steward's held-out sample):
//
// - Detection, as SDMetrics' LogisticDetection: real and synthetic rows are encoded (numbers and
//   datetimes as numbers with missing values set to the real mean, booleans 0/1 with the real mode,
//   categories one-hot with missing a category of its own), then a logistic regression (L2, C = 1,
//   as scikit-learn's default) with mean imputation and robust scaling learns to tell them apart
//   under stratified 3-fold cross-validation. Score = 1 − mean over folds of 2·max(AUC − 0.5, 0):
//   1 when the classifier cannot tell them apart, 0 when it always can.
// - ML efficacy (TSTR) for a binary label: the same model trained on the synthetic rows and tested
//   on half of the real rows, against the model trained on the other half of the real rows
//   (TRTR) and tested on the same half. Score = (AUC_TSTR − 0.5) / (AUC_TRTR − 0.5), clipped to
//   [0, 1]: the share of the real data's predictive signal the synthetic data carries.
//
// Every shuffle comes from a seeded stream, so the same rows give the same scores.

import { createRandom } from '../profile/random';

export type TableColumn =
  | { name: string; kind: 'continuous' | 'boolean'; values: Float64Array }
  | { name: string; kind: 'categorical'; values: Array<string | null> };

/** Columns of equal length; the real and the synthetic table list the same columns in the same order. */
export type Table = TableColumn[];

const rowCount = (table: Table): number => (table.length === 0 ? 0 : table[0].values.length);

/** The encoder fitted on the real table (SDMetrics' HyperTransformer). */
function fitEncoder(real: Table): (table: Table) => Float64Array[] {
  const plans = real.map((column) => {
    if (column.kind === 'categorical') {
      const levels = [...new Set(column.values.map((v) => v ?? '\u0000missing'))].sort();
      return { kind: 'onehot' as const, levels: new Map(levels.map((l, i) => [l, i])) };
    }
    let sum = 0;
    let n = 0;
    let ones = 0;
    for (const v of column.values) {
      if (v === v) {
        sum += v;
        n++;
        if (v === 1) ones++;
      }
    }
    const fill = column.kind === 'boolean' ? (ones * 2 >= n ? 1 : 0) : n === 0 ? 0 : sum / n;
    return { kind: 'number' as const, fill };
  });
  return (table) => {
    const rows = rowCount(table);
    const features: Float64Array[] = [];
    table.forEach((column, c) => {
      const plan = plans[c];
      if (plan.kind === 'number') {
        const values = column.values as Float64Array;
        features.push(Float64Array.from({ length: rows }, (_, i) => (values[i] === values[i] ? values[i] : plan.fill)));
      } else {
        const values = column.values as Array<string | null>;
        const width = plan.levels.size;
        const block = Array.from({ length: width }, () => new Float64Array(rows));
        for (let i = 0; i < rows; i++) {
          const level = plan.levels.get(values[i] ?? '\u0000missing');
          if (level !== undefined) block[level][i] = 1;
        }
        features.push(...block);
      }
    });
    return features;
  };
}

/** A row-major design matrix: n rows of d features. */
interface Design {
  x: Float64Array;
  n: number;
  d: number;
}

function design(features: Float64Array[], rows: readonly number[]): Design {
  const d = features.length;
  const x = new Float64Array(rows.length * d);
  rows.forEach((r, i) => {
    for (let f = 0; f < d; f++) x[i * d + f] = features[f][r];
  });
  return { x, n: rows.length, d };
}

function quantile(sorted: Float64Array, p: number): number {
  const h = (sorted.length - 1) * p;
  const lo = Math.floor(h);
  const hi = Math.min(sorted.length - 1, lo + 1);
  return sorted[lo] + (h - lo) * (sorted[hi] - sorted[lo]);
}

/** scikit-learn's RobustScaler fitted on `train`: (x − median) / IQR, IQR 0 → 1. */
function robustScaler(train: Design): (m: Design) => void {
  const center = new Float64Array(train.d);
  const scale = new Float64Array(train.d);
  for (let f = 0; f < train.d; f++) {
    const column = Float64Array.from({ length: train.n }, (_, i) => train.x[i * train.d + f]).sort();
    center[f] = quantile(column, 0.5);
    const iqr = quantile(column, 0.75) - quantile(column, 0.25);
    scale[f] = iqr > 0 ? iqr : 1;
  }
  return (m) => {
    for (let i = 0; i < m.n; i++)
      for (let f = 0; f < m.d; f++) m.x[i * m.d + f] = (m.x[i * m.d + f] - center[f]) / scale[f];
  };
}

const sigmoid = (z: number): number => (z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z)));

/** Solves A·v = b for a symmetric positive definite A (d×d, row-major), by Cholesky. */
function solveSpd(a: Float64Array, b: Float64Array, d: number): Float64Array {
  const l = new Float64Array(d * d);
  for (let i = 0; i < d; i++) {
    for (let j = 0; j <= i; j++) {
      let s = a[i * d + j];
      for (let k = 0; k < j; k++) s -= l[i * d + k] * l[j * d + k];
      l[i * d + j] = i === j ? Math.sqrt(Math.max(s, 1e-12)) : s / l[j * d + j];
    }
  }
  const y = new Float64Array(d);
  for (let i = 0; i < d; i++) {
    let s = b[i];
    for (let k = 0; k < i; k++) s -= l[i * d + k] * y[k];
    y[i] = s / l[i * d + i];
  }
  const v = new Float64Array(d);
  for (let i = d - 1; i >= 0; i--) {
    let s = y[i];
    for (let k = i + 1; k < d; k++) s -= l[k * d + i] * v[k];
    v[i] = s / l[i * d + i];
  }
  return v;
}

/**
 * L2-regularised logistic regression (scikit-learn's objective with C = 1: ½‖w‖² + Σ log-loss, the
 * intercept not penalised), fitted by Newton's method. Returns a scorer of new rows.
 */
export function fitLogistic(train: Design, y: ArrayLike<number>, c = 1): (m: Design) => Float64Array {
  const d = train.d + 1; // the intercept is the last weight
  const w = new Float64Array(d);
  for (let iteration = 0; iteration < 50; iteration++) {
    const gradient = new Float64Array(d);
    const hessian = new Float64Array(d * d);
    const row = new Float64Array(d);
    for (let i = 0; i < train.n; i++) {
      for (let f = 0; f < train.d; f++) row[f] = train.x[i * train.d + f];
      row[d - 1] = 1;
      let z = 0;
      for (let f = 0; f < d; f++) z += w[f] * row[f];
      const p = sigmoid(z);
      const r = p - y[i];
      const weight = Math.max(p * (1 - p), 1e-10);
      for (let f = 0; f < d; f++) {
        gradient[f] += c * r * row[f];
        const wf = c * weight * row[f];
        for (let g = 0; g <= f; g++) hessian[f * d + g] += wf * row[g];
      }
    }
    for (let f = 0; f < d; f++) for (let g = 0; g < f; g++) hessian[g * d + f] = hessian[f * d + g];
    for (let f = 0; f < d - 1; f++) {
      gradient[f] += w[f];
      hessian[f * d + f] += 1;
    }
    hessian[(d - 1) * d + d - 1] += 1e-8;
    const step = solveSpd(hessian, gradient, d);
    let change = 0;
    for (let f = 0; f < d; f++) {
      w[f] -= step[f];
      change = Math.max(change, Math.abs(step[f]));
    }
    if (change < 1e-8) break;
  }
  return (m) =>
    Float64Array.from({ length: m.n }, (_, i) => {
      let z = w[d - 1];
      for (let f = 0; f < m.d; f++) z += w[f] * m.x[i * m.d + f];
      return sigmoid(z);
    });
}

/** ROC AUC (the Mann–Whitney statistic, ties counted half); NaN without both classes. */
export function rocAuc(y: ArrayLike<number>, scores: ArrayLike<number>): number {
  const idx = Array.from({ length: y.length }, (_, i) => i).sort((a, b) => scores[a] - scores[b]);
  let positives = 0;
  let rankSum = 0;
  let i = 0;
  while (i < idx.length) {
    let j = i;
    while (j + 1 < idx.length && scores[idx[j + 1]] === scores[idx[i]]) j++;
    const rank = (i + j) / 2 + 1;
    for (let t = i; t <= j; t++) {
      if (y[idx[t]] === 1) {
        positives++;
        rankSum += rank;
      }
    }
    i = j + 1;
  }
  const negatives = y.length - positives;
  if (positives === 0 || negatives === 0) return NaN;
  return (rankSum - (positives * (positives + 1)) / 2) / (positives * negatives);
}

function shuffled(items: number[], random: { next(): number }): number[] {
  const out = items.slice();
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random.next() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

/** Stratified folds: each class shuffled and dealt round-robin into `k` folds. */
function stratifiedFolds(y: ArrayLike<number>, k: number, seed: number): number[] {
  const random = createRandom(seed, 71);
  const fold = new Array<number>(y.length).fill(0);
  for (const cls of [0, 1]) {
    const members = Array.from({ length: y.length }, (_, i) => i).filter((i) => y[i] === cls);
    shuffled(members, random).forEach((row, position) => (fold[row] = position % k));
  }
  return fold;
}

/** Imputes (training mean), scales (robust) and fits on `train` rows; returns scores of `test` rows. */
function fitPredict(features: Float64Array[], y: ArrayLike<number>, train: number[], test: number[]): Float64Array {
  const trainDesign = design(features, train);
  const testDesign = design(features, test);
  const scale = robustScaler(trainDesign);
  scale(trainDesign);
  scale(testDesign);
  const labels = Float64Array.from(train, (r) => y[r]);
  return fitLogistic(trainDesign, labels)(testDesign);
}

export interface DetectionResult {
  /** 1 − mean(2·max(AUC − 0.5, 0)) over the folds. */
  score: number;
  aucs: number[];
  realRows: number;
  syntheticRows: number;
}

/** LogisticDetection of `synthetic` against `real` (same columns, same order). */
export function logisticDetection(real: Table, synthetic: Table, seed = 0): DetectionResult | undefined {
  const n = rowCount(real);
  const m = rowCount(synthetic);
  if (n < 3 || m < 3 || real.length === 0) return undefined;
  const encode = fitEncoder(real);
  const a = encode(real);
  const b = encode(synthetic);
  const features = a.map((column, f) => {
    const joined = new Float64Array(n + m);
    joined.set(column, 0);
    joined.set(b[f], n);
    return joined;
  });
  const y = Float64Array.from({ length: n + m }, (_, i) => (i < n ? 1 : 0));
  const fold = stratifiedFolds(y, 3, seed);
  const aucs: number[] = [];
  for (let k = 0; k < 3; k++) {
    const train: number[] = [];
    const test: number[] = [];
    fold.forEach((f, i) => (f === k ? test : train).push(i));
    const scores = fitPredict(features, y, train, test);
    aucs.push(
      rocAuc(
        Float64Array.from(test, (i) => y[i]),
        scores,
      ),
    );
  }
  const score = 1 - aucs.reduce((s, auc) => s + Math.max(0.5, auc) * 2 - 1, 0) / aucs.length;
  return { score, aucs, realRows: n, syntheticRows: m };
}

export interface EfficacyResult {
  label: string;
  /** AUC of the model trained on synthetic rows, tested on the real test half. */
  tstr: number;
  /** AUC of the model trained on the real training half, tested on the same real half. */
  trtr: number;
  /** (tstr − 0.5) / (trtr − 0.5), clipped to [0, 1]. */
  score: number;
  realTestRows: number;
}

/** TSTR against TRTR for the binary column `label` (0/1, NaN missing) of both tables. */
export function mlEfficacy(real: Table, synthetic: Table, label: string, seed = 0): EfficacyResult | undefined {
  const index = real.findIndex((c) => c.name === label);
  if (index < 0 || real[index].kind === 'categorical') return undefined;
  const yReal = real[index].values as Float64Array;
  const ySynth = synthetic[index].values as Float64Array;
  const keepReal = Array.from({ length: yReal.length }, (_, i) => i).filter((i) => yReal[i] === 0 || yReal[i] === 1);
  const keepSynth = Array.from({ length: ySynth.length }, (_, i) => i).filter(
    (i) => ySynth[i] === 0 || ySynth[i] === 1,
  );
  const realFeatures = real.filter((_, c) => c !== index);
  const synthFeatures = synthetic.filter((_, c) => c !== index);
  if (realFeatures.length === 0) return undefined;
  const encode = fitEncoder(realFeatures);
  const a = encode(realFeatures);
  const b = encode(synthFeatures);
  const halves = stratifiedFolds(
    Float64Array.from(keepReal, (i) => yReal[i]),
    2,
    seed,
  );
  const realTrain = keepReal.filter((_, p) => halves[p] === 0);
  const realTest = keepReal.filter((_, p) => halves[p] === 1);
  const positives = (rows: number[], y: Float64Array): number => rows.reduce((s, r) => s + y[r], 0);
  if (
    positives(realTrain, yReal) === 0 ||
    positives(realTest, yReal) === 0 ||
    positives(keepSynth, ySynth) === 0 ||
    positives(keepSynth, ySynth) === keepSynth.length
  )
    return undefined;
  const yTest = Float64Array.from(realTest, (r) => yReal[r]);
  const trtr = rocAuc(yTest, fitPredict(a, yReal, realTrain, realTest));
  // Synthetic rows first, then the real test rows, in one feature matrix.
  const joined = a.map((column, f) => {
    const out = new Float64Array(keepSynth.length + realTest.length);
    keepSynth.forEach((r, i) => (out[i] = b[f][r]));
    realTest.forEach((r, i) => (out[keepSynth.length + i] = column[r]));
    return out;
  });
  const yJoined = Float64Array.from({ length: keepSynth.length + realTest.length }, (_, i) =>
    i < keepSynth.length ? ySynth[keepSynth[i]] : yReal[realTest[i - keepSynth.length]],
  );
  const trainRows = keepSynth.map((_, i) => i);
  const testRows = realTest.map((_, i) => keepSynth.length + i);
  const tstr = rocAuc(yTest, fitPredict(joined, yJoined, trainRows, testRows));
  const score = trtr > 0.5 ? Math.max(0, Math.min(1, (tstr - 0.5) / (trtr - 0.5))) : NaN;
  return { label, tstr, trtr, score, realTestRows: realTest.length };
}
