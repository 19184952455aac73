// The standard normal CDF and its inverse: the two halves of a Gaussian copula (normal scores when
// profiling, uniforms when generating).

/** Complementary error function; Numerical Recipes' erfcc, fractional error below 1.2e-7. */
function erfc(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const r =
    t *
    Math.exp(
      -z * z -
        1.26551223 +
        t *
          (1.00002368 +
            t *
              (0.37409196 +
                t *
                  (0.09678418 +
                    t *
                      (-0.18628806 +
                        t *
                          (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
    );
  return x >= 0 ? r : 2 - r;
}

/** Φ(x), the standard normal CDF. */
export function normalCdf(x: number): number {
  return 0.5 * erfc(-x * Math.SQRT1_2);
}

// Acklam's rational approximation of Φ⁻¹, relative error below 1.15e-9.
const A = [
  -3.969683028665376e1, 2.209460984245205e2, -2.759285104469687e2, 1.38357751867269e2, -3.066479806614716e1,
  2.506628277459239,
];
const B = [-5.447609879822406e1, 1.615858368580409e2, -1.556989798598866e2, 6.680131188771972e1, -1.328068155288572e1];
const C = [
  -7.784894002430293e-3, -3.223964580411365e-1, -2.400758277161838, -2.549732539343734, 4.374664141464968,
  2.938163982698783,
];
const D = [7.784695709041462e-3, 3.224671290700398e-1, 2.445134137142996, 3.754408661907416];
const P_LOW = 0.02425;

/** Φ⁻¹(p) for p in (0, 1); the ends map to ±8.3 (Φ of that is within 1e-16 of 0 or 1). */
export function normalQuantile(p: number): number {
  if (!(p > 0)) return -8.3;
  if (!(p < 1)) return 8.3;
  if (p < P_LOW) {
    const q = Math.sqrt(-2 * Math.log(p));
    return (
      (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5]) /
      ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1)
    );
  }
  if (p > 1 - P_LOW) {
    const q = Math.sqrt(-2 * Math.log(1 - p));
    return (
      -(((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5]) /
      ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1)
    );
  }
  const q = p - 0.5;
  const r = q * q;
  return (
    ((((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q) /
    (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1)
  );
}

// Φ by table: linear interpolation on a 1/256 grid over [-8, 8] is within 5e-7 of Φ (the error of
// linear interpolation is at most h²/8 · max|Φ''|), several times faster than evaluating erfc —
// and synthesis evaluates Φ once per modelled cell.
const TABLE_STEP = 1 / 256;
const TABLE_MIN = -8;
const TABLE_SIZE = Math.round(16 / TABLE_STEP) + 1;
const TABLE = new Float64Array(TABLE_SIZE + 1);
for (let i = 0; i <= TABLE_SIZE; i++) TABLE[i] = normalCdf(TABLE_MIN + i * TABLE_STEP);

/** Φ(x) from a table; see above for its accuracy. */
export function normalCdfFast(x: number): number {
  const h = (x - TABLE_MIN) * 256;
  if (!(h > 0)) return TABLE[0];
  if (h >= TABLE_SIZE - 1) return TABLE[TABLE_SIZE - 1];
  const i = h | 0;
  return TABLE[i] + (h - i) * (TABLE[i + 1] - TABLE[i]);
}
