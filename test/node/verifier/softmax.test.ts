// Paper §4.4: the fixed-point softmax (shift invariance, K-digit base-b exponent split with
// table lookups) against float softmax, its determinism, and splitting it between verifiers.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  combineSlices, DEFAULT_SOFTMAX, digestRows, fixedExp, fixedSoftmaxRow, partialExp, partialMax, quantize, shares, softmaxRows, softmaxTables,
} from "../../../node/verifier/softmax.ts";
import { normal } from "../../../node/model/random.ts";

const ONE = 2 ** DEFAULT_SOFTMAX.outBits;
const floatSoftmax = (z: number[]) => {
  const m = Math.max(...z);
  const e = z.map((v) => Math.exp(v - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
};
const scoreRows = (rows: number, cols: number, seed: number, scale = 4) => {
  const r = normal(seed);
  return Array.from({ length: rows }, () => Array.from({ length: cols }, () => r() * scale));
};

describe("fixed-point softmax (paper §4.4)", () => {
  it("exp by K base-b digits and table lookups matches Math.exp", () => {
    for (const x of [0, 1, 17, 255, 4096, 65536, 300000, 1234567]) {
      const want = Math.exp(-x / 2 ** DEFAULT_SOFTMAX.fracBits);
      const got = fixedExp(x) / ONE;
      assert.ok(Math.abs(got - want) <= 6 * 2 ** -24 + want * 1e-6, `x=${x}: ${got} vs ${want}`);
    }
    assert.equal(fixedExp(16 ** 6), 0); // beyond b^K the exponent underflows
  });

  it("is within 2e-5 of float softmax on random score rows (stated bound)", () => {
    let worst = 0;
    for (const row of scoreRows(200, 64, 3)) {
      const want = floatSoftmax(row);
      const got = fixedSoftmaxRow(quantize(row)).map((v) => v / ONE);
      for (let i = 0; i < row.length; i++) worst = Math.max(worst, Math.abs(got[i] - want[i]));
    }
    assert.ok(worst < 2e-5, `max abs error ${worst}`);
  });

  it("shift invariance: adding a constant to every score changes no bit", () => {
    const q = quantize(scoreRows(1, 50, 5)[0]);
    assert.deepEqual(fixedSoftmaxRow(q.map((v) => v + 123456)), fixedSoftmaxRow(q));
  });

  it("tables are built with integers only: fixed values anyone can recompute", () => {
    const t = softmaxTables();
    assert.equal(t[0][0], ONE);
    assert.equal(t[0][1], Math.round(ONE * Math.exp(-1 / 65536)));
    assert.equal(t[2][3], Math.round(ONE * Math.exp((-3 * 256) / 65536)));
  });

  it("split by rows between 1, 2 or 3 verifiers: the same bits and the same digest", () => {
    const rows = scoreRows(37, 24, 7).map((r) => quantize(r));
    const whole = softmaxRows(rows, 0, rows.length);
    for (const parts of [2, 3]) {
      const combined = shares(rows.length, parts).flatMap(([a, b]) => softmaxRows(rows, a, b));
      assert.deepEqual(combined, whole);
      assert.equal(digestRows(combined), digestRows(whole));
    }
  });

  it("split by columns in two phases (max, then exps and sums): the same bits", () => {
    const q = quantize(scoreRows(1, 100, 9)[0]);
    const slices = shares(q.length, 3).map(([a, b]) => q.slice(a, b));
    const rowMax = Math.max(...slices.map(partialMax));
    const combined = combineSlices(slices.map((s) => partialExp(s, rowMax)));
    assert.deepEqual(combined, fixedSoftmaxRow(q));
  });
});
