// Paper §4.2, the formulas: the compression ratio of Eq. 10 against the text's own count
// (mk + k² + kn), the "40–50% of singular values save 40–60% of the bandwidth" claim, the
// (m − k)(n − k) approximation, and Eq. 13's overall accuracy. Pure arithmetic.
import { compressionRatio, rankForShare } from "../model/svd/rank.ts";

export { compressionRatio, rankForShare };

/** The text's transmitted size over the dense size: (mk + k² + kn) / mn (Σ_k sent as k×k). */
export function textRatio(m: number, n: number, k: number): number {
  return (m * k + k * k + k * n) / (m * n);
}

/** Numbers saved by sending U_k, Σ_k, V_kᵀ instead of W, by the text's count: mn − (mk + k² + kn). */
export function savedNumbers(m: number, n: number, k: number): number {
  return m * n - (m * k + k * k + k * n);
}

/** The text's approximation of the saving for k ≪ m, n: (m − k)(n − k). */
export function savedApproximation(m: number, n: number, k: number): number {
  return (m - k) * (n - k);
}

/** The paper's GPT-2 example: h.1.attn.c_attn.weight, 768×2304, top 40% of singular values. */
export const GPT2_EXAMPLE = { m: 768, n: 2304, share: 0.4, paperRatio: 0.5332, paperEnergy: 0.9132 } as const;

/** Eq. 13: P_total = Π_layers (1/H · Σ_heads e_ij); e is given per layer as the list of its parts' accuracies. */
export function eq13Total(perLayer: readonly (readonly number[])[]): number {
  return perLayer.reduce((p, parts) => p * (parts.reduce((a, b) => a + b, 0) / parts.length), 1);
}

/** Bandwidth saved (1 − CR by Eq. 10) at a share of singular values kept. */
export function savingAtShare(m: number, n: number, share: number): number {
  return 1 - compressionRatio(m, n, rankForShare(m, n, share));
}
