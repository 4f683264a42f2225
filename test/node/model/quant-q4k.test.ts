// Q4_K weights kept 4-bit in the local graph (node/model/kquants.ts q4kToBlocks): each
// sub-block of 32 runs as 4-bit MatMulNBits with int8 activations, plus its offset times the
// sum of its unrounded activations (layers.ts int8MatMul). Held to the float64 reference that
// models exactly that (reference.ts int8MatVec), and shown apart from both simpler models:
// every activation rounded (offsets too), and none.
import { describe, it, before } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import onnxProto from "onnx-proto";
import { mapGgufClient, mapGgufLayers, type MappedLayers } from "../../../node/model/gguf-map.ts";
import { loadModel } from "../../../node/model/load.ts";
import { buildFusedShardGraph } from "../../../node/model/onnx/fused-layers.ts";
import { buildHeadGraph, buildShardGraph } from "../../../node/model/onnx/layers.ts";
import { ShardRunner } from "../../../node/model/onnx/runtime.ts";
import { ReferenceModel } from "../../../node/model/reference.ts";
import { normal } from "../../../node/model/random.ts";
import { writeSynthModel } from "../../../node/model/synth.ts";
import type { LoadedModel } from "../../../node/model/types.ts";
import { checkLayers } from "../../helpers/layer-check.ts";
import { headErrors } from "../../helpers/head-check.ts";

/** The op types of a graph's nodes, counted. */
const ops = (graph: Uint8Array) => {
  const n = new Map<string, number>();
  for (const node of onnxProto.onnx.ModelProto.decode(graph).graph!.node!) n.set(node.opType!, (n.get(node.opType!) ?? 0) + 1);
  return n;
};

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

describe("Q4_K weights in the local graph", () => {
  let file: string;
  let m: LoadedModel;
  let layers: MappedLayers;
  before(async () => {
    file = join(mkdtempSync(join(tmpdir(), "efed-q4k-")), "q4k.gguf");
    // rows of 256: whole Q4_K blocks
    writeSynthModel(file, { dim: 256, layers: 3, heads: 4, kvHeads: 2, ffn: 512, vocab: 300, seed: 4, type: "Q4_K" });
    m = await loadModel(file); // the blocks decoded to f32
    layers = await mapGgufLayers(file, 0, 3, { quantized: true });
  });

  const offsetsOf = (l: number, k: Parameters<MappedLayers["linear"]>[1]) => {
    const lin = layers.linear(l, k);
    return lin.kind === "blocks" ? lin.m.offsets : undefined;
  };

  for (const [graph, build] of [["plain", buildShardGraph], ["fused", buildFusedShardGraph]] as const) it(`runs every layer matrix as 4-bit MatMulNBits plus its offsets, as the reference models it (${graph} graph)`, async () => {
    const c = m.config;
    const graphs = [0, 1, 2].map((l) => build(c, { start: l, end: l + 1, norms: layers.norms, linear: layers.linear, quantized: true }));
    for (const g of graphs) {
      const n = ops(g);
      assert.equal(n.get("MatMulNBits"), 7);
      // the offsets: a MatMul each; block sums once per input (q, k, v share theirs, and
      // gate and up), four inputs a layer
      assert.equal(n.get("ReduceSum"), 4);
    }
    const shards = await Promise.all(graphs.map((g, l) => ShardRunner.create(c, l, l + 1, g, "cpu", layers.externalDir)));
    // inputs off the 4-bit grid (as in quant-q4.test.ts)
    const rand = normal(14);
    const weights = { ...m.weights, embedding: Float32Array.from(m.weights.embedding!, () => rand() * 0.5) };
    const steps = [[5, 9, 100, 7, 30], ...Array.from({ length: 10 }, (_, i) => [(i * 37) % 300])];
    const errorsAgainst = async (ref: ReferenceModel) => (await checkLayers(c, ref, shards, shards.map((s) => s.newCache()), steps, Infinity)).errors;
    const exact = await errorsAgainst(new ReferenceModel(c, weights, { int8Activations: "all", offsets: offsetsOf }));
    const allRounded = await errorsAgainst(new ReferenceModel(c, weights, { int8Activations: "all" }));
    const plain = await errorsAgainst(new ReferenceModel(c, weights));
    await Promise.all(shards.map((s) => s.release()));
    // most layer-positions at float precision; an activation on the other side of an int8
    // rounding boundary moves one by ~1e-3, and the layers after it through their caches
    assert.ok(median(exact) < 1e-5, `median relative error ${median(exact)}: ${exact.map((e) => e.toExponential(1))}`);
    assert.ok(Math.max(...exact) < 1e-2, `largest relative error ${Math.max(...exact)}`);
    // the offsets see unrounded activations, and the rest rounded ones
    assert.ok(median(allRounded) > 1e-3, `against every activation rounded: median ${median(allRounded)}`);
    assert.ok(Math.min(...plain) > 1e-4, `against float activations: ${Math.min(...plain)}`);
  });

  it("the local head runs a Q4_K output matrix as 4-bit MatMulNBits plus its offsets", async () => {
    const c = m.config;
    const client = await mapGgufClient(file, { quantized: true });
    assert.ok(!(client.output instanceof Float32Array) && client.output.kind === "blocks");
    const q = client.output.m;
    assert.deepEqual([q.bits, q.block], [4, 32]);
    const graph = buildHeadGraph(c, client.outputNorm, client.output, { quantized: true });
    assert.equal(ops(graph).get("MatMulNBits"), 1);
    const { int8, float } = await headErrors(c, m.weights, graph, 13, 32, q.offsets);
    assert.ok(Math.max(...int8) < 1e-5, `relative errors ${int8}`);
    assert.ok(Math.min(...float) > 1e-4, `relative errors against float activations ${float}`);
    const rounded = await headErrors(c, m.weights, graph, 13, 32);
    assert.ok(Math.min(...rounded.int8) > 1e-4, `relative errors against every activation rounded ${rounded.int8}`);
  });
});
