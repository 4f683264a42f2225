// ONNX shards against the float64 reference (every layer within 1e-4 relative error,
// prefill and single steps), and the acceptance test of the model path: the published
// greedy text through 1, 2, 3 and 5 shards, through SVD at energy 1.0, and through a
// Hugging Face checkpoint of the same model.
import { describe, it, before } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as ort from "onnxruntime-node";
import { generate } from "../../../node/client/generate.ts";
import { openLocalEngine } from "../../../node/client/local.ts";
import { loadModel, type LoadedModel } from "../../../node/model/load.ts";
import { writeHfCheckpoint } from "../../../node/model/hf-export.ts";
import { buildEmbeddingGraph, buildHeadGraph, buildShardGraph, denseSource } from "../../../node/model/onnx/layers.ts";
import { ClientGraph, ShardRunner } from "../../../node/model/onnx/runtime.ts";
import { ReferenceModel } from "../../../node/model/reference.ts";
import type { SpmTokenizer } from "../../../node/model/tokenizer/spm.ts";
import { goldenText, STORIES_260K } from "../../helpers/models.ts";
import { relErr } from "../../helpers/numeric.ts";
import { checkLayers } from "../../helpers/layer-check.ts";


async function greedy(file: string, opts: Parameters<typeof openLocalEngine>[1], tokens: number): Promise<string> {
  const engine = await openLocalEngine(file, opts);
  try {
    return (await generate(engine.client, engine.session(), { prompt: "", maxTokens: tokens })).text;
  } finally {
    await engine.close();
  }
}

describe("ONNX shards", () => {
  let m: LoadedModel;
  let golden: string;
  let goldenTokens: number;
  before(async () => {
    m = await loadModel(STORIES_260K);
    golden = goldenText();
    goldenTokens = m.tokenizer.encode(golden, { bos: false }).length;
  });

  it("every layer is within 1e-4 of the float64 reference, for a prefill and for single steps", async () => {
    const c = m.config;
    const norms = (l: number) => ({ attnNorm: m.weights.layers[l]!.attnNorm, ffnNorm: m.weights.layers[l]!.ffnNorm });
    const shards = await Promise.all(
      [0, 1, 2, 3, 4].map((l) => ShardRunner.create(c, l, l + 1, buildShardGraph(c, { start: l, end: l + 1, norms, linear: denseSource(m.weights) }), "cpu")),
    );
    const caches = shards.map((s) => s.newCache());
    const ref = new ReferenceModel(c, m.weights);
    const prompt = m.tokenizer.encode("Once upon a time, Tom");
    // reference hidden states per position and layer
    const { worst } = await checkLayers(c, ref, shards, caches, [prompt, [403], [407], [261]]);
    assert.ok(worst > 0);
    await Promise.all(shards.map((s) => s.release()));
  });

  it("the client's embedding and head graphs match the reference", async () => {
    const c = m.config;
    const ref = new ReferenceModel(c, m.weights);
    const emb = await ClientGraph.create(buildEmbeddingGraph(c, m.weights.embedding!), "cpu");
    const head = await ClientGraph.create(buildHeadGraph(c, m.weights.outputNorm!, m.weights.output!), "cpu");
    const e = await emb.run(new ort.Tensor("int64", BigInt64Array.of(42n, 7n), [1, 2]));
    assert.deepEqual([...(e.data as Float32Array).subarray(c.dim)], [...ref.embed(7)].map(Math.fround));
    const x = ref.layers(ref.embed(42), 0);
    const logits = await head.run(new ort.Tensor("float32", Float32Array.from(x), [1, 1, c.dim]));
    assert.ok(relErr(logits.data as Float32Array, ref.logits(x)) < 1e-5);
    await Promise.all([emb.release(), head.release()]);
  });

  for (const shards of [1, 2, 3, 5]) {
    it(`reproduces the published greedy text through ${shards} shard(s)`, async () => {
      const text = await greedy(STORIES_260K, { shards }, goldenTokens);
      assert.equal(text.slice(0, golden.length), golden);
    });
  }

  it("reproduces it with SVD-compressed weights at energy 1.0", async () => {
    const text = await greedy(STORIES_260K, { shards: 2, svd: { energy: 1 } }, goldenTokens);
    assert.equal(text.slice(0, golden.length), golden);
  });

  it("reproduces it from a Hugging Face checkpoint (safetensors, tokenizer.json, halves RoPE)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "efed-hf-"));
    writeHfCheckpoint(dir, m.config, m.weights, (m.tokenizer as SpmTokenizer).vocab);
    const text = await greedy(dir, { shards: 3 }, goldenTokens);
    assert.equal(text.slice(0, golden.length), golden);
  });

  it("asking for an absent execution provider is an error, not a fallback; auto falls back", async () => {
    await assert.rejects(openLocalEngine(STORIES_260K, { device: "cuda" }), (err: Error) => {
      assert.equal(err.name, "DeviceUnavailableError");
      assert.match(err.message, /the cuda execution provider is not available on this machine/);
      return true;
    });
    const engine = await openLocalEngine(STORIES_260K, { device: "auto" });
    assert.ok(["cuda", "webgpu", "cpu"].includes(engine.runners[0].device));
    await engine.close();
  });
});
