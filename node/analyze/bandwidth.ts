// Paper §4.3, the formulas: Table 3 (storage and memory reads of WX against ŴX, with and
// without the memory hierarchy), Eq. 15's k̂, Eq. 16–17 (bandwidth reduce rate), and every
// reading of them tried against the claim "compression ratio 0.7 cuts bandwidth by about
// 60%". Pure arithmetic.
import { rankForRatio } from "../model/svd/rank.ts";

/** The paper's example: BERT's first feed-forward layer, W 3072×768, X 768×30. */
export const BERT = { m: 3072, n: 768, t: 30 } as const;
/** The claim of §4.3 and the abstract. */
export const CLAIM = { ratio: 0.7, reduction: 0.6 } as const;

/** Eq. 15: k̂ = m·n·CR / (m + n + 1), rounded down (the project's rankForRatio). */
export function kHat(m: number, n: number, ratio: number): number {
  return rankForRatio(m, n, ratio);
}

export interface Table3Row {
  readonly m: number;
  readonly n: number;
  readonly t: number;
  readonly ratio: number;
  readonly k: number; // k̂
  readonly storage: { readonly original: number; readonly compressed: number }; // mn, (m + n + 1)k̂
  readonly readsFlat: { readonly original: number; readonly compressed: number }; // 2mnt, 2(m + n)k̂t
  readonly readsHierarchy: { readonly original: number; readonly compressed: number }; // mn + nt, mk̂ + k̂ + nk̂ + nt
}

/** Table 3, every cell, for W m×n, X n×t at a compression ratio. */
export function table3(m: number, n: number, t: number, ratio: number): Table3Row {
  const k = kHat(m, n, ratio);
  return {
    m, n, t, ratio, k,
    storage: { original: m * n, compressed: (m + n + 1) * k },
    readsFlat: { original: 2 * m * n * t, compressed: 2 * (m + n) * k * t },
    readsHierarchy: { original: m * n + n * t, compressed: m * k + k + n * k + n * t },
  };
}

/** Eq. 17: total memory access = weight read + input read + output write. */
export function totalAccess(weightRead: number, inputRead: number, outputWrite: number): number {
  return weightRead + inputRead + outputWrite;
}

/** Eq. 16: 1 − optimized / original. */
export function reduceRate(optimized: number, original: number): number {
  return 1 - optimized / original;
}

export interface Reading {
  readonly id: string;
  readonly short: string;
  readonly description: string;
  /** Eq. 17's total for the original and the optimized multiply. */
  readonly totals: (m: number, n: number, t: number, k: number) => { original: number; optimized: number };
  /** How the reading takes "compression ratio" (default: Eq. 10, the share kept). */
  readonly ratioKept?: (ratio: number) => number;
}

/**
 * The ways Eq. 16–17 can be read with Table 3's counts. Table 3's read rows already count
 * the input (nt); Eq. 17 adds the output write (mt) to both sides.
 */
export const READINGS: readonly Reading[] = [
  {
    id: "A",
    short: "A: both with the hierarchy",
    description: "like with like, both with the hierarchy: (mn + nt + mt) → (mk̂ + k̂ + nk̂ + nt + mt)",
    totals: (m, n, t, k) => ({ original: totalAccess(m * n, n * t, m * t), optimized: totalAccess(m * k + k + n * k, n * t, m * t) }),
  },
  {
    id: "B",
    short: "B: both without",
    description: "like with like, both without the hierarchy: (2mnt + mt) → (2(m + n)k̂t + mt)",
    totals: (m, n, t, k) => ({ original: 2 * m * n * t + m * t, optimized: 2 * (m + n) * k * t + m * t }),
  },
  {
    id: "C",
    short: "C: dense flat → SVD + hierarchy",
    description: "dense without the hierarchy → SVD with it: (2mnt + mt) → (mk̂ + k̂ + nk̂ + nt + mt)",
    totals: (m, n, t, k) => ({ original: 2 * m * n * t + m * t, optimized: totalAccess(m * k + k + n * k, n * t, m * t) }),
  },
  {
    id: "D",
    short: "D: weights only (1 − CR)",
    description: "weights only (Table 3's storage row): mn → (m + n + 1)k̂, i.e. 1 − CR",
    totals: (m, n, _t, k) => ({ original: m * n, optimized: (m + n + 1) * k }),
  },
  {
    id: "E",
    short: "E: A + the k̂×t intermediate",
    description: "A, also writing the factored product's intermediate k̂×t and reading it back: + 2k̂t",
    totals: (m, n, t, k) => ({ original: totalAccess(m * n, n * t, m * t), optimized: totalAccess(m * k + k + n * k, n * t, m * t) + 2 * k * t }),
  },
  {
    id: "F",
    short: "F: A, CR as the share removed",
    description: "A, with \"compression ratio 0.7\" taken as 70% removed (k̂ at CR 0.3)",
    totals: (m, n, t, k) => ({ original: totalAccess(m * n, n * t, m * t), optimized: totalAccess(m * k + k + n * k, n * t, m * t) }),
    ratioKept: (ratio) => 1 - ratio,
  },
];

/** Eq. 16 under one reading, at a compression ratio and t input columns. */
export function bandwidthReduction(reading: Reading, m: number, n: number, t: number, ratio: number): number {
  const { original, optimized } = reading.totals(m, n, t, kHat(m, n, reading.ratioKept?.(ratio) ?? ratio));
  return reduceRate(optimized, original);
}

/** Column counts t tried for "batch size 10": one token, the batch, the sequence, batch × sequence. */
export const T_VALUES = [1, 10, 30, 300] as const;
