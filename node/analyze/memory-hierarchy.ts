// Paper §4.1, the formulas: Eq. 5's 3×3 example, Table 2 and Theorem 4.1 (Eq. 6). Pure
// arithmetic; the counted multiply that checks them is memory-sim.ts.

/** Theorem 4.1's proof: T_c = 2nmk reads for C = A_{m×n} · B_{n×k} with no reuse. */
export function centralizedReads(m: number, n: number, k: number): number {
  return 2 * n * m * k;
}

/** Theorem 4.1's proof: T_f = mn + nk, every element of A and B read once from global memory. */
export function federatedReads(m: number, n: number, k: number): number {
  return m * n + n * k;
}

/** Eq. 6: R_t = 1 − 1/(2k) − 1/(2m). */
export function theoremReduction(m: number, k: number): number {
  return 1 - 1 / (2 * k) - 1 / (2 * m);
}

/** R_t from the counts themselves: (T_c − T_f) / T_c. */
export function countedReduction(m: number, n: number, k: number): number {
  return 1 - federatedReads(m, n, k) / centralizedReads(m, n, k);
}

/** Table 2 as printed in the paper (n×n times n×n). */
export const TABLE2_PAPER = [
  { n: 5, centralized: 250, federated: 50, reduction: 0.8 },
  { n: 10, centralized: 2_000, federated: 200, reduction: 0.9 },
  { n: 100, centralized: 2e6, federated: 20_000, reduction: 0.99 },
  { n: 10_000, centralized: 2e12, federated: 2e8, reduction: 0.9999 },
] as const;

export interface Table2Row {
  readonly n: number;
  readonly centralized: number; // 2n³
  readonly federated: number; // 2n²
  readonly reduction: number; // 1 − 1/n, from the counts
  readonly theorem: number; // Eq. 6 at m = k = n
}

/** Table 2 recomputed from the proof's counts and from Eq. 6. */
export function table2Row(n: number): Table2Row {
  return { n, centralized: centralizedReads(n, n, n), federated: federatedReads(n, n, n), reduction: countedReduction(n, n, n), theorem: theoremReduction(n, n) };
}

/**
 * Global reads when local memory cannot hold whole operands: C is split into tiles of
 * bm rows × bk columns, each tile loads its bm×n panel of A and n×bk panel of B once.
 * Reads = ⌈m/bm⌉·⌈k/bk⌉·(bm + bk)·n for tiles that divide evenly; the theorem's mn + nk is
 * the case bm = m, bk = k (one block holding all of A and B: (m + k)·n local numbers).
 */
export function tiledGlobalReads(m: number, n: number, k: number, bm: number, bk: number): number {
  let reads = 0;
  for (let i = 0; i < m; i += bm) for (let j = 0; j < k; j += bk) reads += (Math.min(bm, m - i) + Math.min(bk, k - j)) * n;
  return reads;
}

/** Local memory one tile needs (numbers): its A panel and its B panel. */
export function tileLocalNumbers(n: number, bm: number, bk: number): number {
  return (bm + bk) * n;
}
