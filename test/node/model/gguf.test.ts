// GGUF loading: versions 1–3, F32/F16/Q8_0/Q4_0, layer selection, and the errors a user sees
// for a truncated file, an unknown dtype, a missing tensor or key, an unsupported architecture.
import { describe, it, before } from "node:test";
import assert from "node:assert/strict";
import { copyFileSync, mkdtempSync, readFileSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadModel, type LoadedModel } from "../../../node/model/load.ts";
import { writeModelGguf } from "../../../node/model/export.ts";
import { writeGguf } from "../../../node/model/gguf-writer.ts";
import type { SpmTokenizer } from "../../../node/model/tokenizer/spm.ts";
import { STORIES_260K } from "../../helpers/models.ts";
import { relErr } from "../../helpers/numeric.ts";

const dir = mkdtempSync(join(tmpdir(), "efed-gguf-"));


async function rejects(file: string, name: string, message: RegExp) {
  await assert.rejects(loadModel(file), (err: Error) => {
    assert.equal(err.name, name);
    assert.match(err.message, message);
    return true;
  });
}

describe("GGUF loader", () => {
  let ref: LoadedModel;
  before(async () => {
    ref = await loadModel(STORIES_260K);
  });

  it("reads stories260K (GGUF v1) with the hyperparameters of its README", () => {
    assert.deepEqual(
      { ...ref.config },
      {
        dim: 64, hiddenDim: 172, nLayers: 5, nHeads: 8, nKvHeads: 4, headSize: 8, vocabSize: 512, contextLength: 512,
        normEps: Math.fround(1e-5), ropeTheta: 10000, ropeLayout: "pairs",
      },
    );
    assert.notEqual(ref.weights.output, ref.weights.embedding); // its own output head
    assert.equal(ref.tokenizer.bos, 1);
    assert.equal(ref.tokenizer.eos, 2);
  });

  for (const version of [2, 3] as const) {
    it(`reads the same weights from GGUF v${version}`, async () => {
      const file = join(dir, `v${version}.gguf`);
      writeModelGguf(file, ref.config, ref.weights, (ref.tokenizer as SpmTokenizer).vocab, { version });
      const m = await loadModel(file);
      assert.deepEqual(m.config, ref.config);
      assert.deepEqual(m.weights.layers[3]!.w2, ref.weights.layers[3]!.w2);
      assert.deepEqual(m.weights.output, ref.weights.output);
    });
  }

  it("decodes F16, Q8_0 and Q4_0 tensors within their precision; a matrix whose rows are not whole blocks is written as F32", async () => {
    for (const [type, bound] of [["F16", 1e-3], ["Q8_0", 1e-2], ["Q4_0", 0.2]] as const) {
      const file = join(dir, `${type}.gguf`);
      writeModelGguf(file, ref.config, ref.weights, (ref.tokenizer as SpmTokenizer).vocab, { type });
      const m = await loadModel(file);
      for (const name of ["wq", "w1", "w3"] as const) {
        const err = relErr(m.weights.layers[1]![name], ref.weights.layers[1]![name]);
        assert.ok(err < bound && err > 0, `${type} ${name}: relative error ${err}`);
      }
      // ffn_down's rows (172 values) are not whole blocks of 32: written as F32, as llama.cpp would
      if (type !== "F16") assert.deepEqual(m.weights.layers[1]!.w2, ref.weights.layers[1]!.w2);
    }
  });

  it("loads only the selected layers (a server) or only embedding and head (a client)", async () => {
    const server = await loadModel(STORIES_260K, { layers: [2, 4], client: false });
    assert.deepEqual(server.weights.layers.map((l) => l !== undefined), [false, false, true, true, false]);
    assert.equal(server.weights.embedding, undefined);
    const client = await loadModel(STORIES_260K, { layers: [0, 0], client: true });
    assert.ok(client.weights.layers.every((l) => l === undefined));
    assert.ok(client.weights.embedding !== undefined && client.weights.output !== undefined);
    await assert.rejects(loadModel(STORIES_260K, { layers: [3, 9] }), /layers 3-9 are outside the model's 5 layers/);
  });

  it("a missing file: ModelFileError naming the file", async () => {
    await rejects(join(dir, "nope.gguf"), "ModelFileError", /cannot read .*nope\.gguf: ENOENT/);
  });

  it("not a GGUF file: ModelFileError", async () => {
    const file = join(dir, "text.gguf");
    writeFileSync(file, "hello, not a model");
    await rejects(file, "ModelFileError", /text\.gguf is not a readable GGUF file/);
  });

  it("a truncated file: names the tensor that runs past the end", async () => {
    const file = join(dir, "cut.gguf");
    copyFileSync(STORIES_260K, file);
    truncateSync(file, readFileSync(STORIES_260K).length - 1000);
    await rejects(file, "ModelFormatError", /cut\.gguf: tensor output\.weight ends at byte \d+ but the file has \d+ bytes \(truncated\?\)/);
  });

  it("an unknown dtype, a missing tensor, a missing key, an unsupported architecture", async () => {
    const meta = (arch: string, withDim = true) =>
      [
        ["general.architecture", { type: "string", value: arch }],
        ...(withDim ? [[`${arch}.embedding_length`, { type: "u32", value: 32 }]] : []),
        [`${arch}.attention.head_count`, { type: "u32", value: 4 }],
        [`${arch}.feed_forward_length`, { type: "u32", value: 32 }],
        [`${arch}.block_count`, { type: "u32", value: 1 }],
        [`${arch}.context_length`, { type: "u32", value: 16 }],
        ["tokenizer.ggml.model", { type: "string", value: "llama" }],
        ["tokenizer.ggml.tokens", { type: "string[]", value: ["<unk>", "<s>", "</s>", "a"] }],
        ["tokenizer.ggml.scores", { type: "f32[]", value: [0, 0, 0, 0] }],
      ] as Parameters<typeof writeGguf>[2];
    const q41 = { name: "blk.0.attn_norm.weight", shape: [32], type: 3, data: new Uint8Array(20) }; // one Q4_1 block
    const f32 = (name: string, shape: number[]) => ({ name, shape, type: 0, data: new Uint8Array(4 * shape.reduce((a, b) => a * b, 1)) });

    let file = join(dir, "q4_1.gguf");
    writeGguf(file, 3, meta("llama"), [q41]);
    await rejects(file, "ModelFormatError", /q4_1\.gguf: tensor blk\.0\.attn_norm\.weight has type Q4_1 \(supported: F32, F16, Q8_0, Q4_0, Q4_K, Q6_K\)/);

    file = join(dir, "missing-tensor.gguf");
    writeGguf(file, 3, meta("llama"), [f32("token_embd.weight", [32, 4])]);
    await rejects(file, "ModelFormatError", /missing-tensor\.gguf: missing tensor blk\.0\.attn_norm\.weight/);

    file = join(dir, "missing-key.gguf");
    writeGguf(file, 3, meta("llama", false), []);
    await rejects(file, "ModelFormatError", /missing-key\.gguf: missing metadata key llama\.embedding_length/);

    file = join(dir, "gpt2.gguf");
    writeGguf(file, 3, meta("gpt2"), []);
    await rejects(file, "ModelFormatError", /gpt2\.gguf: architecture "gpt2" is not supported \(supported: llama\)/);
  });
});
