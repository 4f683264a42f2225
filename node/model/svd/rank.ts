// Rank selection and the paper's accounting for truncated SVD (§4.2–4.3).

/** Eq. 9: P = Σ_{i≤k} σ_i² / Σ_{i≤r} σ_i² (the total may be given, e.g. ‖W‖²_F). */
export function retainedEnergy(sigma: ArrayLike<number>, k: number, total?: number): number {
  let kept = 0;
  for (let i = 0; i < Math.min(k, sigma.length); i++) kept += sigma[i] * sigma[i];
  let all = total ?? 0;
  if (total === undefined) for (let i = 0; i < sigma.length; i++) all += sigma[i] * sigma[i];
  return all === 0 ? 1 : kept / all;
}

/** Eq. 12: the smallest k with Σ_{i≤k} σ_i² ≥ e · Σ σ_i² (k = r at e = 1). */
export function rankForEnergy(sigma: ArrayLike<number>, e: number, total?: number): number {
  if (!(e > 0 && e <= 1)) throw new RangeError(`energy must be in (0, 1], got ${e}`);
  if (e === 1) return sigma.length;
  let all = total ?? 0;
  if (total === undefined) for (let i = 0; i < sigma.length; i++) all += sigma[i] * sigma[i];
  let kept = 0;
  for (let k = 0; k < sigma.length; k++) {
    kept += sigma[k] * sigma[k];
    if (kept >= e * all) return k + 1;
  }
  return sigma.length;
}

/** Eq. 10: (m + n + 1)·k / (m·n): stored size of U_k, Σ_k, V_kᵀ over the dense size. */
export function compressionRatio(m: number, n: number, k: number): number {
  return ((m + n + 1) * k) / (m * n);
}

/** Eq. 15: k̂ = m·n·CR / (m + n + 1), rounded down, at least 1. */
export function rankForRatio(m: number, n: number, ratio: number): number {
  if (!(ratio > 0)) throw new RangeError(`compression ratio must be > 0, got ${ratio}`);
  // the small epsilon keeps an exact ratio from rounding down a whole rank
  return Math.max(1, Math.min(Math.min(m, n), Math.floor((m * n * ratio) / (m + n + 1) + 1e-9)));
}

/** k for keeping a share of the r = min(m, n) singular values (the paper's "top 40%"), at least 1. */
export function rankForShare(m: number, n: number, share: number): number {
  if (!(share > 0 && share <= 1)) throw new RangeError(`share of singular values must be in (0, 1], got ${share}`);
  return Math.max(1, Math.floor(share * Math.min(m, n) + 1e-9));
}
