// The measuring side of efed analyze, on small sizes: energies on the real model, bytes over
// /efed/weights/1 against Eq. 10, layer timing, and the split softmax.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { loadModel } from "../../../node/model/load.ts";
import { agreementAndPerplexity, energyAtShare, spectra, type MatrixSpectrum } from "../../../node/analyze/svd-measure.ts";
import { layerConfig, measureTransfers, timeLayers } from "../../../node/analyze/transfer.ts";
import { floatSoftmax, scoreMatrix, softmaxError, softmaxShareOfLayer, verifierCosts } from "../../../node/analyze/softmax-cost.ts";
import { WeightsRequest } from "../../../node/p2p/weights-wire.ts";
import { STORIES_260K } from "../../helpers/models.ts";

describe("measurements behind efed analyze", () => {
  it("energy at a share of singular values: hand-computed on a 2-matrix spectrum", () => {
    const sp: MatrixSpectrum[] = [
      { layer: 0, matrix: "wq", m: 4, n: 4, sigma: Float64Array.of(3, 1, 1, 1), total: 12 },
      { layer: 1, matrix: "wq", m: 4, n: 4, sigma: Float64Array.of(2, 2, 2, 2), total: 16 },
    ];
    const s = energyAtShare(sp, 0.5); // k = 2 of 4: 10/12 and 8/16
    assert.equal(s.energy.min, 0.5);
    assert.equal(s.energy.max, 10 / 12);
    assert.equal(s.ratio, (9 * 2) / 16); // Eq. 10: (4 + 4 + 1)·2 / 16
    assert.equal(s.eq13, (10 / 12) * 0.5);
  });

  it("on stories260K, 40% of the singular values keep 66–97% of the energy, mean 79%", async () => {
    const s = energyAtShare(spectra(await loadModel(STORIES_260K)), 0.4);
    assert.equal(Math.round(100 * s.energy.min), 66);
    assert.equal(Math.round(100 * s.energy.max), 97);
    assert.equal(Math.round(100 * s.energy.mean), 79);
  });

  it("agreement and perplexity from logits", () => {
    const logits = [Float32Array.of(0, 0), Float32Array.of(5, 0)];
    const r = agreementAndPerplexity(logits, [9, 1, 0]); // next tokens 1 (a tie: argmax 0, p = ½) and 0
    assert.equal(r.agreement, 0.5);
    const p2 = Math.exp(5) / (Math.exp(5) + 1);
    assert.ok(Math.abs(r.perplexity - Math.exp(-(Math.log(0.5) + Math.log(p2)) / 2)) < 1e-6);
  });

  it("bytes over /efed/weights/1 are Eq. 10's (m + n + 1)·k̂ floats plus the norms", async () => {
    const rows = await measureTransfers(await loadModel(STORIES_260K), [0.5]);
    assert.equal(rows.length, 2);
    for (const r of rows) {
      assert.equal(r.bytes, r.predictedBytes);
      assert.ok(r.wireBytes > r.bytes);
    }
    assert.equal(rows[0].bytes, 908_800); // 5 layers × (2·64 + 2·64² + 2·32·64 + 3·64·172) × 4 bytes
  });

  it("a weights request asks for SVD factors by energy or by ratio, not both", () => {
    assert.equal(WeightsRequest.safeParse({ start: 0, end: 1, format: "svd", ratio: 0.5 }).success, true);
    assert.equal(WeightsRequest.safeParse({ start: 0, end: 1, format: "svd", energy: 0.9 }).success, true);
    assert.equal(WeightsRequest.safeParse({ start: 0, end: 1, format: "svd", energy: 0.9, ratio: 0.5 }).success, false);
    assert.equal(WeightsRequest.safeParse({ start: 0, end: 1, format: "svd" }).success, false);
    assert.equal(WeightsRequest.safeParse({ start: 0, end: 1, format: "svd", ratio: 1.5 }).success, false);
  });

  it("times a dense and a factored layer", async () => {
    const t = await timeLayers(layerConfig(64, 256), [0.5], 4, 1);
    assert.equal(t.length, 2);
    assert.equal(t[0].ratio, undefined);
    for (const x of t) assert.ok(x.prefillMs > 0 && x.decodeMs > 0);
  });

  it("the split softmax is bit-identical across verifier counts and close to float", () => {
    const rows = scoreMatrix(12, 16);
    for (const c of verifierCosts(rows, [1, 3, 5], 1)) assert.equal(c.identical, true);
    const e = softmaxError(rows);
    assert.ok(e.maxAbs < 1e-5 && e.maxRowSumError < 1e-4);
    assert.deepEqual(floatSoftmax([0, 0]), [0.5, 0.5]);
  });

  it("the softmax's share of a layer's arithmetic", () => {
    // dim 64, kv 32, hidden 172, 8 heads of 8, 256 positions:
    // 64·64·2 + 64·32·2 + 3·64·172 + 2·8·256·8 = 8192 + 4096 + 33024 + 32768 = 78,080 multiply-adds
    const c = { dim: 64, hiddenDim: 172, nLayers: 5, nHeads: 8, nKvHeads: 4, headSize: 8, vocabSize: 512, contextLength: 512, normEps: 1e-5, ropeTheta: 1e4, ropeLayout: "pairs" as const };
    const s = softmaxShareOfLayer(c, 256);
    assert.equal(s.multiplyAdds, 78_080);
    assert.equal(s.exps, 2048);
    assert.equal(s.share, 2048 / 80_128);
  });
});
