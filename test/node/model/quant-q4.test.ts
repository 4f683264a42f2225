// Q4_0 weights kept 4-bit in the local graph (node/model/quant.ts q4FromBlocks): GGUF's
// nibble order rewritten to MatMulNBits', to exactly the values the blocks decode to; the
// layers and the head run as 4-bit MatMulNBits and match the float64 reference that rounds
// their activations to int8 blocks, as the Q8_0 path does (quant.test.ts).
import { describe, it, before } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import onnxProto from "onnx-proto";
import { GGML_Q4_0, toFloat32, toQ4_0 } from "../../../node/model/dtypes.ts";
import { mapGgufClient, mapGgufLayers } from "../../../node/model/gguf-map.ts";
import { loadModel } from "../../../node/model/load.ts";
import { buildFusedShardGraph } from "../../../node/model/onnx/fused-layers.ts";
import { buildHeadGraph, buildShardGraph } from "../../../node/model/onnx/layers.ts";
import { ShardRunner } from "../../../node/model/onnx/runtime.ts";
import { blockValues, q4FromBlocks } from "../../../node/model/quant.ts";
import { ReferenceModel } from "../../../node/model/reference.ts";
import { normal } from "../../../node/model/random.ts";
import { byteVocab, writeSynthModel } from "../../../node/model/synth.ts";
import { writeModelGguf } from "../../../node/model/export.ts";
import type { LoadedModel } from "../../../node/model/types.ts";
import { checkLayers } from "../../helpers/layer-check.ts";
import { headErrors } from "../../helpers/head-check.ts";
import { relErr } from "../../helpers/numeric.ts";

/** The bits attribute of every MatMulNBits node of a graph. */
const nbits = (graph: Uint8Array) =>
  onnxProto.onnx.ModelProto.decode(graph)
    .graph!.node!.filter((n) => n.opType === "MatMulNBits")
    .map((n) => Number(n.attribute!.find((a) => a.name === "bits")!.i));

describe("Q4_0 weights in the local graph", () => {
  let file: string;
  let m: LoadedModel;
  before(async () => {
    file = join(mkdtempSync(join(tmpdir(), "efed-q4-")), "q4.gguf");
    writeSynthModel(file, { dim: 128, layers: 3, heads: 4, kvHeads: 2, ffn: 256, vocab: 300, seed: 4, type: "Q4_0" });
    m = await loadModel(file); // the blocks decoded to f32
  });

  it("takes a GGUF Q4_0 tensor's blocks as stored, to exactly the values they decode to", () => {
    const rand = normal(12);
    const w = Float32Array.from({ length: 6 * 64 }, () => rand() * 0.05);
    w.fill(0, 64, 96); // a zero block
    const blocks = toQ4_0(w);
    // blocks llama.cpp would not write: a negative scale where it writes a positive one, and
    // every nibble from 0 to 15 in one block
    const view = new DataView(blocks.buffer);
    view.setUint16(0, view.getUint16(0, true) ^ 0x8000, true);
    for (let j = 0; j < 16; j++) blocks[3 * 18 + 2 + j] = j | ((15 - j) << 4);
    const decoded = toFloat32(GGML_Q4_0, blocks, w.length);
    const q = q4FromBlocks(blocks, 6, 64)!;
    assert.equal(q.bits, 4);
    assert.equal(q.q.length, (6 * 64) / 2);
    assert.deepEqual(blockValues(q), decoded);
    assert.ok(decoded.subarray(96, 128).some((v) => v === -8 * q.scales[3]) && decoded.subarray(96, 128).some((v) => v === 7 * q.scales[3]));
    assert.ok(relErr(decoded.subarray(64 * 2), w.subarray(64 * 2)) < 0.2); // what Q4_0 keeps of w
    assert.equal(q4FromBlocks(blocks.subarray(0, 5 * 18), 6, 64), undefined); // too few blocks
    assert.equal(q4FromBlocks(new Uint8Array(blocks.buffer, 0, 6 * 18 - 1), 6, 64), undefined);
  });

  for (const [graph, build] of [["plain", buildShardGraph], ["fused", buildFusedShardGraph]] as const) it(`runs every layer matrix as 4-bit MatMulNBits and matches the float64 reference with int8 activations (${graph} graph)`, async () => {
    const c = m.config;
    const layers = await mapGgufLayers(file, 0, c.nLayers, { quantized: true });
    const graphs = [0, 1, 2].map((l) => build(c, { start: l, end: l + 1, norms: layers.norms, linear: layers.linear, quantized: true }));
    for (const g of graphs) assert.deepEqual(nbits(g), [4, 4, 4, 4, 4, 4, 4]);
    const shards = await Promise.all(graphs.map((g, l) => ShardRunner.create(c, l, l + 1, g, "cpu", layers.externalDir)));
    const caches = shards.map((s) => s.newCache());
    // inputs off the Q4_0 grid: a decoded Q4_0 embedding row, normalized, puts some of the
    // first layer's activations where onnxruntime's 4-bit kernel rounds them otherwise than
    // its 8-bit one, which the reference models (~3e-3 on such rows; quant.ts)
    const rand = normal(14);
    const weights = { ...m.weights, embedding: Float32Array.from(m.weights.embedding!, () => rand() * 0.5) };
    const { errors } = await checkLayers(c, new ReferenceModel(c, weights, { int8Activations: "all" }), shards, caches, [[5, 9, 100, 7, 30], ...Array.from({ length: 10 }, (_, i) => [(i * 37) % 300])], Infinity);
    const plain = await checkLayers(c, new ReferenceModel(c, weights), shards, shards.map((s) => s.newCache()), [[5, 9, 100, 7, 30]], Infinity);
    await Promise.all(shards.map((s) => s.release()));
    // as with Q8_0 (quant.test.ts): an activation on the other side of an int8 rounding
    // boundary moves one layer-position by ~1e-3; everywhere else float precision
    const close = errors.filter((e) => e < 1e-5).length;
    assert.ok(close >= 0.9 * errors.length, `only ${close} of ${errors.length} layer-positions within 1e-5: ${errors.map((e) => e.toExponential(1))}`);
    assert.ok(Math.max(...errors) < 1e-2, `largest relative error ${Math.max(...errors)}`);
    // and the int8 activations are really taken: the reference without them is far off
    assert.ok(Math.min(...plain.errors) > 1e-4, `relative errors against float activations ${plain.errors}`);
  });

  it("the local head runs a Q4_0 output matrix as 4-bit MatMulNBits, a Q4_0 embedding is decoded", async () => {
    const c = m.config;
    const client = await mapGgufClient(file, { quantized: true });
    assert.ok(client.embedding instanceof Float32Array);
    assert.deepEqual(client.embedding, m.weights.embedding);
    const local = buildHeadGraph(c, client.outputNorm, client.output, { quantized: true });
    assert.deepEqual(nbits(local), [4]);
    const { int8: errs, float: plain } = await headErrors(c, m.weights, local, 13);
    assert.ok(Math.max(...errs) < 1e-5, `relative errors ${errs}`);
    assert.ok(Math.min(...plain) > 1e-4, `relative errors against float activations ${plain}`);
  });

  it("a model whose head is its embedding (no output.weight): the table decoded for the embedding, 4-bit for the head", async () => {
    const tied = join(dirname(file), "tied.gguf");
    writeModelGguf(tied, m.config, { ...m.weights, output: m.weights.embedding }, byteVocab(m.config.vocabSize), { type: "Q4_0" });
    const client = await mapGgufClient(tied, { quantized: true });
    assert.deepEqual(client.embedding, m.weights.embedding); // the decoded Q4_0 table (writing it again as Q4_0 is exact)
    assert.ok(!(client.output instanceof Float32Array) && client.output.kind === "blocks" && client.output.m.bits === 4);
    assert.deepEqual(nbits(buildHeadGraph(m.config, client.outputNorm, client.output, { quantized: true })), [4]);
  });
});
