// The fused shard graph (fused-layers.ts) against the float64 reference, layer by layer,
// with both rotary layouts, for a prefill, single decode steps and a two-position step
// after a cache; against the plain graph, in far fewer nodes; and in a local engine, the
// plain graph's greedy tokens.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import onnxProto from "onnx-proto";
import { buildFusedShardGraph, fusedGraphRuns } from "../../../node/model/onnx/fused-layers.ts";
import { buildShardGraph, denseSource, type ShardGraphOptions } from "../../../node/model/onnx/layers.ts";
import { ShardRunner } from "../../../node/model/onnx/runtime.ts";
import { ReferenceModel } from "../../../node/model/reference.ts";
import { synthConfig, synthWeights, writeSynthModel } from "../../../node/model/synth.ts";
import { generate } from "../../../node/client/generate.ts";
import { openLocalEngine } from "../../../node/client/local.ts";
import type { LlamaConfig, LlamaWeights } from "../../../node/model/types.ts";
import { relErr } from "../../helpers/numeric.ts";
import { checkLayers } from "../../helpers/layer-check.ts";

// head size 32 (GroupQueryAttention on CPU wants a multiple of 16), 2:1 grouped-query
const SHAPE = { dim: 128, layers: 3, heads: 4, kvHeads: 2, ffn: 256, vocab: 300, seed: 3 };

function model(ropeLayout: LlamaConfig["ropeLayout"]): { c: LlamaConfig; w: LlamaWeights } {
  const c = { ...synthConfig(SHAPE), ropeLayout };
  return { c, w: synthWeights(c, SHAPE) };
}

const options = (c: LlamaConfig, w: LlamaWeights, start: number, end: number): ShardGraphOptions => ({
  start,
  end,
  norms: (l) => ({ attnNorm: w.layers[l]!.attnNorm, ffnNorm: w.layers[l]!.ffnNorm }),
  linear: denseSource(w),
});

const nodes = (graph: Uint8Array) => onnxProto.onnx.ModelProto.decode(graph).graph!.node!;

describe("fused shard graph", () => {
  for (const layout of ["pairs", "halves"] as const) {
    it(`every layer is within 1e-4 of the float64 reference (rotary ${layout}): prefill, single steps, two positions after a cache`, async () => {
      const { c, w } = model(layout);
      const shards = await Promise.all([0, 1, 2].map((l) => ShardRunner.create(c, l, l + 1, buildFusedShardGraph(c, options(c, w, l, l + 1)), "cpu")));
      const caches = shards.map((s) => s.newCache());
      const ref = new ReferenceModel(c, w);
      const { worst, positions: pos } = await checkLayers(c, ref, shards, caches, [[1, 70, 200, 33, 9], [101], [7], [250, 12]]);
      assert.ok(worst > 0);
      assert.equal(caches[0].length, pos);
      assert.equal(caches[0].bytes, 2 * 4 * pos * c.nKvHeads * c.headSize);
      await Promise.all(shards.map((s) => s.release()));
    });
  }

  it("gives the plain graph's hidden states over all layers, in a dozen nodes a layer instead of 85", async () => {
    const { c, w } = model("pairs");
    const o = options(c, w, 0, c.nLayers);
    const fusedGraph = buildFusedShardGraph(c, o);
    const plainGraph = buildShardGraph(c, o);
    // 13 a layer, and a few once per graph (GroupQueryAttention's lengths, the last residual)
    assert.ok(nodes(fusedGraph).length <= 13 * c.nLayers + 8, `${nodes(fusedGraph).length} nodes`);
    assert.ok(nodes(plainGraph).length >= 60 * c.nLayers);
    assert.equal(nodes(fusedGraph).filter((n) => n.opType === "GroupQueryAttention").length, c.nLayers);
    const [fused, plain] = await Promise.all([ShardRunner.create(c, 0, c.nLayers, fusedGraph, "cpu"), ShardRunner.create(c, 0, c.nLayers, plainGraph, "cpu")]);
    const [fc, pc] = [fused.newCache(), plain.newCache()];
    const ref = new ReferenceModel(c, w);
    for (const ids of [[1, 5, 9], [40], [41], [42]]) {
      const x = Float32Array.from(ids.flatMap((t) => [...ref.embed(t)]));
      const a = await fused.step(fc, x, ids.length);
      const b = await plain.step(pc, x, ids.length);
      assert.ok(relErr(a, b) < 1e-5, `relative difference ${relErr(a, b)}`);
    }
    await Promise.all([fused.release(), plain.release()]);
  });

  it("is opened only when asked (ShardRunner.open: the local engine and a verifier's re-check ask; servers build it for themselves)", async () => {
    const { c, w } = model("pairs");
    const plain = await ShardRunner.open(c, options(c, w, 0, 1), "cpu");
    const fused = await ShardRunner.open(c, { ...options(c, w, 0, 1), fused: true }, "cpu");
    assert.equal(plain.fused, false);
    assert.equal(fused.fused, true);
    await Promise.all([plain.release(), fused.release()]);
  });

  it("is used only where onnxruntime's CPU GroupQueryAttention runs the head size", () => {
    assert.equal(fusedGraphRuns(synthConfig(SHAPE), "cpu"), true);
    assert.equal(fusedGraphRuns(synthConfig({ ...SHAPE, heads: 16, kvHeads: 4 }), "cpu"), false); // head size 8 (stories260K's)
    assert.equal(fusedGraphRuns(synthConfig(SHAPE), "cuda"), false);
  });
});

describe("fused graph in a local engine", () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "efed-fused-"));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("is what `generate --local` runs on an F32 GGUF, with the plain graph's greedy tokens", async () => {
    const file = join(dir, "f32.gguf");
    writeSynthModel(file, { ...SHAPE, layers: 4, type: "F32" });
    const run = async (fused: boolean | undefined, shards: number) => {
      const engine = await openLocalEngine(file, { fused, shards });
      try {
        const r = await generate(engine.client, engine.session(), { prompt: "", promptIds: [1], maxTokens: 40, stopAtEos: false });
        return { fused: engine.runners.map((s) => s.fused), tokens: r.tokens };
      } finally {
        await engine.close();
      }
    };
    const fused = await run(undefined, 2);
    const plain = await run(false, 1);
    assert.deepEqual(fused.fused, [true, true]);
    assert.deepEqual(plain.fused, [false]);
    assert.equal(fused.tokens.length, 40);
    assert.deepEqual(fused.tokens, plain.tokens);
  });
});
