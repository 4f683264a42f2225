// Hugging Face checkpoints: F16/BF16 tensors, tied heads, and the errors for a missing
// config, an unsupported model type, a truncated file and a missing tensor.
import { describe, it, before } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadModel, type LoadedModel } from "../../../node/model/load.ts";
import { writeHfCheckpoint } from "../../../node/model/hf-export.ts";
import { floatToHalf } from "../../../node/model/dtypes.ts";
import type { SpmTokenizer } from "../../../node/model/tokenizer/spm.ts";
import { STORIES_260K } from "../../helpers/models.ts";

async function rejects(path: string, name: string, message: RegExp) {
  await assert.rejects(loadModel(path), (err: Error) => {
    assert.equal(err.name, name);
    assert.match(err.message, message);
    return true;
  });
}

/** Rewrites one tensor of a checkpoint's single safetensors file in another dtype. */
function retype(file: string, tensor: string, dtype: "F16" | "BF16") {
  const buf = readFileSync(file);
  const n = Number(buf.readBigUInt64LE(0));
  const header = JSON.parse(buf.subarray(8, 8 + n).toString());
  const body = buf.subarray(8 + n);
  const parts: Buffer[] = [];
  let offset = 0;
  for (const [name, t] of Object.entries(header) as [string, { dtype: string; data_offsets: [number, number] }][]) {
    if (name === "__metadata__") continue;
    let data = body.subarray(t.data_offsets[0], t.data_offsets[1]);
    if (name === tensor) {
      const f = new Float32Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.length));
      const out = Buffer.alloc(f.length * 2);
      const u = new Uint32Array(f.buffer);
      for (let i = 0; i < f.length; i++) out.writeUInt16LE(dtype === "F16" ? floatToHalf(f[i]) : u[i] >>> 16, 2 * i);
      data = out;
      t.dtype = dtype;
    }
    t.data_offsets = [offset, offset + data.length];
    offset += data.length;
    parts.push(data);
  }
  const json = Buffer.from(JSON.stringify(header));
  const head = Buffer.alloc(8);
  head.writeBigUInt64LE(BigInt(json.length));
  writeFileSync(file, Buffer.concat([head, json, ...parts]));
}

describe("safetensors loader", () => {
  let ref: LoadedModel;
  let dir: string;
  before(async () => {
    ref = await loadModel(STORIES_260K);
  });
  const fresh = () => {
    dir = mkdtempSync(join(tmpdir(), "efed-st-"));
    writeHfCheckpoint(dir, ref.config, ref.weights, (ref.tokenizer as SpmTokenizer).vocab);
    return dir;
  };

  it("reads F16 and BF16 tensors", async () => {
    fresh();
    retype(join(dir, "model.safetensors"), "model.layers.1.mlp.down_proj.weight", "F16");
    retype(join(dir, "model.safetensors"), "model.layers.2.mlp.up_proj.weight", "BF16");
    const m = await loadModel(dir);
    const close = (a: Float32Array, b: Float32Array, tol: number) => a.every((v, i) => Math.abs(v - b[i]) <= tol * Math.max(1, Math.abs(b[i])));
    assert.ok(close(m.weights.layers[1]!.w2, ref.weights.layers[1]!.w2, 1e-3));
    assert.ok(close(m.weights.layers[2]!.w3, ref.weights.layers[2]!.w3, 1e-2));
  });

  it("a missing config.json, an unsupported model type", async () => {
    fresh();
    rmSync(join(dir, "config.json"));
    await rejects(dir, "ModelFileError", /cannot read .*config\.json: ENOENT/);
    fresh();
    const cfg = JSON.parse(readFileSync(join(dir, "config.json"), "utf8"));
    writeFileSync(join(dir, "config.json"), JSON.stringify({ ...cfg, model_type: "gpt2" }));
    await rejects(dir, "ModelFormatError", /config\.json: model_type "gpt2" is not supported/);
  });

  it("a truncated file names the tensor past the end", async () => {
    fresh();
    const file = join(dir, "model.safetensors");
    truncateSync(file, readFileSync(file).length - 100);
    await rejects(dir, "ModelFormatError", /model\.safetensors: tensor lm_head\.weight ends at byte \d+ but the file has \d+ bytes/);
  });

  it("a tensor the config needs but the file lacks", async () => {
    fresh();
    const cfg = JSON.parse(readFileSync(join(dir, "config.json"), "utf8"));
    writeFileSync(join(dir, "config.json"), JSON.stringify({ ...cfg, num_hidden_layers: 6 }));
    await rejects(dir, "ModelFormatError", /missing tensor model\.layers\.5\.input_layernorm\.weight/);
  });
});
