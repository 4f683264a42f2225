// The projections at a seal are made with one-shot sha256 (node:crypto `hash`) for speed:
// they must stay bit-for-bit those of the streaming definition, sha256(seed ‖ block) per
// block, or every receipt signed before would stop matching what a verifier recomputes.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { PROJECTIONS, project, sealNonce, tensorDigest, windowSeed } from "../../../node/swarm/commitment.ts";

/** The rows as first defined: a streaming hash per block, then Box–Muller. */
function referenceRows(seed: string, dim: number): Float64Array {
  const out = new Float64Array(PROJECTIONS * dim);
  let filled = 0;
  for (let block = 0; filled < out.length; block++) {
    const bits = createHash("sha256").update(seed).update(String(block)).digest();
    for (let b = 0; b + 8 <= bits.length && filled < out.length; b += 8) {
      const u1 = (bits.readUInt32LE(b) + 1) / 4294967297;
      const u2 = bits.readUInt32LE(b + 4) / 4294967296;
      const r = Math.sqrt(-2 * Math.log(u1));
      out[filled++] = r * Math.cos(2 * Math.PI * u2);
      if (filled < out.length) out[filled++] = r * Math.sin(2 * Math.PI * u2);
    }
  }
  return out;
}

function referenceProject(x: Float32Array, n: number, dim: number, seed: string): Float32Array {
  const s = referenceRows(seed, dim);
  const out = new Float32Array(n * PROJECTIONS);
  for (let p = 0; p < n; p++) {
    for (let j = 0; j < PROJECTIONS; j++) {
      let acc = 0;
      for (let i = 0; i < dim; i++) acc += s[j * dim + i] * x[p * dim + i];
      out[p * PROJECTIONS + j] = acc;
    }
  }
  return out;
}

describe("seal projections", () => {
  it("are bit-for-bit the streaming-hash definition, for fresh seeds and odd sizes", () => {
    let seed = 7;
    const rand = () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 4294967296) * 2 - 1;
    for (const [n, dim] of [[1, 512], [8, 512], [3, 77], [2, 2048], [5, 3]]) {
      const x = Float32Array.from({ length: n * dim }, rand);
      const s = windowSeed(tensorDigest(x), sealNonce());
      const got = project(x, n, dim, s);
      assert.deepEqual(Buffer.from(got.buffer), Buffer.from(referenceProject(x, n, dim, s).buffer), `${n}×${dim}`);
    }
  });

  it("differ with the nonce (a fresh seed gives fresh rows)", () => {
    const x = Float32Array.from({ length: 512 }, (_, i) => Math.sin(i));
    const d = tensorDigest(x);
    assert.notDeepEqual(project(x, 1, 512, windowSeed(d, sealNonce())), project(x, 1, 512, windowSeed(d, sealNonce())));
  });
});
