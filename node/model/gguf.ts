// GGUF (versions 1–3) → LlamaConfig + weights + tokenizer data. The header is parsed by
// @huggingface/gguf; tensor bytes are read and decoded here (F32, F16, Q8_0, Q4_0, Q4_K, Q6_K).
import { openSync, readSync, closeSync, fstatSync } from "node:fs";
import { gguf } from "@huggingface/gguf";
import { ModelFileError, ModelFormatError } from "./errors.ts";
import { blockSize, byteSize, GGML_F32, GGML_TYPE_NAMES, toFloat32 } from "./dtypes.ts";
import { layerRange, type LayerWeights, type LlamaConfig, type LlamaWeights, type WeightSelection } from "./types.ts";

export interface GgufTensorInfo {
  readonly name: string;
  readonly shape: number[]; // ggml order: ne[0] (fastest) first
  readonly type: number;
  readonly offset: number; // absolute byte offset in the file
}

export interface GgufFile {
  readonly file: string;
  readonly version: number;
  readonly metadata: Record<string, unknown>;
  readonly tensors: Map<string, GgufTensorInfo>;
}

const SUPPORTED_ARCHS = ["llama"];

/** Parses the header and checks every tensor lies inside the file. */
export async function readGgufHeader(file: string): Promise<GgufFile> {
  let size: number;
  try {
    const fd = openSync(file, "r");
    size = fstatSync(fd).size;
    closeSync(fd);
  } catch (err) {
    throw new ModelFileError(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  let parsed: Awaited<ReturnType<typeof gguf>>;
  try {
    parsed = await gguf(file, { allowLocalFile: true });
  } catch (err) {
    const msg = (err as Error).message;
    throw new ModelFileError(`${file} is not a readable GGUF file (${msg.split("\n")[0]})`);
  }
  const metadata = parsed.metadata as unknown as Record<string, unknown>;
  const base = Number(parsed.tensorDataOffset);
  const tensors = new Map<string, GgufTensorInfo>();
  for (const t of parsed.tensorInfos) {
    const shape = t.shape.map(Number);
    const info = { name: t.name, shape, type: t.dtype as number, offset: base + Number(t.offset) };
    const n = shape.reduce((a, b) => a * b, 1);
    const bytes = byteSize(info.type, n);
    if (bytes !== undefined && info.offset + bytes > size) {
      throw new ModelFormatError(
        `${file}: tensor ${t.name} ends at byte ${info.offset + bytes} but the file has ${size} bytes (truncated?)`,
      );
    }
    tensors.set(t.name, info);
  }
  return { file, version: Number(metadata.version), metadata, tensors };
}

function key<T>(g: GgufFile, name: string, type: "number" | "string"): T {
  const v = g.metadata[name];
  if (v === undefined) throw new ModelFormatError(`${g.file}: missing metadata key ${name}`);
  const actual = typeof v === "bigint" ? "number" : typeof v;
  if (actual !== type) throw new ModelFormatError(`${g.file}: metadata key ${name} should be a ${type}, found ${typeof v}`);
  return (typeof v === "bigint" ? Number(v) : v) as T;
}

function optionalNumber(g: GgufFile, name: string, fallback: number): number {
  const v = g.metadata[name];
  return v === undefined ? fallback : Number(v);
}

export function ggufConfig(g: GgufFile): LlamaConfig {
  const arch = key<string>(g, "general.architecture", "string");
  if (!SUPPORTED_ARCHS.includes(arch)) {
    throw new ModelFormatError(`${g.file}: architecture "${arch}" is not supported (supported: ${SUPPORTED_ARCHS.join(", ")})`);
  }
  const dim = key<number>(g, `${arch}.embedding_length`, "number");
  const nHeads = key<number>(g, `${arch}.attention.head_count`, "number");
  const tokens = g.metadata["tokenizer.ggml.tokens"] as unknown[] | undefined;
  const embd = g.tensors.get("token_embd.weight");
  const vocabSize = optionalNumber(g, `${arch}.vocab_size`, tokens?.length ?? embd?.shape[1] ?? 0);
  if (vocabSize === 0) throw new ModelFormatError(`${g.file}: cannot tell the vocabulary size (no tokenizer, no token_embd.weight)`);
  return {
    dim,
    hiddenDim: key<number>(g, `${arch}.feed_forward_length`, "number"),
    nLayers: key<number>(g, `${arch}.block_count`, "number"),
    nHeads,
    nKvHeads: optionalNumber(g, `${arch}.attention.head_count_kv`, nHeads),
    headSize: dim / nHeads,
    vocabSize,
    contextLength: key<number>(g, `${arch}.context_length`, "number"),
    normEps: Math.fround(optionalNumber(g, `${arch}.attention.layer_norm_rms_epsilon`, 1e-5)),
    ropeTheta: optionalNumber(g, `${arch}.rope.freq_base`, 10000),
    // llama.cpp's converter keeps Meta's pair layout for original checkpoints and permutes
    // Hugging Face q/k weights into it, so GGUF llama files rotate pairs.
    ropeLayout: "pairs",
  };
}

/** Reads one tensor as f32, checking its shape (ggml order). */
export function readTensor(g: GgufFile, name: string, shape: number[], fd?: number): Float32Array {
  const { type, bytes, n } = readTensorBytes(g, name, shape, fd);
  // f32 is used in place: the buffer is ours alone, so no second copy at load
  return type === GGML_F32 ? new Float32Array(bytes.buffer, 0, n) : toFloat32(type, bytes, n);
}

/** Reads one tensor's bytes as stored, with its type, checking its shape (ggml order). */
export function readTensorBytes(g: GgufFile, name: string, shape: number[], fd?: number): { type: number; bytes: Uint8Array; n: number } {
  const t = g.tensors.get(name);
  if (t === undefined) throw new ModelFormatError(`${g.file}: missing tensor ${name}`);
  if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
    throw new ModelFormatError(`${g.file}: tensor ${name} has shape [${t.shape}] but the config implies [${shape}]`);
  }
  const n = shape.reduce((a, b) => a * b, 1);
  const block = blockSize(t.type);
  if (block === undefined) {
    throw new ModelFormatError(
      `${g.file}: tensor ${name} has type ${GGML_TYPE_NAMES[t.type] ?? `#${t.type}`} (supported: F32, F16, Q8_0, Q4_0, Q4_K, Q6_K)`,
    );
  }
  if (shape[0] % block !== 0) throw new ModelFormatError(`${g.file}: tensor ${name} has rows of ${shape[0]} values, not whole ${GGML_TYPE_NAMES[t.type]} blocks of ${block}`);
  const bytes = byteSize(t.type, n)!;
  const own = fd === undefined;
  const handle = fd ?? openSync(g.file, "r");
  try {
    const buf = new Uint8Array(bytes);
    const got = readSync(handle, buf, 0, bytes, t.offset);
    if (got !== bytes) throw new ModelFormatError(`${g.file}: tensor ${name} is truncated`);
    return { type: t.type, bytes: buf, n };
  } finally {
    if (own) closeSync(handle);
  }
}

/** The tensors of layer `l`, as named in GGUF files. */
const layerTensor = (l: number, n: string) => `blk.${l}.${n}.weight`;
const LAYER_TENSORS = ["attn_norm", "attn_q", "attn_k", "attn_v", "attn_output", "ffn_norm", "ffn_gate", "ffn_down", "ffn_up"];

/** Reads the selected weights; `onBytes` hears the bytes read so far and the total. */
export function ggufWeights(g: GgufFile, c: LlamaConfig, sel: WeightSelection, onBytes?: (bytes: number, total: number) => void): LlamaWeights {
  const [start, end] = layerRange(c, sel);
  const tied = !g.tensors.has("output.weight");
  const names: string[] = [];
  for (let l = start; l < end; l++) for (const n of LAYER_TENSORS) names.push(layerTensor(l, n));
  if (sel.client !== false) names.push("token_embd.weight", "output_norm.weight", ...(tied ? [] : ["output.weight"]));
  const sizeOf = (name: string) => {
    const t = g.tensors.get(name);
    return t === undefined ? 0 : (byteSize(t.type, t.shape.reduce((a, b) => a * b, 1)) ?? 0);
  };
  const total = names.reduce((a, n) => a + sizeOf(n), 0);
  let done = 0;
  const fd = openSync(g.file, "r");
  try {
    const qDim = c.nHeads * c.headSize;
    const kvDim = c.nKvHeads * c.headSize;
    const read = (name: string, shape: number[]) => {
      const w = readTensor(g, name, shape, fd);
      done += sizeOf(name);
      onBytes?.(done, total);
      return w;
    };
    const layers: (LayerWeights | undefined)[] = new Array(c.nLayers).fill(undefined);
    for (let l = start; l < end; l++) {
      const r = (n: string, shape: number[]) => read(layerTensor(l, n), shape);
      layers[l] = {
        attnNorm: r("attn_norm", [c.dim]),
        wq: r("attn_q", [c.dim, qDim]),
        wk: r("attn_k", [c.dim, kvDim]),
        wv: r("attn_v", [c.dim, kvDim]),
        wo: r("attn_output", [qDim, c.dim]),
        ffnNorm: r("ffn_norm", [c.dim]),
        w1: r("ffn_gate", [c.dim, c.hiddenDim]),
        w2: r("ffn_down", [c.hiddenDim, c.dim]),
        w3: r("ffn_up", [c.dim, c.hiddenDim]),
      };
    }
    if (sel.client === false) return { layers };
    const embedding = read("token_embd.weight", [c.dim, c.vocabSize]);
    return {
      embedding,
      layers,
      outputNorm: read("output_norm.weight", [c.dim]),
      output: tied ? embedding : read("output.weight", [c.dim, c.vocabSize]),
    };
  } finally {
    closeSync(fd);
  }
}
