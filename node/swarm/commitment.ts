// The tolerant commitment in every receipt: a seeded random projection of each position's
// hidden state. The seed is the window's exact output digest chain together with a nonce
// the client sends only with the seal, after every output of the window reached it: the
// server cannot aim a lie at the projection's null space, nor grind its output bits for a
// seed that suits a lie, because the projection is fixed only once the outputs are. The
// rows are Gaussian (not ±1, where a two-entry lie e_a ± e_b cancels on every row with
// probability 1/16), so every entry of the output moves the projection and any change
// larger than the tolerance shows (unlike top-k, which ignores the entries outside it).
// R projections of f32 are 4R bytes per position; R = 4 misses a lie of relative size ε
// with probability P(|N(0,1)| < τ/ε)^4 per position (τ the tolerance): 1e-7 at ε = 50τ.
import { createHash, hash, randomBytes } from "node:crypto";

export const PROJECTIONS = 4;

/** sha256 of the exact little-endian f32 bytes: what a hop received or sent. */
export function tensorDigest(x: Float32Array): string {
  return "0x" + createHash("sha256").update(new Uint8Array(x.buffer, x.byteOffset, x.byteLength)).digest("hex");
}

/** The seed of a window's projections: its output digest chain and the client's nonce. */
export function windowSeed(outputDigest: string, nonce: string): string {
  return "0x" + createHash("sha256").update(outputDigest).update(nonce).digest("hex");
}

const rowCache = new Map<string, Float64Array>();
/** The standard-normal projection rows for a seed (sha256 in counter mode, Box–Muller). */
function rows(seed: string, dim: number): Float64Array {
  const key = `${seed}/${dim}`;
  const hit = rowCache.get(key);
  if (hit !== undefined) return hit;
  const out = new Float64Array(PROJECTIONS * dim);
  let filled = 0;
  for (let block = 0; filled < out.length; block++) {
    // sha256(seed ‖ block) in one call: the bytes of createHash().update(seed).update(block),
    // at about half the cost (a fresh seed needs PROJECTIONS × dim / 8 of these at every seal)
    const bits = hash("sha256", seed + String(block), "buffer");
    for (let b = 0; b + 8 <= bits.length && filled < out.length; b += 8) {
      const u1 = (bits.readUInt32LE(b) + 1) / 4294967297; // (0, 1)
      const u2 = bits.readUInt32LE(b + 4) / 4294967296;
      const r = Math.sqrt(-2 * Math.log(u1));
      out[filled++] = r * Math.cos(2 * Math.PI * u2);
      if (filled < out.length) out[filled++] = r * Math.sin(2 * Math.PI * u2);
    }
  }
  rowCache.set(key, out);
  if (rowCache.size > 64) rowCache.delete(rowCache.keys().next().value!);
  return out;
}

/** [n × PROJECTIONS] projections of the rows of x ([n × dim]), seeded by `seed`. */
export function project(x: Float32Array, n: number, dim: number, seed: string): Float32Array {
  if (x.length !== n * dim) throw new RangeError(`tensor of ${x.length} values is not ${n}×${dim}`);
  const s = rows(seed, dim);
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

/** sha256 of the nonce and the projection bytes: what the signed receipt carries (so the
 * signature binds the nonce the projections were seeded with, too). */
export function commitDigest(proj: Float32Array, nonce: string): string {
  return "0x" + createHash("sha256").update(nonce).update(new Uint8Array(proj.buffer, proj.byteOffset, proj.byteLength)).digest("hex");
}

/** A fresh nonce for a seal (16 random bytes as 32 hex characters). */
export function sealNonce(): string {
  return randomBytes(16).toString("hex");
}

export interface CommitmentCheck {
  readonly pass: boolean;
  /** max over positions and projections of |committed − reference| / ‖reference row‖. */
  readonly error: number;
  /** The first position whose error is over the tolerance (−1 when none). */
  readonly position: number;
}

/** Checks committed projections against a reference output computed independently. */
export function checkCommitment(proj: Float32Array, reference: Float32Array, n: number, dim: number, seed: string, tolerance: number): CommitmentCheck {
  if (proj.length !== n * PROJECTIONS) return { pass: false, error: Infinity, position: 0 };
  const want = project(reference, n, dim, seed);
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
