// Q8_0 weights kept quantized in the graph (node/model/quant.ts): exact Q8_0 values are
// recognised from their f32 form alone, the local graph runs them as int8 MatMulNBits and
// matches the float64 reference that rounds activations the same way, and the graphs
// servers and verifiers build stay float (int8 activations do not recompute within the
// audits' tolerance).
import { describe, it, before } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import onnxProto from "onnx-proto";
import { toFloat32, toQ8_0, GGML_Q8_0 } from "../../../node/model/dtypes.ts";
import { halfToFloat } from "../../../node/model/half.ts";
import { loadModel } from "../../../node/model/load.ts";
import { buildFusedShardGraph } from "../../../node/model/onnx/fused-layers.ts";
import * as ort from "onnxruntime-node";
import { buildEmbeddingGraph, buildHeadGraph, buildShardGraph, denseSource } from "../../../node/model/onnx/layers.ts";
import { ClientGraph, ShardRunner } from "../../../node/model/onnx/runtime.ts";
import { exactQ8_0, q8FromBlocks, blockValues } from "../../../node/model/quant.ts";
import { ReferenceModel } from "../../../node/model/reference.ts";
import { writeSynthModel } from "../../../node/model/synth.ts";
import { normal } from "../../../node/model/random.ts";
import type { LoadedModel } from "../../../node/model/types.ts";
import { checkLayers } from "../../helpers/layer-check.ts";
import { headErrors } from "../../helpers/head-check.ts";

const opTypes = (graph: Uint8Array) => onnxProto.onnx.ModelProto.decode(graph).graph!.node!.map((n) => n.opType);

describe("Q8_0 weights in the graph", () => {
  let m: LoadedModel;
  before(async () => {
    const file = join(mkdtempSync(join(tmpdir(), "efed-q8-")), "q8.gguf");
    writeSynthModel(file, { dim: 128, layers: 3, heads: 4, kvHeads: 2, ffn: 256, vocab: 300, seed: 3, type: "Q8_0" });
    m = await loadModel(file);
  });

  it("recognises Q8_0-decoded values exactly, and nothing else", () => {
    const rand = normal(7);
    const w = Float32Array.from({ length: 4 * 64 }, () => rand() * 0.05);
    const decoded = toFloat32(GGML_Q8_0, toQ8_0(w), w.length);
    const q = exactQ8_0(decoded, 4, 64)!;
    assert.ok(q !== undefined);
    assert.deepEqual(Float32Array.from(q.q, (u, i) => Math.fround((u - 128) * q.scales[i >> 5])), decoded);
    assert.equal(exactQ8_0(w, 4, 64), undefined); // plain floats
    assert.equal(exactQ8_0(decoded.subarray(0, 4 * 48), 4, 48), undefined); // rows not whole blocks
  });

  it("takes a GGUF Q8_0 tensor's blocks as stored: exactQ8_0's matrix for llama.cpp's blocks, the decoded values for any", () => {
    const rand = normal(8);
    const w = Float32Array.from({ length: 6 * 64 }, () => rand() * 0.05);
    w.fill(0, 64, 96); // a zero block
    const blocks = toQ8_0(w);
    const decoded = toFloat32(GGML_Q8_0, blocks, w.length);
    assert.deepEqual(q8FromBlocks(blocks, 6, 64), exactQ8_0(decoded, 6, 64));
    // blocks llama.cpp would not write — a negative scale, a -128, no |q| of 127 — are taken
    // as they decode (exactQ8_0 would refuse or rescale them)
    const odd = Uint8Array.from(blocks);
    const view = new DataView(odd.buffer);
    view.setUint16(0, view.getUint16(0, true) | 0x8000, true);
    view.setInt8(34 + 2 + 5, -128);
    for (let j = 0; j < 32; j++) view.setInt8(2 * 34 + 2 + j, view.getInt8(2 * 34 + 2 + j) >> 1);
    const oddDecoded = toFloat32(GGML_Q8_0, odd, w.length);
    assert.equal(exactQ8_0(oddDecoded, 6, 64), undefined);
    assert.deepEqual(blockValues(q8FromBlocks(odd, 6, 64)!), oddDecoded);
    assert.equal(q8FromBlocks(odd.subarray(0, 5 * 34), 6, 64), undefined); // too few blocks
    // random blocks, 1 to 5 of them: each value + 128, each scale the f16 one
    const noise = normal(9);
    for (let count = 1; count <= 5; count++) {
      const raw = Uint8Array.from({ length: count * 34 }, () => Math.floor((noise() * 1e6) % 256 + 256) % 256);
      const got = q8FromBlocks(raw, count, 32)!;
      const view = new DataView(raw.buffer);
      assert.deepEqual([...got.q], Array.from({ length: count * 32 }, (_, v) => ((view.getInt8(34 * (v >> 5) + 2 + (v & 31)) + 128))), `${count} block(s)`);
      assert.deepEqual([...got.scales].map(String), Array.from({ length: count }, (_, b) => String(Math.fround(halfToFloat(view.getUint16(34 * b, true))))));
    }
    // an odd number of blocks (two at a time, the last alone), and a start off a 4-byte boundary
    const three = toQ8_0(w.subarray(0, 96));
    assert.deepEqual(q8FromBlocks(three, 3, 32), exactQ8_0(toFloat32(GGML_Q8_0, three, 96), 3, 32));
    const shifted = new Uint8Array(three.length + 2);
    shifted.set(three, 2);
    assert.equal(q8FromBlocks(shifted.subarray(2), 3, 32), undefined);
  });

  it("a Q8_0 embedding gathered as int8 (GatherBlockQuantized) gives exactly the rows of the decoded table", async () => {
    const c = m.config;
    const table = toQ8_0(m.weights.embedding!); // loadModel's embedding is the file's Q8_0 blocks, decoded
    const q8 = q8FromBlocks(table, c.vocabSize, c.dim)!;
    const int8 = buildEmbeddingGraph(c, { kind: "blocks", m: q8 });
    assert.ok(opTypes(int8).includes("GatherBlockQuantized") && !opTypes(int8).includes("Gather"), String(opTypes(int8)));
    const [a, b] = await Promise.all([ClientGraph.create(int8, "cpu"), ClientGraph.create(buildEmbeddingGraph(c, m.weights.embedding!), "cpu")]);
    const ids = new ort.Tensor("int64", BigInt64Array.from([0, 1, 17, 150, c.vocabSize - 1].map(BigInt)), [1, 5]);
    const got = (await a.run(ids)).data as Float32Array;
    assert.deepEqual(got, (await b.run(ids)).data as Float32Array);
    assert.ok(got.some((v) => v !== 0));
    await Promise.all([a.release(), b.release()]);
  });

  it("the local graph runs every matrix as int8 MatMulNBits; the swarm's graph stays float", () => {
    const c = m.config;
    const norms = (l: number) => ({ attnNorm: m.weights.layers[l]!.attnNorm, ffnNorm: m.weights.layers[l]!.ffnNorm });
    const local = opTypes(buildShardGraph(c, { start: 0, end: 3, norms, linear: denseSource(m.weights), quantized: true }));
    const swarm = opTypes(buildShardGraph(c, { start: 0, end: 3, norms, linear: denseSource(m.weights) }));
    assert.equal(local.filter((t) => t === "MatMulNBits").length, 7 * 3);
    assert.equal(swarm.filter((t) => t === "MatMulNBits").length, 0);
  });

  for (const [graph, build] of [["plain", buildShardGraph], ["fused", buildFusedShardGraph]] as const) it(`matches the float64 reference with int8 activations, prefill and single steps (${graph} graph)`, async () => {
    const c = m.config;
    const norms = (l: number) => ({ attnNorm: m.weights.layers[l]!.attnNorm, ffnNorm: m.weights.layers[l]!.ffnNorm });
    const shards = await Promise.all([0, 1, 2].map((l) => ShardRunner.create(c, l, l + 1, build(c, { start: l, end: l + 1, norms, linear: denseSource(m.weights), quantized: true }), "cpu")));
    const caches = shards.map((s) => s.newCache());
    const ref = new ReferenceModel(c, m.weights);
    // every layer-position's error, judged as a whole below
    const { errors: errs } = await checkLayers(c, ref, shards, caches, [[5, 9, 100, 7, 30], ...Array.from({ length: 12 }, (_, i) => [(i * 37) % 300])], Infinity);
    await Promise.all(shards.map((s) => s.release()));
    // Where f32 rounding puts an activation on the other side of an int8 rounding boundary,
    // one layer-position moves by ~1e-3 (seen here: 1 in ~50); everywhere else the graph is
    // the reference to float precision. Without int8 activations in the reference, every
    // layer-position is off by 5e-3 or more.
    const close = errs.filter((e) => e < 1e-5).length;
    assert.ok(close >= 0.9 * errs.length, `only ${close} of ${errs.length} layer-positions within 1e-5: ${errs.map((e) => e.toExponential(1))}`);
    assert.ok(Math.max(...errs) < 1e-2, `largest relative error ${Math.max(...errs)}`);
  });

  it("the local head runs a Q8_0 output matrix as int8 MatMulNBits and matches the reference with int8 activations", async () => {
    const c = m.config;
    const w = m.weights;
    const local = buildHeadGraph(c, w.outputNorm!, w.output!, { quantized: true });
    assert.deepEqual(opTypes(local).filter((t) => t === "MatMulNBits").length, 1);
    assert.equal(opTypes(buildHeadGraph(c, w.outputNorm!, w.output!)).filter((t) => t === "MatMulNBits").length, 0); // the swarm client's head
    const { int8: errs, float: plain } = await headErrors(c, m.weights, local, 11);
    assert.ok(Math.max(...errs) < 1e-5, `relative errors ${errs}`);
    // the int8 path is taken: against float activations the logits are off by far more
    assert.ok(Math.min(...plain) > 1e-4, `relative errors against float activations ${plain}`);
  });
});
