// Seeded uniform and normal draws on pure-rand's xoroshiro128+. Independent streams come from one
// seed plus a stream number, so adding (say) a label rule does not shift every other column's
// draws.

import { xoroshiro128plusFromState } from 'pure-rand/generator/xoroshiro128plus';

export interface Random {
  /** Uniform in [0, 1), 53 random bits. */
  next(): number;
  /** Uniform in [0, 1) from one 32-bit draw: for coin flips and small picks, where 32 bits are plenty. */
  fast(): number;
  /** Standard normal. */
  normal(): number;
  /** Fills out[0..count) with standard normals (the same values as `count` calls of normal()). */
  fillNormal(out: Float64Array, count: number): void;
  /** Uniform integer in [0, n), for n up to about 2^20 (one 32-bit draw). */
  int(n: number): number;
}

/** splitmix32 step: spreads a small integer seed over a full generator state. */
function splitmix32(state: number): [next: number, out: number] {
  const next = (state + 0x9e3779b9) | 0;
  let z = next;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return [next, (z ^ (z >>> 16)) | 0];
}

const SCALE26 = 2 ** -26;
const SCALE53 = 2 ** -53;
const SCALE32 = 2 ** -32;

// Ziggurat tables (Marsaglia & Tsang 2000, "The Ziggurat Method for Generating Random Variables",
// 128 layers), built once.
const KN = new Int32Array(128);
const WN = new Float64Array(128);
const FN = new Float64Array(128);
(() => {
  const m1 = 2147483648;
  let dn = 3.442619855899;
  let tn = dn;
  const vn = 9.91256303526217e-3;
  const q = vn / Math.exp(-0.5 * dn * dn);
  KN[0] = Math.floor((dn / q) * m1);
  KN[1] = 0;
  WN[0] = q / m1;
  WN[127] = dn / m1;
  FN[0] = 1;
  FN[127] = Math.exp(-0.5 * dn * dn);
  for (let i = 126; i >= 1; i--) {
    dn = Math.sqrt(-2 * Math.log(vn / dn + Math.exp(-0.5 * dn * dn)));
    KN[i + 1] = Math.floor((dn / tn) * m1);
    tn = dn;
    FN[i] = Math.exp(-0.5 * dn * dn);
    WN[i] = dn / m1;
  }
})();

/** The ziggurat's slow path: the wedge of a layer, or the tail beyond the base strip. */
function normalTail(hz: number, iz: number, int32: () => number, uniform: () => number): number {
  const r = 3.442619855899;
  for (;;) {
    const x = hz * WN[iz];
    if (iz === 0) {
      let tx: number;
      let ty: number;
      do {
        tx = -Math.log(1 - uniform()) / r;
        ty = -Math.log(1 - uniform());
      } while (ty + ty < tx * tx);
      return hz > 0 ? r + tx : -r - tx;
    }
    if (FN[iz] + uniform() * (FN[iz - 1] - FN[iz]) < Math.exp(-0.5 * x * x)) return x;
    hz = int32() | 0;
    iz = hz & 127;
    if (Math.abs(hz) < KN[iz]) return hz * WN[iz];
  }
}

/**
 * xoroshiro128+ with its state spread from `seed` by splitmix32: xoroshiro128plus(seed) keeps the
 * seed almost verbatim in its state, so neighbouring seeds would give correlated first draws.
 * Seeds beyond 32 bits fold their high bits in rather than being truncated; `salt` (already a
 * 32-bit value) separates streams of one seed.
 */
export function seededXoroshiro(seed: number, salt = 0) {
  let s = (seed | 0) ^ Math.floor(seed / 0x1_0000_0000) ^ salt;
  const state: number[] = [];
  for (let i = 0; i < 4; i++) {
    const [next, out] = splitmix32(s);
    s = next;
    state.push(out);
  }
  if (!state.some((v) => v !== 0)) state[0] = 1; // the all-zero state is a fixed point
  return xoroshiro128plusFromState(state);
}

export function createRandom(seed: number, stream = 0): Random {
  if (!Number.isSafeInteger(seed)) throw new RangeError(`seed must be an integer, got ${seed}`);
  const rng = seededXoroshiro(seed, Math.imul(stream + 1, 0x632be5ab));
  // The same bit recipe as pure-rand's uniformFloat64, inlined: this runs once per generated cell.
  const next = (): number => (rng.next() & 0x3ffffff) * SCALE26 + (rng.next() & 0x7ffffff) * SCALE53;
  const int32 = (): number => rng.next();
  return {
    next,
    fast: () => (rng.next() >>> 0) * SCALE32,
    normal(): number {
      // Marsaglia & Tsang's ziggurat: one 32-bit draw and a compare for ~99 % of values.
      const hz = rng.next() | 0;
      const iz = hz & 127;
      if (Math.abs(hz) < KN[iz]) return hz * WN[iz];
      return normalTail(hz, iz, int32, next);
    },
    fillNormal(out: Float64Array, count: number): void {
      for (let k = 0; k < count; k++) {
        const hz = rng.next() | 0;
        const iz = hz & 127;
        out[k] = Math.abs(hz) < KN[iz] ? hz * WN[iz] : normalTail(hz, iz, int32, next);
      }
    },
    int(n: number): number {
      // One 32-bit draw: plenty of resolution for the small ranges this is used for.
      return Math.floor((rng.next() >>> 0) * SCALE32 * n);
    },
  };
}
