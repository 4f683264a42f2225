// Hugging Face checkpoints: config.json + tokenizer.json + model.safetensors (or a sharded
// model.safetensors.index.json). Llama family; F32, F16 and BF16 tensors.
import { closeSync, existsSync, openSync, readFileSync, readSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { halfToFloat } from "./dtypes.ts";
import { ModelFileError, ModelFormatError } from "./errors.ts";
import { HfTokenizer } from "./tokenizer/hf.ts";
import { layerRange, type LayerWeights, type LlamaConfig, type LoadedModel, type WeightSelection } from "./types.ts";

interface TensorEntry {
  readonly file: string;
  readonly dtype: string;
  readonly shape: number[];
  readonly begin: number; // absolute offsets in the file
  readonly end: number;
}

const BYTES: Record<string, number> = { F32: 4, F16: 2, BF16: 2 };
/** The tensors of a layer, as named in Hugging Face Llama checkpoints (model.layers.<l>.<name>.weight). */
const LAYER_TENSORS = ["input_layernorm", "self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj", "post_attention_layernorm", "mlp.gate_proj", "mlp.down_proj", "mlp.up_proj"];

function readJson(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    throw new ModelFileError(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch (err) {
    throw new ModelFormatError(`${file} is not valid JSON: ${(err as Error).message}`);
  }
}

/** The tensor table of one .safetensors file. */
export function readSafetensorsHeader(file: string): Map<string, TensorEntry> {
  const size = statSync(file).size;
  const fd = openSync(file, "r");
  try {
    const head = Buffer.alloc(8);
    if (readSync(fd, head, 0, 8, 0) !== 8) throw new ModelFormatError(`${file}: truncated safetensors header`);
    const n = Number(head.readBigUInt64LE(0));
    if (n > 100 * 1024 * 1024 || 8 + n > size) throw new ModelFormatError(`${file}: header of ${n} bytes does not fit a ${size}-byte file`);
    const json = Buffer.alloc(n);
    readSync(fd, json, 0, n, 8);
    let header: Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
    try {
      header = JSON.parse(json.toString("utf8"));
    } catch {
      throw new ModelFormatError(`${file}: safetensors header is not valid JSON`);
    }
    const out = new Map<string, TensorEntry>();
    for (const [name, t] of Object.entries(header)) {
      if (name === "__metadata__") continue;
      const begin = 8 + n + t.data_offsets[0];
      const end = 8 + n + t.data_offsets[1];
      if (end > size) throw new ModelFormatError(`${file}: tensor ${name} ends at byte ${end} but the file has ${size} bytes (truncated?)`);
      out.set(name, { file, dtype: t.dtype, shape: t.shape, begin, end });
    }
    return out;
  } finally {
    closeSync(fd);
  }
}

function readTensor(tensors: Map<string, TensorEntry>, where: string, name: string, shape: number[]): Float32Array {
  const t = tensors.get(name);
  if (t === undefined) throw new ModelFormatError(`${where}: missing tensor ${name}`);
  if (BYTES[t.dtype] === undefined) throw new ModelFormatError(`${t.file}: tensor ${name} has dtype ${t.dtype} (supported: F32, F16, BF16)`);
  if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
    throw new ModelFormatError(`${t.file}: tensor ${name} has shape [${t.shape}] but config.json implies [${shape}]`);
  }
  const n = shape.reduce((a, b) => a * b, 1);
  if (t.end - t.begin !== n * BYTES[t.dtype]) throw new ModelFormatError(`${t.file}: tensor ${name} has ${t.end - t.begin} bytes, expected ${n * BYTES[t.dtype]}`);
  const buf = Buffer.alloc(t.end - t.begin);
  const fd = openSync(t.file, "r");
  try {
    readSync(fd, buf, 0, buf.length, t.begin);
  } finally {
    closeSync(fd);
  }
  const out = new Float32Array(n);
  if (t.dtype === "F32") for (let i = 0; i < n; i++) out[i] = buf.readFloatLE(4 * i);
  else if (t.dtype === "F16") for (let i = 0; i < n; i++) out[i] = halfToFloat(buf.readUInt16LE(2 * i));
  else {
    const u = new Uint32Array(1);
    const f = new Float32Array(u.buffer);
    for (let i = 0; i < n; i++) {
      u[0] = buf.readUInt16LE(2 * i) << 16; // bfloat16 is the top half of a float32
      out[i] = f[0];
    }
  }
  return out;
}

function hfConfig(cfg: Record<string, unknown>, file: string): LlamaConfig {
  const type = cfg.model_type as string | undefined;
  if (type !== "llama" && type !== "mistral") {
    throw new ModelFormatError(`${file}: model_type "${String(type)}" is not supported (supported: llama, mistral)`);
  }
  const need = (k: string): number => {
    const v = cfg[k];
    if (typeof v !== "number") throw new ModelFormatError(`${file}: missing number ${k}`);
    return v;
  };
  const dim = need("hidden_size");
  const nHeads = need("num_attention_heads");
  return {
    dim,
    hiddenDim: need("intermediate_size"),
    nLayers: need("num_hidden_layers"),
    nHeads,
    nKvHeads: (cfg.num_key_value_heads as number | undefined) ?? nHeads,
    headSize: (cfg.head_dim as number | undefined) ?? dim / nHeads,
    vocabSize: need("vocab_size"),
    contextLength: (cfg.max_position_embeddings as number | undefined) ?? 2048,
    normEps: Math.fround((cfg.rms_norm_eps as number | undefined) ?? 1e-6),
    ropeTheta: (cfg.rope_theta as number | undefined) ?? 10000,
    ropeLayout: "halves",
  };
}

/** `onBytes` hears the bytes of weights read so far and the total. */
export async function loadSafetensorsModel(path: string, sel: WeightSelection, onBytes?: (bytes: number, total: number) => void): Promise<LoadedModel> {
  const dir = statSync(path).isDirectory() ? path : dirname(path);
  const configFile = join(dir, "config.json");
  const cfg = readJson(configFile);
  const c = hfConfig(cfg, configFile);
  // the tensor table, from one file or from the shard index
  const tensors = new Map<string, TensorEntry>();
  const index = join(dir, "model.safetensors.index.json");
  const files = path.endsWith(".safetensors")
    ? [path]
    : existsSync(index)
      ? [...new Set(Object.values((readJson(index).weight_map ?? {}) as Record<string, string>))].map((f) => join(dir, f))
      : [join(dir, "model.safetensors")];
  for (const f of files) {
    if (!existsSync(f)) throw new ModelFileError(`cannot read ${f}: ENOENT`);
    for (const [k, v] of readSafetensorsHeader(f)) tensors.set(k, v);
  }
  const where = files.length === 1 ? files[0] : dir;
  const [start, end] = layerRange(c, sel);
  const qDim = c.nHeads * c.headSize;
  const kvDim = c.nKvHeads * c.headSize;
  const tied = cfg.tie_word_embeddings === true || !tensors.has("lm_head.weight");
  const names: string[] = [];
  for (let l = start; l < end; l++) for (const n of LAYER_TENSORS) names.push(`model.layers.${l}.${n}.weight`);
  if (sel.client !== false) names.push("model.embed_tokens.weight", "model.norm.weight", ...(tied ? [] : ["lm_head.weight"]));
  const sizeOf = (name: string) => {
    const t = tensors.get(name);
    return t === undefined ? 0 : t.end - t.begin;
  };
  const total = names.reduce((a, n) => a + sizeOf(n), 0);
  let done = 0;
  const read = (name: string, shape: number[]) => {
    const w = readTensor(tensors, where, name, shape);
    done += sizeOf(name);
    onBytes?.(done, total);
    return w;
  };
  const layers: (LayerWeights | undefined)[] = new Array(c.nLayers).fill(undefined);
  for (let l = start; l < end; l++) {
    const r = (n: string, shape: number[]) => read(`model.layers.${l}.${n}.weight`, shape);
    layers[l] = {
      attnNorm: r("input_layernorm", [c.dim]),
      wq: r("self_attn.q_proj", [qDim, c.dim]),
      wk: r("self_attn.k_proj", [kvDim, c.dim]),
      wv: r("self_attn.v_proj", [kvDim, c.dim]),
      wo: r("self_attn.o_proj", [c.dim, qDim]),
      ffnNorm: r("post_attention_layernorm", [c.dim]),
      w1: r("mlp.gate_proj", [c.hiddenDim, c.dim]),
      w2: r("mlp.down_proj", [c.dim, c.hiddenDim]),
      w3: r("mlp.up_proj", [c.hiddenDim, c.dim]),
    };
  }
  let weights: LoadedModel["weights"] = { layers };
  if (sel.client !== false) {
    const embedding = read("model.embed_tokens.weight", [c.vocabSize, c.dim]);
    weights = {
      embedding,
      layers,
      outputNorm: read("model.norm.weight", [c.dim]),
      output: tied ? embedding : read("lm_head.weight", [c.vocabSize, c.dim]),
    };
  }
  const tokFile = join(dir, "tokenizer.json");
  const tokCfgFile = join(dir, "tokenizer_config.json");
  const tokenizer = new HfTokenizer(readJson(tokFile), existsSync(tokCfgFile) ? readJson(tokCfgFile) : {}, {
    bos: (cfg.bos_token_id as number | undefined) ?? 1,
    eos: (cfg.eos_token_id as number | undefined) ?? 2,
    vocabSize: c.vocabSize,
  });
  return { file: path, format: "safetensors", config: c, weights, tokenizer };
}
