// A model's config, weights and vocabulary → GGUF, at F32, F16, Q8_0, Q4_0, Q4_K or Q6_K.
import { blockSize, floatToHalf, GGML_F16, GGML_F32, GGML_Q4_0, GGML_Q4_K, GGML_Q6_K, GGML_Q8_0, toQ4_0, toQ8_0 } from "./dtypes.ts";
import { toQ4_K, toQ6_K } from "./kquants.ts";
import { writeGguf, type GgufTensorOut, type GgufValue } from "./gguf-writer.ts";
import type { SpmVocab } from "./tokenizer/spm.ts";
import type { LlamaConfig, LlamaWeights } from "./types.ts";

export type StoredType = "F32" | "F16" | "Q8_0" | "Q4_0" | "Q4_K" | "Q6_K";

/** What the matrices are stored as: one type, or llama.cpp's Q4_K_M mix (simplified: Q6_K for
 * the output head and every attn_v and ffn_down, Q4_K for the rest). */
export type StoredMix = StoredType | "Q4_K_M";

const Q4_K_M_SIX = /^(output|blk\.\d+\.(attn_v|ffn_down))\.weight$/;

const GGML_OF: Record<StoredType, number> = { F32: GGML_F32, F16: GGML_F16, Q8_0: GGML_Q8_0, Q4_0: GGML_Q4_0, Q4_K: GGML_Q4_K, Q6_K: GGML_Q6_K };

function encode(data: Float32Array, type: StoredType): { type: number; data: Uint8Array } {
  if (type === "F32") return { type: GGML_F32, data: new Uint8Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength)) };
  if (type === "F16") {
    const h = new Uint16Array(data.length);
    for (let i = 0; i < data.length; i++) h[i] = floatToHalf(data[i]);
    return { type: GGML_F16, data: new Uint8Array(h.buffer) };
  }
  if (type === "Q4_0") return { type: GGML_Q4_0, data: toQ4_0(data) };
  if (type === "Q4_K") return { type: GGML_Q4_K, data: toQ4_K(data) };
  if (type === "Q6_K") return { type: GGML_Q6_K, data: toQ6_K(data) };
  return { type: GGML_Q8_0, data: toQ8_0(data) };
}

export interface ExportOptions {
  readonly version?: 1 | 2 | 3;
  /** Storage of the matrices; norms stay F32 as llama.cpp keeps them. */
  readonly type?: StoredMix;
  readonly name?: string;
  readonly extra?: [string, GgufValue][];
}

export function writeModelGguf(file: string, c: LlamaConfig, w: LlamaWeights, vocab: SpmVocab, o: ExportOptions = {}): void {
  const type = o.type ?? "F32";
  const metadata: [string, GgufValue][] = [
    ["general.architecture", { type: "string", value: "llama" }],
    ["general.name", { type: "string", value: o.name ?? "efed-model" }],
    ["llama.context_length", { type: "u32", value: c.contextLength }],
    ["llama.embedding_length", { type: "u32", value: c.dim }],
    ["llama.block_count", { type: "u32", value: c.nLayers }],
    ["llama.feed_forward_length", { type: "u32", value: c.hiddenDim }],
    ["llama.rope.dimension_count", { type: "u32", value: c.headSize }],
    ["llama.rope.freq_base", { type: "f32", value: c.ropeTheta }],
    ["llama.attention.head_count", { type: "u32", value: c.nHeads }],
    ["llama.attention.head_count_kv", { type: "u32", value: c.nKvHeads }],
    ["llama.attention.layer_norm_rms_epsilon", { type: "f32", value: c.normEps }],
    ["tokenizer.ggml.model", { type: "string", value: "llama" }],
    ["tokenizer.ggml.tokens", { type: "string[]", value: [...vocab.tokens] }],
    ["tokenizer.ggml.scores", { type: "f32[]", value: [...vocab.scores] }],
    ["tokenizer.ggml.token_type", { type: "i32[]", value: [...(vocab.types ?? vocab.tokens.map(() => 1))] }],
    ["tokenizer.ggml.bos_token_id", { type: "u32", value: vocab.bos }],
    ["tokenizer.ggml.eos_token_id", { type: "u32", value: vocab.eos }],
    ...(o.extra ?? []),
  ];
  const qDim = c.nHeads * c.headSize;
  const kvDim = c.nKvHeads * c.headSize;
  const tensors: GgufTensorOut[] = [];
  // a row (shape[0], ggml order) must hold whole blocks, as llama.cpp requires: a matrix whose
  // rows do not (stories260K's ffn of 172) is stored as F32 (llama.cpp's quantizer, too,
  // picks another type for it)
  const add = (name: string, data: Float32Array, shape: number[], mix: StoredMix = type) => {
    const t: StoredType = mix !== "Q4_K_M" ? mix : Q4_K_M_SIX.test(name) ? "Q6_K" : "Q4_K";
    tensors.push({ name, shape, ...encode(data, shape[0] % (blockSize(GGML_OF[t]) ?? 1) === 0 ? t : "F32") });
  };
  add("token_embd.weight", w.embedding!, [c.dim, c.vocabSize]);
  for (let l = 0; l < c.nLayers; l++) {
    const L = w.layers[l]!;
    add(`blk.${l}.attn_q.weight`, L.wq, [c.dim, qDim]);
    add(`blk.${l}.attn_k.weight`, L.wk, [c.dim, kvDim]);
    add(`blk.${l}.attn_v.weight`, L.wv, [c.dim, kvDim]);
    add(`blk.${l}.attn_output.weight`, L.wo, [qDim, c.dim]);
    add(`blk.${l}.ffn_gate.weight`, L.w1, [c.dim, c.hiddenDim]);
    add(`blk.${l}.ffn_down.weight`, L.w2, [c.hiddenDim, c.dim]);
    add(`blk.${l}.ffn_up.weight`, L.w3, [c.dim, c.hiddenDim]);
    add(`blk.${l}.attn_norm.weight`, L.attnNorm, [c.dim], "F32");
    add(`blk.${l}.ffn_norm.weight`, L.ffnNorm, [c.dim], "F32");
  }
  add("output_norm.weight", w.outputNorm!, [c.dim], "F32");
  if (w.output !== w.embedding) add("output.weight", w.output!, [c.dim, c.vocabSize]);
  writeGguf(file, o.version ?? 3, metadata, tensors);
}
