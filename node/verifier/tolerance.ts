// When is a server's output "the same" as the verifier's recomputation? Devices differ in
// the last bits, so a probe passes when both the relative error and the cosine distance are
// under bounds calibrated on honest runs (see README: CPU↔CPU gives exactly 0 here; the
// bounds leave room for GPU↔CPU differences of ~1e-6 and sit 10× below noise of σ = 1e-2).

export interface Tolerance {
  readonly maxRelativeError: number;
  readonly maxCosineDistance: number;
}

export const DEFAULT_TOLERANCE: Tolerance = { maxRelativeError: 1e-3, maxCosineDistance: 1e-4 };

export interface Comparison {
  readonly relativeError: number;
  readonly cosineDistance: number;
  readonly pass: boolean;
}

export function compareOutputs(got: ArrayLike<number>, want: ArrayLike<number>, t: Tolerance = DEFAULT_TOLERANCE): Comparison {
  if (got.length !== want.length) return { relativeError: Infinity, cosineDistance: Infinity, pass: false };
  let diff = 0;
  let norm = 0;
  let dot = 0;
  let normGot = 0;
  for (let i = 0; i < want.length; i++) {
    const d = got[i] - want[i];
    diff += d * d;
    norm += want[i] * want[i];
    dot += got[i] * want[i];
    normGot += got[i] * got[i];
  }
  const relativeError = norm === 0 ? (diff === 0 ? 0 : Infinity) : Math.sqrt(diff / norm);
  const cos = normGot === 0 || norm === 0 ? (normGot === norm ? 1 : 0) : dot / Math.sqrt(normGot * norm);
  const cosineDistance = 1 - cos;
  const pass = Number.isFinite(relativeError) && relativeError <= t.maxRelativeError && cosineDistance <= t.maxCosineDistance;
  return { relativeError, cosineDistance, pass };
}

// Receipt commitments (node/swarm/commitment.ts) are checked per device pair: the largest
// |committed − recomputed| projection over ‖recomputed row‖ an honest server can produce.
// cpu/cpu is calibrated here: the verifier recomputes a whole session in one teacher-forced
// run per hop, which sums in another order than the server's step-by-step decoding, and
// bench:audits measures the largest honest error over ≥ 50 epochs of sessions (4.3e-6 on
// stories260K; bench/audits.json), and over 80 sessions run 4 at a time, whose steps every
// server computes as rows of batched runs (5.3e-6, "honestBatched"; 2.4e-6 where servers and
// verifier run the fused graph, "honestFused"). The bound leaves 19–23× for other CPUs,
// onnxruntime builds and deeper models, and stays 5× below noise of half the old tolerance
// (5e-4), which four projections a position then miss with probability ~6e-4 per position. Pairs with a GPU are not calibrated on this machine (none is lent), so they
// carry a provisional bound: a server claiming one gains room only up to it.
export type DevicePair = "cpu/cpu" | "cuda/cpu" | "webgpu/cpu";

export const COMMITMENT_TOLERANCE: Record<DevicePair, { readonly tolerance: number; readonly measured: number | null }> = {
  "cpu/cpu": { tolerance: 1e-4, measured: 4.3e-6 },
  "cuda/cpu": { tolerance: 1e-4, measured: null },
  "webgpu/cpu": { tolerance: 1e-4, measured: null },
};

export function toleranceFor(pair: DevicePair): number {
  return COMMITMENT_TOLERANCE[pair].tolerance;
}
