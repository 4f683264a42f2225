// Paper §4.1: Eq. 5's example, Table 2, Theorem 4.1 — formulas against hand-computed
// values, and the counted multiply against the formulas.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { centralizedReads, countedReduction, federatedReads, table2Row, TABLE2_PAPER, theoremReduction, tiledGlobalReads } from "../../../node/analyze/memory-hierarchy.ts";
import { centralizedMultiply, hierarchicalMultiply, operands } from "../../../node/analyze/memory-sim.ts";

describe("memory hierarchy (paper §4.1)", () => {
  it("Eq. 5: a 3×3 product reads 54 numbers without the hierarchy and 18 with it", () => {
    const o = operands(3, 3, 3);
    const flat = centralizedMultiply(o);
    const tiered = hierarchicalMultiply(o);
    assert.equal(flat.counts.globalReads, 54);
    assert.equal(tiered.counts.globalReads, 18);
    assert.equal(tiered.counts.localReads, 54); // the products still read both operands, locally
    assert.equal(flat.counts.globalWrites, 9);
    assert.equal(tiered.counts.globalWrites, 9);
    assert.deepEqual(tiered.c, flat.c);
  });

  it("Table 2's rows: 2n³, 2n², 1 − 1/n, and Eq. 6 gives the same at m = k = n", () => {
    const hand = [
      [5, 250, 50, 0.8],
      [10, 2000, 200, 0.9],
      [100, 2_000_000, 20_000, 0.99],
      [10_000, 2e12, 2e8, 0.9999],
    ];
    for (const [n, c, f, r] of hand) {
      const row = table2Row(n);
      assert.equal(row.centralized, c);
      assert.equal(row.federated, f);
      assert.ok(Math.abs(row.reduction - r) < 1e-12, `n=${n}: ${row.reduction}`);
      assert.ok(Math.abs(row.theorem - r) < 1e-12, `n=${n}: ${row.theorem}`);
    }
    assert.deepEqual(TABLE2_PAPER.map((p) => p.n), [5, 10, 100, 10_000]);
  });

  it("a non-square case: 4×6 times 6×3 reads 144 against 42, R_t = 1 − 1/6 − 1/8", () => {
    assert.equal(centralizedReads(4, 6, 3), 144);
    assert.equal(federatedReads(4, 6, 3), 42);
    assert.ok(Math.abs(theoremReduction(4, 3) - 17 / 24) < 1e-12);
    assert.ok(Math.abs(countedReduction(4, 6, 3) - 17 / 24) < 1e-12);
    const o = operands(4, 6, 3, 5);
    assert.equal(centralizedMultiply(o).counts.globalReads, 144);
    assert.equal(hierarchicalMultiply(o).counts.globalReads, 42);
  });

  it("counts match the formulas for n = 5, 10 and by counting alone for 10,000", () => {
    for (const n of [5, 10]) {
      const o = operands(n, n, n, n);
      const flat = centralizedMultiply(o);
      const tiered = hierarchicalMultiply(o);
      assert.equal(flat.counts.globalReads, centralizedReads(n, n, n));
      assert.equal(tiered.counts.globalReads, federatedReads(n, n, n));
      for (let i = 0; i < n * n; i++) assert.ok(Math.abs(tiered.c![i] - flat.c[i]) < 1e-12);
    }
    const big = hierarchicalMultiply({ m: 10_000, n: 10_000, k: 10_000 }, { countOnly: true });
    assert.equal(big.counts.globalReads, 2e8);
    assert.equal(big.counts.products, 0);
    assert.equal(big.counts.localPeak, 2e8); // the proof needs both whole operands in one block's memory
  });

  it("with local memory too small for the whole operands, tiles reread them", () => {
    // 4×6 · 6×3 in 2×3 tiles: two tiles, each (2 + 3)·6 = 30 reads
    assert.equal(tiledGlobalReads(4, 6, 3, 2, 3), 60);
    const o = operands(4, 6, 3, 2);
    const r = hierarchicalMultiply(o, { blockRows: 2, blockCols: 3 });
    assert.equal(r.counts.globalReads, 60);
    assert.equal(r.counts.blocks, 2);
    assert.equal(r.counts.localPeak, 30);
    // n = 100 in 10×10 tiles: 2n³/10 = 200,000 reads, ten times the theorem's 20,000
    assert.equal(tiledGlobalReads(100, 100, 100, 10, 10), 200_000);
  });
});
