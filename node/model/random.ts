// Seeded generators for everything that must be reproducible from a seed: synthetic weights,
// the randomized SVD's test matrix, injected faults, operands and fuzzing. Not for secrets
// (audit times and prompts use verifier/plan.ts's keyed generator) and not the sampler's
// (model/sampler.ts keeps llama2.c's xorshift64* so a seed gives llama2.c's tokens).

/** Uniform on [0, 1) from a 32-bit LCG (Numerical Recipes' constants). */
export function lcg(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296;
}

/** Uniform on (0, 1) from xorshift32 (never 0, so its log is finite). */
export function xorshift32(seed: number): () => number {
  let s = seed >>> 0 || 0x9e3779b9;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return ((s >>> 0) + 0.5) / 4294967296;
  };
}

/** Standard normal samples by Box–Muller over `uniform` (which must never return 0). */
export function boxMuller(uniform: () => number): () => number {
  return () => Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
}

/** Seeded standard normal samples (Box–Muller over xorshift32): synthetic weights and tests. */
export function normal(seed: number): () => number {
  return boxMuller(xorshift32(seed));
}
