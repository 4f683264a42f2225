// The tolerant commitment in every receipt: a seeded random projection of each position's
// hidden state, with the seed taken from the exact output's digest (Fiat–Shamir). A server
// cannot aim a lie at the projection's null space, because the projection is only fixed
// once its output is; every entry of the output moves the projection, so any change larger
// than the tolerance shows (unlike top-k, which ignores the entries outside the top k).
// R projections of f32 are 4R bytes per position; R = 4 misses a lie of relative size ε
// with probability P(|N(0,1)| < τ/ε)^4 per position (τ the tolerance): 1e-7 at ε = 50τ.
import { createHash } from "node:crypto";

export const PROJECTIONS = 4;

/** sha256 of the exact little-endian f32 bytes: what a hop received or sent. */
export function tensorDigest(x: Float32Array): string {
  return "0x" + createHash("sha256").update(new Uint8Array(x.buffer, x.byteOffset, x.byteLength)).digest("hex");
}

/** The ±1 projection rows for a step, seeded by the digest of its output. */
function signs(digest: string, dim: number): Int8Array {
  const out = new Int8Array(PROJECTIONS * dim);
  // sha256 in counter mode: enough unpredictable bits, derived from the digest alone
  let filled = 0;
  for (let block = 0; filled < out.length; block++) {
    const bits = createHash("sha256").update(digest).update(String(block)).digest();
    for (let b = 0; b < bits.length && filled < out.length; b++) {
      for (let i = 0; i < 8 && filled < out.length; i++) out[filled++] = (bits[b] >> i) & 1 ? 1 : -1;
    }
  }
  return out;
}

/** [n × PROJECTIONS] projections of the rows of x ([n × dim]), seeded by `digest`. */
export function project(x: Float32Array, n: number, dim: number, digest: string): Float32Array {
  if (x.length !== n * dim) throw new RangeError(`tensor of ${x.length} values is not ${n}×${dim}`);
  const s = signs(digest, dim);
  const out = new Float32Array(n * PROJECTIONS);
  for (let p = 0; p < n; p++) {
    const row = p * dim;
    for (let j = 0; j < PROJECTIONS; j++) {
      let acc = 0;
      const sj = j * dim;
      for (let i = 0; i < dim; i++) acc += s[sj + i] * x[row + i];
      out[p * PROJECTIONS + j] = acc;
    }
  }
  return out;
}

/** sha256 of the projection bytes: what the signed receipt carries. */
export function commitDigest(proj: Float32Array): string {
  return tensorDigest(proj);
}

export interface CommitmentCheck {
  readonly pass: boolean;
  /** max over positions and projections of |committed − reference| / ‖reference row‖. */
  readonly error: number;
  /** The first position whose error is over the tolerance (−1 when none). */
  readonly position: number;
}

/** Checks committed projections against a reference output computed independently. */
export function checkCommitment(proj: Float32Array, reference: Float32Array, n: number, dim: number, digest: string, tolerance: number): CommitmentCheck {
  if (proj.length !== n * PROJECTIONS) return { pass: false, error: Infinity, position: 0 };
  const want = project(reference, n, dim, digest);
  let error = 0;
  let position = -1;
  for (let p = 0; p < n; p++) {
    let norm = 0;
    for (let i = p * dim; i < (p + 1) * dim; i++) norm += reference[i] * reference[i];
    norm = Math.sqrt(norm) || 1;
    for (let j = 0; j < PROJECTIONS; j++) {
      const k = p * PROJECTIONS + j;
      const e = Number.isFinite(proj[k]) ? Math.abs(proj[k] - want[k]) / norm : Infinity;
      if (e > error) error = e;
      if (e > tolerance && position < 0) position = p;
    }
  }
  return { pass: position < 0, error, position };
}
