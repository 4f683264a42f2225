// Paper §4.4 measured: the verifiers' split fixed-point softmax (node/verifier/softmax.ts)
// against plain float softmax — its error, and its cost per verifier when V verifiers split
// the rows — and how much of a layer's work the softmax is at all.
import { DEFAULT_SOFTMAX, digestRows, fixedSoftmaxRow, quantize, shares, softmaxRows } from "../verifier/softmax.ts";
import { normal } from "../model/random.ts";
import type { LlamaConfig } from "../model/types.ts";

export function floatSoftmax(z: readonly number[]): number[] {
  let m = -Infinity;
  for (const v of z) m = Math.max(m, v);
  const e = z.map((v) => Math.exp(v - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
}

export interface SoftmaxError {
  readonly maxAbs: number; // max |fixed − float| over all outputs
  readonly maxRowSumError: number; // max |Σ fixed − 1|
}

/** Error of the fixed-point softmax (P-bit outputs) against float64 softmax. */
export function softmaxError(rows: readonly number[][]): SoftmaxError {
  const one = 2 ** DEFAULT_SOFTMAX.outBits;
  let maxAbs = 0;
  let maxRowSumError = 0;
  for (const row of rows) {
    const want = floatSoftmax(row);
    const got = fixedSoftmaxRow(quantize(row));
    let sum = 0;
    for (let i = 0; i < row.length; i++) {
      maxAbs = Math.max(maxAbs, Math.abs(got[i] / one - want[i]));
      sum += got[i] / one;
    }
    maxRowSumError = Math.max(maxRowSumError, Math.abs(sum - 1));
  }
  return { maxAbs, maxRowSumError };
}

/** Random attention scores, N(0, scale²), rows × cols. */
export function scoreMatrix(rows: number, cols: number, seed = 3, scale = 4): number[][] {
  const r = normal(seed);
  return Array.from({ length: rows }, () => Array.from({ length: cols }, () => r() * scale));
}

export interface VerifierCost {
  readonly verifiers: number;
  /** The slowest verifier's share of the fixed-point softmax (ms). */
  readonly fixedPerVerifierMs: number;
  /** One verifier recomputing the whole matrix in float (ms). */
  readonly floatWholeMs: number;
  /** The slowest verifier's share computed in float instead, split the same way (ms). */
  readonly floatPerVerifierMs: number;
  /** fixedPerVerifierMs / floatWholeMs: < 1 means V fixed-point shares beat one float verifier. */
  readonly ratio: number;
  /** fixedPerVerifierMs / floatPerVerifierMs: what the transformation itself costs at the same split. */
  readonly ratioSameSplit: number;
  /** The combined digest equals the single verifier's (bit-identical). */
  readonly identical: boolean;
}

/** Median of `reps` timed runs after one untimed run (the JIT warms up on it). */
function time(f: () => void, reps: number): number {
  f();
  const xs: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t = performance.now();
    f();
    xs.push(performance.now() - t);
  }
  return xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];
}

/** Per number of verifiers V: each takes a contiguous share of the rows. */
export function verifierCosts(rows: readonly number[][], verifierCounts: readonly number[], reps = 5): VerifierCost[] {
  const q = rows.map((r) => quantize(r));
  const floatWholeMs = time(() => rows.forEach((r) => floatSoftmax(r)), reps);
  const whole = digestRows(softmaxRows(q, 0, q.length));
  return verifierCounts.map((v) => {
    const parts = shares(q.length, v);
    const fixedPerVerifierMs = Math.max(...parts.map(([a, b]) => time(() => softmaxRows(q, a, b), reps)));
    const floatPerVerifierMs = Math.max(...parts.map(([a, b]) => time(() => rows.slice(a, b).forEach((r) => floatSoftmax(r)), reps)));
    const combined = digestRows(parts.flatMap(([a, b]) => softmaxRows(q, a, b)));
    return {
      verifiers: v, fixedPerVerifierMs, floatWholeMs, floatPerVerifierMs,
      ratio: fixedPerVerifierMs / floatWholeMs, ratioSameSplit: fixedPerVerifierMs / floatPerVerifierMs, identical: combined === whole,
    };
  });
}

/** Fixed-point operations per softmax output: K table lookups and K multiplications, against one exp. */
export function operationsPerOutput(): { lookups: number; multiplies: number; exps: number } {
  return { lookups: DEFAULT_SOFTMAX.digits, multiplies: DEFAULT_SOFTMAX.digits, exps: 1 };
}

/**
 * The softmax's share of one layer's arithmetic for one token at `positions` of context:
 * exps (nHeads·positions) over multiply-adds (projections, SwiGLU, scores and values).
 */
export function softmaxShareOfLayer(c: LlamaConfig, positions: number): { exps: number; multiplyAdds: number; share: number } {
  const kv = c.nKvHeads * c.headSize;
  const projections = c.dim * c.dim * 2 + c.dim * kv * 2; // wq, wo, wk, wv
  const ffn = 3 * c.dim * c.hiddenDim;
  const attention = 2 * c.nHeads * positions * c.headSize; // QKᵀ and P·V
  const exps = c.nHeads * positions;
  const multiplyAdds = projections + ffn + attention;
  return { exps, multiplyAdds, share: exps / (exps + multiplyAdds) };
}
