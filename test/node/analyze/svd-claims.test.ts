// Paper §4.2: Eq. 10 against the text's count, the GPT-2 example, the bandwidth claim, Eq. 13.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { compressionRatio, eq13Total, GPT2_EXAMPLE, rankForShare, savedApproximation, savedNumbers, savingAtShare, textRatio } from "../../../node/analyze/svd-claims.ts";

describe("SVD claims (paper §4.2)", () => {
  it("768×2304 at 40% of the singular values: k = 307, CR 53.32% by Eq. 10, 58.63% by the text's count", () => {
    const { m, n, share } = GPT2_EXAMPLE;
    const k = rankForShare(m, n, share);
    assert.equal(k, 307);
    // (768 + 2304 + 1)·307 / (768·2304) = 943,411 / 1,769,472
    assert.equal(compressionRatio(m, n, k), 943_411 / 1_769_472);
    assert.equal((100 * compressionRatio(m, n, k)).toFixed(2), "53.32");
    // (768·307 + 307² + 307·2304) / (768·2304) = 1,037,353 / 1,769,472
    assert.equal(textRatio(m, n, k), 1_037_353 / 1_769_472);
    assert.equal((100 * textRatio(m, n, k)).toFixed(2), "58.63");
  });

  it("the saving at 40–50% of the singular values, and (m − k)(n − k) against the exact count", () => {
    assert.equal((100 * savingAtShare(768, 2304, 0.4)).toFixed(2), "46.68");
    assert.equal((100 * savingAtShare(768, 2304, 0.5)).toFixed(2), "33.31"); // 1 − 3073·384/1,769,472
    // square: half the singular values cost more than W itself, (2n + 1)·n/2 > n²
    assert.equal(savingAtShare(512, 512, 0.5), 1 - 262_400 / 262_144);
    assert.equal(savedNumbers(10, 20, 3), 200 - (30 + 9 + 60));
    assert.equal(savedApproximation(10, 20, 3), 7 * 17);
    assert.equal(savedApproximation(10, 20, 3) - savedNumbers(10, 20, 3), 2 * 3 * 3);
  });

  it("Eq. 13: the product over layers of the mean accuracy per layer", () => {
    assert.equal(eq13Total([[1, 0.5], [0.8, 0.8, 0.8]]), 0.75 * 0.8);
    assert.equal(eq13Total([]), 1);
  });
});
