// Paper §4.3: Table 3 and Eq. 16–17 against hand-computed values for BERT's W 3072×768.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { bandwidthReduction, BERT, kHat, READINGS, reduceRate, table3, totalAccess } from "../../../node/analyze/bandwidth.ts";

describe("memory reads and bandwidth (paper §4.3)", () => {
  it("Table 3 at CR 0.7, t = 30: k̂ = 429 and every cell", () => {
    // Eq. 15: 3072·768·0.7 / 3841 = 429.97 → 429
    assert.equal(kHat(3072, 768, 0.7), 429);
    const r = table3(BERT.m, BERT.n, BERT.t, 0.7);
    assert.deepEqual(r.storage, { original: 2_359_296, compressed: 1_647_789 }); // 3841·429
    assert.deepEqual(r.readsFlat, { original: 141_557_760, compressed: 98_841_600 }); // 2·mn·30, 2·3840·429·30
    // mn + nt = 2,359,296 + 23,040; 3072·429 + 429 + 768·429 + 23,040
    assert.deepEqual(r.readsHierarchy, { original: 2_382_336, compressed: 1_670_829 });
  });

  it("Eq. 17 and Eq. 16 at CR 0.7, t = 10, like with like: 29.67%", () => {
    const original = totalAccess(2_359_296, 7_680, 30_720); // mn, nt, mt
    const optimized = totalAccess(1_647_789, 7_680, 30_720);
    assert.equal(original, 2_397_696);
    assert.equal(optimized, 1_686_189);
    assert.equal(reduceRate(optimized, original), 1 - 1_686_189 / 2_397_696);
    const a = READINGS.find((x) => x.id === "A")!;
    assert.equal(bandwidthReduction(a, BERT.m, BERT.n, 10, 0.7), 1 - 1_686_189 / 2_397_696);
    assert.equal((100 * bandwidthReduction(a, BERT.m, BERT.n, 10, 0.7)).toFixed(2), "29.67");
  });

  it("the mixed reading (dense flat against SVD with the hierarchy) nears 60% only at t = 1", () => {
    const c = READINGS.find((x) => x.id === "C")!;
    // t = 1: (2mn + m) = 4,721,664 against 1,647,789 + 768 + 3072 = 1,651,629
    assert.equal(bandwidthReduction(c, BERT.m, BERT.n, 1, 0.7), 1 - 1_651_629 / 4_721_664);
    assert.ok(bandwidthReduction(c, BERT.m, BERT.n, 10, 0.7) > 0.95);
  });
});
