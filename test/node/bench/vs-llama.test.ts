// Which models the llama.cpp comparison builds: the 300M model by default, skipped by
// EFED_BENCH_300M=0 (and by a quick run unless =1), and only the graph the project runs for
// each of its weight types.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { benchRounds, comparedModels } from "../../../scripts/bench-vs-llama.ts";
import { SHAPE_300M, SHAPE_48M, SHAPE_QUICK } from "../../../scripts/synth-shapes.ts";
import { synthConfig } from "../../../node/model/synth.ts";

describe("the llama.cpp comparison's models", () => {
  it("includes the 300M model by default, fused, f32 for F32 and MatMulNBits for Q8_0, Q4_0 and Q4_K_M; 48M Q8_0 also as servers run it", () => {
    const models = comparedModels(false, undefined);
    assert.deepEqual(models.map((m) => m.shape), [SHAPE_48M, SHAPE_300M]);
    assert.deepEqual(models[1].graphs, { F32: [{ quantized: false, fused: true }], Q8_0: [{ quantized: true, fused: true }], Q4_0: [{ quantized: true, fused: true }], Q4_K_M: [{ quantized: true, fused: true }] });
    assert.deepEqual(models[0].graphs.Q8_0, [{ quantized: false, fused: false }, { quantized: true, fused: true }]);
    assert.equal(models[1].label, "300M");
  });

  it("skips it with EFED_BENCH_300M=0, and in a quick run unless =1", () => {
    assert.deepEqual(comparedModels(false, "0").map((m) => m.shape), [SHAPE_48M]);
    assert.deepEqual(comparedModels(true, undefined).map((m) => m.shape), [SHAPE_QUICK]);
    assert.deepEqual(comparedModels(true, "1").map((m) => m.shape), [SHAPE_QUICK, SHAPE_300M]);
    assert.throws(() => comparedModels(false, "yes"), /EFED_BENCH_300M must be 0 or 1, got yes/);
  });

  it("is a valid Llama shape of about 300M parameters", () => {
    const c = synthConfig(SHAPE_300M);
    const perLayer = 2 * c.dim + 2 * c.dim * c.dim + 2 * c.nKvHeads * c.headSize * c.dim + 3 * c.dim * c.hiddenDim;
    assert.equal(2 * c.vocabSize * c.dim + c.dim + c.nLayers * perLayer, 301_507_584);
  });

  it("takes turns for 3 rounds unless EFED_BENCH_ROUNDS says otherwise", () => {
    assert.equal(benchRounds(undefined), 3);
    assert.equal(benchRounds("1"), 1);
    assert.throws(() => benchRounds("0"), /EFED_BENCH_ROUNDS must be a positive integer, got 0/);
    assert.throws(() => benchRounds("two"), /EFED_BENCH_ROUNDS must be a positive integer, got two/);
  });
});
