// Layers left in the GGUF file (node/model/gguf-map.ts): the graph carries no weights, yet
// onnxruntime, reading them from the file, computes bit for bit what the graph built from
// loadModel's weights computes — in the thread, in a worker, and in the local graph (which
// must still see Q8_0-exact values to run them as MatMulNBits), and in the client's graphs.
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import onnxProto from "onnx-proto";
import * as ort from "onnxruntime-node";
import { localEngineOf, openLocalEngine, type LocalEngine } from "../../../node/client/local.ts";
import { mapGgufLayers } from "../../../node/model/gguf-map.ts";
import { readGgufHeader } from "../../../node/model/gguf.ts";
import { loadModel, type LoadedModel } from "../../../node/model/load.ts";
import { buildShardGraph, denseSource } from "../../../node/model/onnx/layers.ts";
import { buildFusedShardGraph } from "../../../node/model/onnx/fused-layers.ts";
import { ShardRunner } from "../../../node/model/onnx/runtime.ts";
import { WorkerShard } from "../../../node/model/onnx/worker-shard.ts";
import { PROCESS_TAG } from "../../../node/model/scratch.ts";
import { writeModelGguf } from "../../../node/model/export.ts";
import { byteVocab, writeSynthModel } from "../../../node/model/synth.ts";
import { STORIES_260K } from "../../helpers/models.ts";
import { assertSameSteps, runSteps } from "../../helpers/shard-run.ts";

const denseGraph = (m: LoadedModel, start: number, end: number, quantized = false) => {
  const norms = (l: number) => ({ attnNorm: m.weights.layers[l]!.attnNorm, ffnNorm: m.weights.layers[l]!.ffnNorm });
  return buildShardGraph(m.config, { start, end, norms, linear: denseSource(m.weights), quantized });
};

describe("layers left in the GGUF file", () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "efed-map-"));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("the graph holds no matrix, and computes what the graph of loaded weights computes, bit for bit", async () => {
    const m = await loadModel(STORIES_260K);
    const mapped = await mapGgufLayers(STORIES_260K, 1, 4);
    const graph = buildShardGraph(m.config, { start: 1, end: 4, norms: mapped.norms, linear: mapped.linear });
    const external = onnxProto.onnx.ModelProto.decode(graph).graph!.initializer!.filter((t) => t.dataLocation === onnxProto.onnx.TensorProto.DataLocation.EXTERNAL);
    assert.equal(external.length, 7 * 3);
    const dense = denseGraph(m, 1, 4);
    assert.ok(graph.length < dense.length - 0.9 * mapped.bytes, `mapped graph ${graph.length} B, dense ${dense.length} B`);
    const want = await ShardRunner.create(m.config, 1, 4, dense, "cpu");
    const inThread = await ShardRunner.create(m.config, 1, 4, graph, "cpu", mapped.externalDir);
    const worker = await WorkerShard.create(m.config, 1, 4, Uint8Array.from(graph), "cpu", 1, 1, mapped.externalDir);
    try {
      const expected = await runSteps(want);
      assert.deepEqual(await runSteps(inThread), expected);
      assert.deepEqual(await runSteps(worker), expected);
    } finally {
      await Promise.all([want.release(), inThread.release(), worker.release()]);
    }
  });

  it("Q8_0 matrices are read, and the local graph is the one loadModel's weights give", async () => {
    const file = join(dir, "q8.gguf");
    writeSynthModel(file, { dim: 64, layers: 2, heads: 4, kvHeads: 2, ffn: 128, vocab: 300, seed: 5, type: "Q8_0" });
    const m = await loadModel(file);
    for (const quantized of [false, true]) {
      const mapped = await mapGgufLayers(file, 0, 2, { quantized });
      assert.deepEqual(buildShardGraph(m.config, { start: 0, end: 2, norms: mapped.norms, linear: mapped.linear, quantized }), denseGraph(m, 0, 2, quantized));
    }
  });

  it("an f32 file of Q8_0-exact values is read for the local graph (MatMulNBits), mapped for the swarm's", async () => {
    const q8 = join(dir, "q8.gguf");
    const f32 = join(dir, "f32-of-q8.gguf");
    writeSynthModel(q8, { dim: 64, layers: 1, heads: 4, kvHeads: 2, ffn: 128, vocab: 300, seed: 6, type: "Q8_0" });
    const m = await loadModel(q8);
    writeModelGguf(f32, m.config, m.weights, byteVocab(m.config.vocabSize), { type: "F32", version: 3 });
    const local = await mapGgufLayers(f32, 0, 1, { quantized: true });
    const swarm = await mapGgufLayers(f32, 0, 1);
    assert.equal(local.linear(0, "w1").kind, "dense");
    assert.equal(swarm.linear(0, "w1").kind, "mapped");
  });

  const engineCases = [
    ["F32", ""],
    ["Q8_0", " (Q8_0: matrices laid out for MatMulNBits in a scratch file onnxruntime maps, embedding and head taken as stored)"],
    ["F16", " (F16: matrices decoded to a scratch file onnxruntime maps, gone once the sessions are open)"],
  ] as const;
  for (const [type, what] of engineCases) it(`a local engine opened on the file (weights left there) gives the logits of one over loaded weights${what}`, async () => {
    const file = type === "F32" ? STORIES_260K : join(dir, `engine-${type}.gguf`);
    if (type === "Q8_0") writeSynthModel(file, { dim: 64, layers: 2, heads: 4, kvHeads: 2, ffn: 128, vocab: 512, seed: 9, type });
    if (type === "F16") writeSynthModel(file, { dim: 64, layers: 2, heads: 4, kvHeads: 2, ffn: 128, vocab: 512, seed: 9, type });
    const logits = async (e: LocalEngine) => {
      const ids = [1, 403, 9, 77];
      const x = await e.client.embedding.run(new ort.Tensor("int64", BigInt64Array.from(ids.map(BigInt)), [1, ids.length]));
      const h = await e.session().step(Float32Array.from(x.data as Float32Array), ids.length);
      return Float32Array.from((await e.client.head.run(new ort.Tensor("float32", h, [1, ids.length, e.model.config.dim]))).data as Float32Array);
    };
    const loaded = await localEngineOf(await loadModel(file), { shards: 2 });
    const want = await logits(loaded);
    await loaded.close();
    // the temporary folder (os.tmpdir() reads TMPDIR): one of its own, then one that cannot be
    // written, where the decoded values go in the graph and a line says why
    const saved = process.env.TMPDIR;
    const tmp = mkdtempSync(join(tmpdir(), "efed-engine-tmp-"));
    try {
      for (const where of [tmp, join(tmp, "missing")]) {
        process.env.TMPDIR = where;
        const said: string[] = [];
        const mapped = await openLocalEngine(file, { shards: 2, say: (l) => said.push(l) });
        try {
          assert.equal(mapped.model.weights.embedding, undefined);
          assert.deepEqual(await logits(mapped), want);
          assert.deepEqual(readdirSync(tmp).filter((e) => e.startsWith("efed-decoded-")), [], "no scratch folder once the sessions are open");
          const fellBack = said.filter((l) => /could not write the decoded layers to .*missing .*they go in the graph instead/.test(l));
          assert.equal(fellBack.length, type !== "F32" && where !== tmp ? 1 : 0, said.join("\n"));
        } finally {
          await mapped.close();
        }
      }
    } finally {
      if (saved === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = saved;
      rmSync(tmp, { recursive: true, force: true });
    }
  });

  it("a server's Q8_0 layers are decoded to a scratch file onnxruntime maps: the graph holds no matrix, computes bit for bit what the graph of loaded weights computes, and the file goes with release", async () => {
    const file = join(dir, "scratch-q8.gguf");
    writeSynthModel(file, { dim: 128, layers: 2, heads: 4, kvHeads: 2, ffn: 256, vocab: 300, seed: 7, type: "Q8_0" });
    const m = await loadModel(file);
    const parent = mkdtempSync(join(tmpdir(), "efed-scratch-parent-"));
    // what a server that died left, and what a running one (this process) holds
    // a folder of a process of this host and pid namespace that is gone (pid 2^22 + 1 is
    // above Linux's limit), one an earlier version left (a bare pid), and one of another host
    // or namespace (a container sharing the folder), kept
    const [where] = PROCESS_TAG.split(".");
    const dead = join(parent, `efed-decoded-${where}.${2 ** 22 + 1}-abcdef`);
    const legacy = join(parent, `efed-decoded-${2 ** 22 + 1}-abcdef`);
    const foreign = join(parent, `efed-decoded-${where === "00000000" ? "11111111" : "00000000"}.${2 ** 22 + 1}-abcdef`);
    for (const d of [dead, legacy, foreign]) mkdirSync(d);
    const mapped = await mapGgufLayers(file, 0, 2, { scratch: parent });
    try {
      assert.ok(!existsSync(dead) && !existsSync(legacy), "a dead process's scratch folder is removed");
      assert.ok(existsSync(foreign), "another pid namespace's scratch folder is left");
      rmSync(foreign, { recursive: true });
      assert.ok(mapped.externalDir.endsWith(`efed-decoded-${PROCESS_TAG}-${mapped.externalDir.slice(-6)}`), mapped.externalDir);
      for (let l = 0; l < 2; l++) for (const k of ["wq", "wk", "wv", "wo", "w1", "w2", "w3"] as const) assert.deepEqual({ ...mapped.linear(l, k), offset: 0 }, { kind: "mapped", location: "decoded.f32", offset: 0 });
      for (const build of [buildShardGraph, buildFusedShardGraph]) {
        const graph = build(m.config, { start: 0, end: 2, norms: mapped.norms, linear: mapped.linear });
        const dense = build(m.config, { start: 0, end: 2, norms: (l) => ({ attnNorm: m.weights.layers[l]!.attnNorm, ffnNorm: m.weights.layers[l]!.ffnNorm }), linear: denseSource(m.weights) });
        assert.ok(graph.length < dense.length / 4, `scratch-mapped graph ${graph.length} B, dense ${dense.length} B`);
        const want = await ShardRunner.create(m.config, 0, 2, dense, "cpu");
        await assertSameSteps(await WorkerShard.create(m.config, 0, 2, Uint8Array.from(graph), "cpu", 1, 1, mapped.externalDir), want);
      }
    } finally {
      mapped.release();
    }
    assert.deepEqual(readdirSync(parent), [], "release removes the scratch folder");
    // an f32 file has nothing to decode: mapped from the model file itself, no folder made
    const f32 = await mapGgufLayers(STORIES_260K, 0, 2, { scratch: parent });
    assert.equal(f32.externalDir, dirname(STORIES_260K));
    assert.deepEqual(readdirSync(parent), []);
    rmSync(parent, { recursive: true });
  });

  for (const type of ["Q8_0", "Q4_K_M"] as const) it(`a local (quantized) graph's blocks go to the scratch file in MatMulNBits' form, f32 matrices copied beside them: the graph holds none, and computes bit for bit what the graph that holds them computes (${type})`, async () => {
    const file = join(dir, `scratch-blocks-${type}.gguf`);
    // Q4_K_M: Q4_K and Q6_K blocks, and ffn_down in f32 (rows of 640 values are not whole
    // blocks of 256)
    writeSynthModel(file, { dim: 256, layers: 2, heads: 4, kvHeads: 2, ffn: type === "Q8_0" ? 512 : 640, vocab: 300, seed: 7, type });
    const parent = mkdtempSync(join(tmpdir(), "efed-scratch-blocks-"));
    const mapped = await mapGgufLayers(file, 0, 2, { quantized: true, scratch: parent });
    try {
      const kinds = ["wq", "wk", "wv", "wo", "w1", "w2", "w3"].map((k) => mapped.linear(1, k as "wq").kind);
      assert.deepEqual(kinds, type === "Q8_0" ? Array(7).fill("mappedBlocks") : ["mappedBlocks", "mappedBlocks", "mappedBlocks", "mappedBlocks", "mappedBlocks", "mapped", "mappedBlocks"]);
      const inGraph = await mapGgufLayers(file, 0, 2, { quantized: true });
      const graph = buildFusedShardGraph(inGraph.config, { start: 0, end: 2, norms: mapped.norms, linear: mapped.linear, quantized: true });
      const held = buildFusedShardGraph(inGraph.config, { start: 0, end: 2, norms: inGraph.norms, linear: inGraph.linear, quantized: true });
      // every MatMulNBits weight, scale and offset is external data in one, raw bytes in the other
      const blockInits = (g: Uint8Array) => onnxProto.onnx.ModelProto.decode(g).graph!.initializer!.filter((t) => /\.(q4|q8|scales|offsets)$/.test(t.name!));
      const external = onnxProto.onnx.TensorProto.DataLocation.EXTERNAL;
      assert.equal(blockInits(graph).length, blockInits(held).length);
      assert.ok(blockInits(graph).length >= (type === "Q8_0" ? 2 * 14 : 2 * 12 + 8), `${blockInits(graph).length} block initializers`);
      assert.ok(blockInits(graph).every((t) => t.dataLocation === external && (t.rawData?.length ?? 0) === 0));
      assert.ok(blockInits(held).every((t) => t.dataLocation !== external && t.rawData!.length > 0));
      const want = await ShardRunner.create(inGraph.config, 0, 2, held, "cpu", inGraph.externalDir);
      await assertSameSteps(await ShardRunner.create(inGraph.config, 0, 2, graph, "cpu", mapped.externalDir), want);
    } finally {
      mapped.release();
      rmSync(parent, { recursive: true, force: true });
    }
  });

  it("a malformed layer tensor met while writing the scratch file is said as it is, not as the folder's fault, and the folder goes", async () => {
    const file = join(dir, "scratch-bad.gguf");
    writeSynthModel(file, { dim: 256, layers: 2, heads: 4, kvHeads: 2, ffn: 512, vocab: 300, seed: 7, type: "Q8_0" });
    const header = await readGgufHeader(file);
    const tensors = new Map(header.tensors);
    const t = tensors.get("blk.1.ffn_up.weight")!;
    tensors.set(t.name, { ...t, shape: [t.shape[0], t.shape[1] + 32] });
    const parent = mkdtempSync(join(tmpdir(), "efed-scratch-bad-"));
    const said: string[] = [];
    try {
      await assert.rejects(mapGgufLayers(file, 0, 2, { quantized: true, scratch: parent, header: { ...header, tensors }, say: (l) => said.push(l) }), { name: "ModelFormatError", message: /ffn_up\.weight has shape \[256,544\] but the config implies \[256,512\]/ });
      assert.deepEqual(said, []);
      assert.deepEqual(readdirSync(parent), [], "no scratch folder left");
    } finally {
      rmSync(parent, { recursive: true, force: true });
    }
  });

  it("layers outside the model are one clear error", async () => {
    await assert.rejects(mapGgufLayers(STORIES_260K, 3, 9), { name: "ModelFormatError", message: /layers 3-9 are outside the model's 5 layers/ });
  });
});
