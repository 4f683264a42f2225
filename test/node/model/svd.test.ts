// SVD (paper Eq. 7–15): Eckart–Young, the randomized SVD, rank selection, the paper's
// compression-ratio figure, serialization, and both ways of running the factors.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { exactSvd, frobenius2, randomizedSvd } from "../../../node/model/svd/decompose.ts";
import { deserializeFactors, rebuild, serializeFactors, toLinear, truncate } from "../../../node/model/svd/factors.ts";
import { compressionRatio, rankForEnergy, rankForRatio, retainedEnergy } from "../../../node/model/svd/rank.ts";
import { normal } from "../../../node/model/random.ts";

function randomMatrix(m: number, n: number, seed: number, decay?: number): Float32Array {
  const rand = normal(seed);
  if (decay === undefined) return Float32Array.from({ length: m * n }, rand);
  // U diag(exp(-i/decay)) V with Gaussian U, V
  const r = Math.min(m, n);
  const u = Float64Array.from({ length: m * r }, rand);
  const v = Float64Array.from({ length: r * n }, rand);
  const w = new Float32Array(m * n);
  for (let i = 0; i < m; i++) for (let j = 0; j < r; j++) for (let t = 0; t < n; t++) w[i * n + t] += u[i * r + j] * Math.exp(-j / decay) * v[j * n + t];
  return w;
}

describe("SVD", () => {
  it("Eckart–Young: the rank-k error equals the discarded energy", () => {
    const [m, n] = [40, 30];
    const w = randomMatrix(m, n, 3);
    const svd = exactSvd(w, m, n);
    for (const k of [1, 5, 15, 29]) {
      const wk = rebuild(truncate(svd, k));
      let err = 0;
      for (let i = 0; i < w.length; i++) err += (w[i] - wk[i]) ** 2;
      let discarded = 0;
      for (let i = k; i < svd.k; i++) discarded += svd.s[i] ** 2;
      assert.ok(Math.abs(err - discarded) / discarded < 1e-4, `k=${k}: ${err} vs ${discarded}`);
    }
    // the singular values carry all the energy: Σσ² = ‖W‖²_F
    assert.ok(Math.abs(retainedEnergy(svd.s, svd.k, frobenius2(w)) - 1) < 1e-9);
  });

  it("the randomized SVD finds the leading singular values of a decaying spectrum", () => {
    const [m, n, k] = [120, 80, 10];
    const w = randomMatrix(m, n, 5, 4);
    const exact = exactSvd(w, m, n);
    const fast = randomizedSvd(w, m, n, k, { seed: 9 });
    for (let i = 0; i < k; i++) assert.ok(Math.abs(fast.s[i] - exact.s[i]) / exact.s[i] < 1e-4, `σ${i}: ${fast.s[i]} vs ${exact.s[i]}`);
  });

  it("the paper's figure: 768×2304 at k = 307 has compression ratio 53.32% (Eq. 10)", () => {
    assert.equal((100 * compressionRatio(768, 2304, 307)).toFixed(2), "53.32");
    // Eq. 15 inverts Eq. 10
    for (const k of [1, 50, 307, 700]) assert.equal(rankForRatio(768, 2304, compressionRatio(768, 2304, k)), k);
  });

  it("rank for energy (Eq. 12) and retained energy (Eq. 9)", () => {
    const s = [4, 2, 1, 1]; // energies 16, 4, 1, 1 of 22
    assert.equal(retainedEnergy(s, 1), 16 / 22);
    assert.equal(rankForEnergy(s, 0.7), 1);
    assert.equal(rankForEnergy(s, 0.8), 2);
    assert.equal(rankForEnergy(s, 0.95), 3);
    assert.equal(rankForEnergy(s, 1), 4);
    assert.throws(() => rankForEnergy(s, 0), RangeError);
  });

  it("factors serialize to (m + n + 1)·k numbers and back", () => {
    const f = truncate(exactSvd(randomMatrix(12, 9, 1), 12, 9), 4);
    const flat = serializeFactors(f);
    assert.equal(flat.length, (12 + 9 + 1) * 4);
    assert.deepEqual(deserializeFactors(flat, 12, 9, 4), f);
    assert.throws(() => deserializeFactors(flat.subarray(1), 12, 9, 4), RangeError);
  });

  it("runs as two smaller products when cheaper, else rebuilt, with the same result", () => {
    const [m, n] = [64, 48];
    const w = randomMatrix(m, n, 2);
    const svd = exactSvd(w, m, n);
    const x = Float32Array.from({ length: n }, normal(4));
    const y = (lin: ReturnType<typeof toLinear>) => {
      const out = new Float64Array(m);
      if (lin.kind === "dense") {
        for (let i = 0; i < m; i++) for (let t = 0; t < n; t++) out[i] += lin.w[i * n + t] * x[t];
      } else {
        const z = new Float64Array(lin.rank);
        for (let j = 0; j < lin.rank; j++) for (let t = 0; t < n; t++) z[j] += x[t] * lin.a[t * lin.rank + j];
        for (let i = 0; i < m; i++) for (let j = 0; j < lin.rank; j++) out[i] += z[j] * lin.b[j * m + i];
      }
      return out;
    };
    const low = toLinear(truncate(svd, 8)); // (64 + 48)·8 < 64·48
    const full = toLinear(truncate(svd, 48));
    assert.equal(low.kind, "factored");
    assert.equal(full.kind, "dense");
    const expectLow = y({ kind: "dense", w: rebuild(truncate(svd, 8)) });
    const got = y(low);
    for (let i = 0; i < m; i++) assert.ok(Math.abs(got[i] - expectLow[i]) < 1e-3);
    const exact = y({ kind: "dense", w });
    const rebuilt = y(full);
    for (let i = 0; i < m; i++) assert.ok(Math.abs(rebuilt[i] - exact[i]) < 1e-3);
  });
});
