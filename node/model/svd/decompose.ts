// SVD of a row-major m×n matrix: exact (ml-matrix, Golub–Kahan) for small matrices, and a
// randomized range finder (Halko, Martinsson & Tropp) — the paper's "fast SVD", O(mnr) —
// for large ones.
import { Matrix, QrDecomposition, SingularValueDecomposition } from "ml-matrix";
import { boxMuller, lcg } from "../random.ts";

/** U [m×k], σ [k] (descending), Vᵀ [k×n], row-major float64. */
export interface Svd {
  readonly m: number;
  readonly n: number;
  readonly k: number;
  readonly u: Float64Array;
  readonly s: Float64Array;
  readonly vt: Float64Array;
}

function toMatrix(w: ArrayLike<number>, m: number, n: number): Matrix {
  const a = new Matrix(m, n);
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) a.set(i, j, w[i * n + j]);
  return a;
}

function fromSvd(u: Matrix, s: number[], v: Matrix, k: number): Svd {
  const m = u.rows;
  const n = v.rows;
  const uk = new Float64Array(m * k);
  const vt = new Float64Array(k * n);
  for (let i = 0; i < m; i++) for (let j = 0; j < k; j++) uk[i * k + j] = u.get(i, j);
  for (let j = 0; j < k; j++) for (let i = 0; i < n; i++) vt[j * n + i] = v.get(i, j);
  return { m, n, k, u: uk, s: Float64Array.from(s.slice(0, k)), vt };
}

/** The full thin SVD (k = min(m, n)). */
export function exactSvd(w: ArrayLike<number>, m: number, n: number): Svd {
  const svd = new SingularValueDecomposition(toMatrix(w, m, n), { autoTranspose: true });
  return fromSvd(svd.leftSingularVectors, svd.diagonal, svd.rightSingularVectors, Math.min(m, n));
}

/** Gaussian samples from a seeded generator (Box–Muller over a 32-bit LCG, moved off 0). */
function gaussian(seed: number): () => number {
  const u = lcg(seed);
  return boxMuller(() => u() + 0.5 / 4294967296);
}

export interface RandomizedOptions {
  readonly oversample?: number; // extra samples beyond k (default 10)
  readonly powerIterations?: number; // sharpen a slowly decaying spectrum (default 2)
  readonly seed?: number;
}

/** The top-k SVD by a randomized range finder: Y = (AAᵀ)^q A Ω, Q = qr(Y), B = QᵀA, svd(B). */
export function randomizedSvd(w: ArrayLike<number>, m: number, n: number, k: number, o: RandomizedOptions = {}): Svd {
  const r = Math.min(m, n);
  const l = Math.min(r, k + (o.oversample ?? 10));
  const a = toMatrix(w, m, n);
  const rand = gaussian(o.seed ?? 1);
  const omega = new Matrix(n, l);
  for (let i = 0; i < n; i++) for (let j = 0; j < l; j++) omega.set(i, j, rand());
  let q = new QrDecomposition(a.mmul(omega)).orthogonalMatrix.subMatrix(0, m - 1, 0, l - 1);
  for (let i = 0; i < (o.powerIterations ?? 2); i++) {
    const z = new QrDecomposition(a.transpose().mmul(q)).orthogonalMatrix.subMatrix(0, n - 1, 0, l - 1);
    q = new QrDecomposition(a.mmul(z)).orthogonalMatrix.subMatrix(0, m - 1, 0, l - 1);
  }
  const b = q.transpose().mmul(a); // l×n
  const svd = new SingularValueDecomposition(b, { autoTranspose: true });
  return fromSvd(q.mmul(svd.leftSingularVectors), svd.diagonal, svd.rightSingularVectors, Math.min(k, l));
}

/** ‖W‖²_F = Σ σ_i²: the total energy, without a full SVD. */
export function frobenius2(w: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < w.length; i++) s += w[i] * w[i];
  return s;
}
