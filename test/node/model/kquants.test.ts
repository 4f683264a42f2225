// K-quants (node/model/kquants.ts): Q4_K and Q6_K blocks decode as llama.cpp's
// dequantize_row_q4_K / _q6_K do — checked on blocks whose bytes are written out here by
// hand from the format (not by our encoder), so a misread scale or nibble shows — and the
// encoders write blocks that decode close to their input; a file of them loads, and a
// tensor whose rows are not whole blocks is refused.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { GGML_Q4_K, GGML_Q6_K, toFloat32 } from "../../../node/model/dtypes.ts";
import { decodeQ4_K, decodeQ6_K, q4kToBlocks, q6kToBlocks, toQ4_K, toQ6_K } from "../../../node/model/kquants.ts";
import { blockValues } from "../../../node/model/quant.ts";
import { mapGgufClient, mapGgufLayers } from "../../../node/model/gguf-map.ts";
import { openLocalEngine } from "../../../node/client/local.ts";
import * as ort from "onnxruntime-node";
import { buildHeadGraph } from "../../../node/model/onnx/layers.ts";
import { LAYER_MATRICES } from "../../../node/model/types.ts";
import { headErrors } from "../../helpers/head-check.ts";
import { writeGguf } from "../../../node/model/gguf-writer.ts";
import { loadModel } from "../../../node/model/load.ts";
import { normal } from "../../../node/model/random.ts";
import { writeSynthModel } from "../../../node/model/synth.ts";
import { relErr } from "../../helpers/numeric.ts";

const f = Math.fround;

describe("K-quants", () => {
  it("decodes a Q4_K block written by hand: 6-bit scales and mins of 8 sub-blocks, nibbles low half first", () => {
    const sc = [33, 2, 47, 4, 33, 34, 35, 63];
    const m = [37, 6, 7, 60, 40, 41, 42, 63];
    const block = new Uint8Array(144);
    block.set([0x00, 0x3c, 0x00, 0x38]); // d = 1, dmin = 0.5 (f16)
    // sub-blocks 0–3 in the low 6 bits of bytes 0–3 (scales) and 4–7 (mins); 4–7 in the
    // nibbles of bytes 8–11, their top 2 bits in the top bits of bytes 0–7
    block.set([161, 130, 175, 196, 165, 134, 135, 252, 129, 146, 163, 255], 4);
    for (let k = 0; k < 128; k++) block[16 + k] = (k % 16) | ((15 - (k % 16)) << 4);
    const got = decodeQ4_K(block, 256);
    for (let i = 0; i < 256; i++) {
      const [c, r, j] = [i >> 6, i & 63, i >> 5];
      const q = r < 32 ? (32 * c + r) % 16 : 15 - ((32 * c + r - 32) % 16);
      assert.equal(got[i], f(f(1 * sc[j]) * q) - f(0.5 * m[j]), `value ${i}`);
    }
    assert.deepEqual(toFloat32(GGML_Q4_K, block, 256), got);
    // in 4-bit MatMulNBits' form: sub-blocks of 32 with a scale and an offset each, the same
    // values (exactly here, where every scale and min is a whole number of halves)
    const q = q4kToBlocks(block, 1, 256)!;
    assert.deepEqual([q.bits, q.block, q.scales.length, q.offsets?.length], [4, 32, 8, 8]);
    assert.deepEqual(blockValues(q), got);
    assert.deepEqual([...q.offsets!], sc.map((s, j) => 8 * s - 0.5 * m[j]));
  });

  it("decodes a Q6_K block written by hand: low nibbles, 2-bit high parts, an int8 scale per 16 values", () => {
    const block = new Uint8Array(210);
    block.fill(0x21, 0, 128); // ql: low nibble 1, high nibble 2
    block.fill(0xe4, 128, 192); // qh: 2-bit fields 0, 1, 2, 3
    for (let k = 0; k < 16; k++) block[192 + k] = (k % 2 === 0 ? k + 1 : -(k + 1)) & 0xff; // scales ±(k + 1)
    block.set([0x00, 0x34], 208); // d = 0.25
    const got = decodeQ6_K(block, 256);
    const qs = [(1 | (0 << 4)) - 32, (1 | (1 << 4)) - 32, (2 | (2 << 4)) - 32, (2 | (3 << 4)) - 32];
    for (let i = 0; i < 256; i++) {
      const [h, r] = [i >> 7, i & 127];
      const [g, l] = [r >> 5, r & 31];
      const k = 8 * h + (l >> 4) + 2 * g;
      const scale = k % 2 === 0 ? k + 1 : -(k + 1);
      assert.equal(got[i], f(0.25 * scale) * qs[g], `value ${i}`);
    }
    assert.deepEqual(toFloat32(GGML_Q6_K, block, 256), got);
    // in 8-bit MatMulNBits' form, blocks of 16: the same values
    const m = q6kToBlocks(block, 1, 256)!;
    assert.equal(m.block, 16);
    assert.deepEqual(blockValues(m), got);
  });

  it("Q4_K and Q6_K in MatMulNBits' form: the bytes a plain value-by-value rewrite gives, on random blocks", () => {
    const rand = normal(31);
    const bytesOf = (n: number) => Uint8Array.from({ length: n }, () => Math.floor((rand() * 1e6) % 256 + 256) % 256);
    const same = (a: ArrayBufferView, b: ArrayBufferView) => Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.byteLength), Buffer.from(b.buffer, b.byteOffset, b.byteLength)) === 0;
    for (const blocks of [1, 2, 3, 5]) {
      // Q4_K: sub-block 2c's values in the low nibbles of the c-th 32 bytes, 2c + 1's in the
      // high ones; MatMulNBits: values 2k, 2k + 1 of a block of 32 in byte k, low nibble first
      const k4 = bytesOf(blocks * 144);
      const q4 = q4kToBlocks(k4, 1, blocks * 256)!;
      const want4 = new Uint8Array(blocks * 128);
      for (let b = 0; b < blocks; b++) {
        for (let v = 0; v < 256; v++) {
          const [sub, l] = [v >> 5, v & 31];
          const nibble = (k4[b * 144 + 16 + 32 * (sub >> 1) + l] >> (4 * (sub & 1))) & 0xf;
          want4[b * 128 + (v >> 1)] |= nibble << (4 * (v & 1));
        }
      }
      assert.ok(same(q4.q, want4), `Q4_K, ${blocks} block(s)`);
      // Q6_K: value 128h + 32g + l has ql's nibble (low for g < 2) and qh's 2 bits g; + 96
      const k6 = bytesOf(blocks * 210 + 2);
      for (const start of [0, 2]) {
        const src = k6.subarray(start, start + blocks * 210);
        const q6 = q6kToBlocks(src, 1, blocks * 256)!;
        const want6 = new Uint8Array(blocks * 256);
        for (let b = 0; b < blocks; b++) {
          for (let v = 0; v < 256; v++) {
            const [h, g, l] = [v >> 7, (v >> 5) & 3, v & 31];
            const low = (src[b * 210 + 64 * h + l + 32 * (g & 1)] >> (4 * (g >> 1))) & 0xf;
            const high = (src[b * 210 + 128 + 32 * h + l] >> (2 * g)) & 3;
            want6[b * 256 + v] = (low | (high << 4)) + 96;
          }
        }
        assert.ok(same(q6.q, want6), `Q6_K, ${blocks} block(s) from byte ${start}`);
      }
    }
  });

  it("encodes blocks that decode close to their input", () => {
    const rand = normal(21);
    const x = Float32Array.from({ length: 4 * 256 }, () => rand() * 0.05);
    x.fill(0, 256, 512); // a zero block
    const q4 = decodeQ4_K(toQ4_K(x), x.length);
    const q6 = decodeQ6_K(toQ6_K(x), x.length);
    assert.ok(q4.subarray(256, 512).every((v) => v === 0) && q6.subarray(256, 512).every((v) => v === 0));
    assert.ok(relErr(q4, x) < 0.1 && relErr(q4, x) > 0.01, `Q4_K ${relErr(q4, x)}`);
    assert.ok(relErr(q6, x) < 0.03 && relErr(q6, x) > 0.001, `Q6_K ${relErr(q6, x)}`);
    assert.throws(() => toQ4_K(x.subarray(0, 300)), /multiple of 256/);
    // in MatMulNBits' form, the decoded values to within the f32 rounding of an offset
    const blocks = q4kToBlocks(toQ4_K(x), 4, 256)!;
    assert.ok(relErr(blockValues(blocks), q4) < 1e-7, `${relErr(blockValues(blocks), q4)}`);
    assert.equal(q4kToBlocks(toQ4_K(x), 4, 512), undefined); // the wrong size
    const shifted = new Uint8Array(4 * 144 + 2);
    shifted.set(toQ4_K(x), 2);
    assert.equal(q4kToBlocks(shifted.subarray(2), 4, 256), undefined); // off a 4-byte boundary
  });

  it("the local head runs a Q6_K output matrix as 8-bit MatMulNBits with blocks of 16, its values exactly the decoded ones", async () => {
    const file = join(mkdtempSync(join(tmpdir(), "efed-q6k-")), "q6k.gguf");
    writeSynthModel(file, { dim: 256, layers: 1, heads: 4, kvHeads: 2, ffn: 512, vocab: 300, seed: 6, type: "Q6_K" });
    const m = await loadModel(file); // decoded
    const client = await mapGgufClient(file, { quantized: true });
    assert.ok(!(client.output instanceof Float32Array) && client.output.kind === "blocks");
    const blocks = client.output.m;
    assert.deepEqual([blocks.bits, blocks.block], [8, 16]);
    assert.deepEqual(blockValues(blocks), m.weights.output);
    const graph = buildHeadGraph(m.config, client.outputNorm, client.output, { quantized: true });
    const { int8, float } = await headErrors(m.config, m.weights, graph, 17, 16);
    assert.ok(Math.max(...int8) < 1e-5, `relative errors ${int8}`);
    assert.ok(Math.min(...float) > 1e-4, `relative errors against float activations ${float}`);
    // and the layers: every matrix 8-bit, blocks of 16
    const layers = await mapGgufLayers(file, 0, 1, { quantized: true });
    assert.deepEqual(LAYER_MATRICES.map((k) => { const l = layers.linear(0, k); return l.kind === "blocks" ? l.m.block : l.kind; }), [16, 16, 16, 16, 16, 16, 16]);
  });

  it("a Q4_K_M mix runs locally: every matrix and the head as blocks (Q6_K's 8-bit, Q4_K's 4-bit with offsets), close to the all-f32 graph of the same values", async () => {
    const file = join(mkdtempSync(join(tmpdir(), "efed-q4km-")), "q4km.gguf");
    writeSynthModel(file, { dim: 256, layers: 2, heads: 4, kvHeads: 2, ffn: 512, vocab: 300, seed: 8, type: "Q4_K_M" });
    const layers = await mapGgufLayers(file, 0, 2, { quantized: true });
    // wv and w2 are Q6_K
    assert.deepEqual(LAYER_MATRICES.map((k) => { const l = layers.linear(1, k); return l.kind === "blocks" ? `${l.m.bits}${l.m.offsets === undefined ? "" : "+offsets"}` : l.kind; }), ["4+offsets", "4+offsets", "8", "4+offsets", "4+offsets", "8", "4+offsets"]);
    const logits = async (quantized: boolean) => {
      const e = await openLocalEngine(file, { quantized });
      try {
        const ids = [1, 40, 9, 77];
        const x = await e.client.embedding.run(new ort.Tensor("int64", BigInt64Array.from(ids.map(BigInt)), [1, ids.length]));
        const h = await e.session().step(Float32Array.from(x.data as Float32Array), ids.length);
        return Float32Array.from((await e.client.head.run(new ort.Tensor("float32", h, [1, ids.length, e.model.config.dim]))).data as Float32Array);
      } finally {
        await e.close();
      }
    };
    const [blocks, float] = [await logits(true), await logits(false)];
    const err = relErr(blocks, float);
    assert.ok(err > 0 && err < 0.05, `relative error ${err}: int8 activations`);
  });

  it("loads a model stored as Q4_K or Q6_K, and refuses a tensor whose rows are not whole blocks", async () => {
    const dir = mkdtempSync(join(tmpdir(), "efed-kq-"));
    const ref = join(dir, "f32.gguf");
    const shape = { dim: 256, layers: 2, heads: 4, kvHeads: 2, ffn: 512, vocab: 300, seed: 5 };
    writeSynthModel(ref, shape);
    const f32 = await loadModel(ref);
    for (const [type, bound] of [["Q4_K", 0.1], ["Q6_K", 0.03]] as const) {
      const file = join(dir, `${type}.gguf`);
      writeSynthModel(file, { ...shape, type });
      const m = await loadModel(file);
      const err = relErr(m.weights.layers[1]!.w2, f32.weights.layers[1]!.w2);
      assert.ok(err < bound && err > 0, `${type}: relative error ${err}`);
    }
    const bad = join(dir, "rows.gguf");
    const meta = [
      ["general.architecture", { type: "string", value: "llama" }],
      ["llama.embedding_length", { type: "u32", value: 128 }],
      ["llama.attention.head_count", { type: "u32", value: 4 }],
      ["llama.feed_forward_length", { type: "u32", value: 256 }],
      ["llama.block_count", { type: "u32", value: 1 }],
      ["llama.context_length", { type: "u32", value: 16 }],
      ["tokenizer.ggml.model", { type: "string", value: "llama" }],
      ["tokenizer.ggml.tokens", { type: "string[]", value: ["<unk>", "<s>", "</s>", "a"] }],
      ["tokenizer.ggml.scores", { type: "f32[]", value: [0, 0, 0, 0] }],
    ] as Parameters<typeof writeGguf>[2];
    // rows of 128 values: two rows make one Q4_K block's worth, which llama.cpp refuses
    const norm = { name: "blk.0.attn_norm.weight", shape: [128], type: 0, data: new Uint8Array(4 * 128) };
    writeGguf(bad, 3, meta, [norm, { name: "blk.0.attn_q.weight", shape: [128, 128], type: GGML_Q4_K, data: new Uint8Array(64 * 144) }]);
    await assert.rejects(loadModel(bad), (err: Error) => err.name === "ModelFormatError" && /attn_q\.weight has rows of 128 values, not whole Q4_K blocks of 256/.test(err.message));
  });
});
