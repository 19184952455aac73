// The little linear algebra a Gaussian copula needs: the nearest correlation matrix to one that
// is not positive semi-definite (pairwise-complete estimates often are not), and its Cholesky
// factor.

/** Eigen-decomposition of a symmetric matrix by cyclic Jacobi rotations (fine for a few dozen columns). */
export function symmetricEigen(matrix: number[][]): { values: number[]; vectors: number[][] } {
  const n = matrix.length;
  const a = matrix.map((row) => [...row]);
  const v: number[][] = Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => (i === j ? 1 : 0)));
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off += a[p][q] * a[p][q];
    if (off < 1e-22) break;
    for (let p = 0; p < n; p++) {
      for (let q = p + 1; q < n; q++) {
        if (Math.abs(a[p][q]) < 1e-300) continue;
        const theta = (a[q][q] - a[p][p]) / (2 * a[p][q]);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < n; k++) {
          const akp = a[k][p];
          const akq = a[k][q];
          a[k][p] = c * akp - s * akq;
          a[k][q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          const apk = a[p][k];
          const aqk = a[q][k];
          a[p][k] = c * apk - s * aqk;
          a[q][k] = s * apk + c * aqk;
        }
        for (let k = 0; k < n; k++) {
          const vkp = v[k][p];
          const vkq = v[k][q];
          v[k][p] = c * vkp - s * vkq;
          v[k][q] = s * vkp + c * vkq;
        }
      }
    }
  }
  return { values: a.map((row, i) => row[i]), vectors: v };
}

/**
 * The correlation matrix closest to `matrix` in the sense of clipped eigenvalues: negative (and
 * tiny) eigenvalues are raised to `floor`, the matrix rebuilt and rescaled to a unit diagonal.
 * A matrix that is already positive definite comes back unchanged (up to rounding).
 */
export function nearestCorrelation(matrix: number[][], floor = 1e-6): number[][] {
  const n = matrix.length;
  const sym = matrix.map((row, i) => row.map((x, j) => (i === j ? 1 : (x + matrix[j][i]) / 2)));
  const { values, vectors } = symmetricEigen(sym);
  if (values.every((x) => x >= floor)) return sym;
  const clipped = values.map((x) => Math.max(x, floor));
  const out = Array.from({ length: n }, (_, i) =>
    Array.from({ length: n }, (_, j) => {
      let s = 0;
      for (let k = 0; k < n; k++) s += vectors[i][k] * clipped[k] * vectors[j][k];
      return s;
    }),
  );
  const d = out.map((row, i) => Math.sqrt(row[i]));
  return out.map((row, i) => row.map((x, j) => (i === j ? 1 : x / (d[i] * d[j]))));
}

/** Lower-triangular L with L·Lᵀ = matrix, row-major in a Float64Array; throws if not positive definite. */
export function cholesky(matrix: number[][]): Float64Array {
  const n = matrix.length;
  const l = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let s = matrix[i][j];
      for (let k = 0; k < j; k++) s -= l[i * n + k] * l[j * n + k];
      if (i === j) {
        if (!(s > 0)) throw new RangeError(`matrix is not positive definite (pivot ${i} is ${s})`);
        l[i * n + i] = Math.sqrt(s);
      } else {
        l[i * n + j] = s / l[j * n + j];
      }
    }
  }
  return l;
}

/** Cholesky factor of the nearest correlation matrix, with a growing ridge if rounding still bites. */
export function correlationFactor(matrix: number[][]): Float64Array {
  let m = nearestCorrelation(matrix);
  for (let ridge = 1e-9; ; ridge *= 10) {
    try {
      return cholesky(m);
    } catch (err) {
      if (ridge > 1e-2) throw err;
      m = m.map((row, i) => row.map((x, j) => (i === j ? 1 : x / (1 + ridge))));
    }
  }
}
