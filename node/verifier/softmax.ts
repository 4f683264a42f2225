// The verification-side softmax of paper §4.4, in deterministic fixed point so that every
// Verifier computes the same bits and the work can be split between them.
//   scores z → integers q = round(z·2^F)            (fixed point)
//   Z' = max(q) − q ≥ 0                              (shift invariance, Eq. 21)
//   Z' = Σ_k b^k·Z(k), digits Z(k) ∈ [0, b)          (K-digit base-b split, Eq. 22)
//   exp(−Z'/2^F) = Π_k T_k[Z(k)]                     (table lookups, products)
//   softmax_v = Y_v / Σ Y                            (P-bit fixed point)
// With P = 24 every product (< 2^48) and every sum (< 2^53) is exact in float64, and the
// tables are computed with integer arithmetic only, so results are bit-identical everywhere.
import { createHash } from "node:crypto";

export interface FixedSoftmaxParams {
  readonly fracBits: number; // F: score resolution 2^−F
  readonly base: number; // b
  readonly digits: number; // K: exponents ≥ b^K/2^F give exp ≈ 0
  readonly outBits: number; // P ≤ 24
}

export const DEFAULT_SOFTMAX: FixedSoftmaxParams = { fracBits: 16, base: 16, digits: 6, outBits: 24 };

const TABLE_CACHE = new Map<string, number[][]>();
const WORK = 96n; // bits of the BigInt fixed point used to build the tables

/** round(2^WORK · exp(−1/2^F)) by its Taylor series, integers only. */
function expNegUnit(fracBits: number): bigint {
  const one = 1n << WORK;
  let term = one;
  let sum = one;
  for (let i = 1n; term !== 0n; i++) {
    term = -(term >> BigInt(fracBits)) / i;
    sum += term;
  }
  return sum;
}

/** T_k[d] = round(2^P · exp(−b^k·d / 2^F)) for every digit position and value. */
export function softmaxTables(p: FixedSoftmaxParams = DEFAULT_SOFTMAX): number[][] {
  const key = JSON.stringify(p);
  const hit = TABLE_CACHE.get(key);
  if (hit) return hit;
  const unit = expNegUnit(p.fracBits);
  const mul = (a: bigint, b: bigint) => (a * b + (1n << (WORK - 1n))) >> WORK;
  const pow = (x: bigint, e: bigint) => {
    let r = 1n << WORK;
    for (let base = x; e > 0n; e >>= 1n, base = mul(base, base)) if (e & 1n) r = mul(r, base);
    return r;
  };
  const shift = WORK - BigInt(p.outBits);
  const tables: number[][] = [];
  for (let k = 0; k < p.digits; k++) {
    const step = pow(unit, BigInt(p.base) ** BigInt(k)); // exp(−b^k / 2^F)
    const row: number[] = [];
    let v = 1n << WORK;
    for (let d = 0; d < p.base; d++) {
      row.push(Number((v + (1n << (shift - 1n))) >> shift));
      v = mul(v, step);
    }
    tables.push(row);
  }
  TABLE_CACHE.set(key, tables);
  return tables;
}

export function quantize(z: ArrayLike<number>, p: FixedSoftmaxParams = DEFAULT_SOFTMAX): number[] {
  const s = 2 ** p.fracBits;
  return Array.from({ length: z.length }, (_, i) => Math.round(z[i] * s));
}

/** exp(−Z'/2^F) in P-bit fixed point, for one non-negative integer exponent. */
export function fixedExp(zPrime: number, p: FixedSoftmaxParams = DEFAULT_SOFTMAX, tables = softmaxTables(p)): number {
  const one = 2 ** p.outBits;
  let y = one;
  let rest = zPrime;
  for (let k = 0; k < p.digits; k++) {
    const digit = rest % p.base;
    rest = (rest - digit) / p.base;
    y = Math.floor((y * tables[k][digit] + one / 2) / one); // < 2^48: exact
  }
  return rest > 0 ? 0 : y; // beyond b^K: exp underflows to 0 at this precision
}

/** Fixed-point softmax of one row of quantized scores (P-bit outputs). */
export function fixedSoftmaxRow(q: readonly number[], p: FixedSoftmaxParams = DEFAULT_SOFTMAX): number[] {
  let max = -Infinity;
  for (const v of q) max = Math.max(max, v);
  const ys = q.map((v) => fixedExp(max - v, p));
  return normalize(ys, ys.reduce((a, b) => a + b, 0), p);
}

function normalize(ys: number[], sum: number, p: FixedSoftmaxParams): number[] {
  const one = 2 ** p.outBits;
  return ys.map((y) => Math.floor((y * one) / sum)); // y·2^P < 2^48: exact
}

// --- splitting the work between Verifiers ---------------------------------------------

/** Column split, phase 1: a verifier's slice of one row → its maximum. */
export function partialMax(slice: readonly number[]): number {
  let m = -Infinity;
  for (const v of slice) m = Math.max(m, v);
  return m;
}

/** Column split, phase 2: with the agreed row maximum, the slice's exps and their sum. */
export function partialExp(slice: readonly number[], rowMax: number, p: FixedSoftmaxParams = DEFAULT_SOFTMAX): { ys: number[]; sum: number } {
  const ys = slice.map((v) => fixedExp(rowMax - v, p));
  return { ys, sum: ys.reduce((a, b) => a + b, 0) };
}

/** Column split, combine: the slices' exps (in column order) and the total sum → the row. */
export function combineSlices(parts: { ys: number[]; sum: number }[], p: FixedSoftmaxParams = DEFAULT_SOFTMAX): number[] {
  const sum = parts.reduce((a, x) => a + x.sum, 0);
  return normalize(parts.flatMap((x) => x.ys), sum, p);
}

/** Rows [from, to) of a score matrix (quantized rows): one verifier's share when split by rows or heads. */
export function softmaxRows(rows: readonly number[][], from: number, to: number, p: FixedSoftmaxParams = DEFAULT_SOFTMAX): number[][] {
  return rows.slice(from, to).map((r) => fixedSoftmaxRow(r, p));
}

/** The digest every verifier can compare: sha256 over all rows' fixed-point outputs in order. */
export function digestRows(rows: readonly number[][]): string {
  const h = createHash("sha256");
  for (const r of rows) h.update(new Uint8Array(Uint32Array.from(r).buffer));
  return h.digest("hex");
}

/** Splits `n` rows into `parts` contiguous shares: [from, to) for each verifier. */
export function shares(n: number, parts: number): [number, number][] {
  const out: [number, number][] = [];
  for (let i = 0, at = 0; i < parts; i++) {
    const size = Math.floor(n / parts) + (i < n % parts ? 1 : 0);
    out.push([at, at + size]);
    at += size;
  }
  return out;
}
