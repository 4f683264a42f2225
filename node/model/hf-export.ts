// A model → a Hugging Face checkpoint directory (config.json, model.safetensors,
// tokenizer.json). Used to test the safetensors path against the GGUF reference.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { SpmVocab } from "./tokenizer/spm.ts";
import type { LlamaConfig, LlamaWeights } from "./types.ts";

/** Reorders q/k rows of each head from the "pairs" rotary layout to "halves". */
export function pairsToHalves(w: Float32Array, heads: number, headSize: number, cols: number): Float32Array {
  const out = new Float32Array(w.length);
  const half = headSize / 2;
  for (let h = 0; h < heads; h++) {
    for (let j = 0; j < half; j++) {
      out.set(w.subarray((h * headSize + 2 * j) * cols, (h * headSize + 2 * j + 1) * cols), (h * headSize + j) * cols);
      out.set(w.subarray((h * headSize + 2 * j + 1) * cols, (h * headSize + 2 * j + 2) * cols), (h * headSize + j + half) * cols);
    }
  }
  return out;
}

export function writeSafetensors(file: string, tensors: [string, Float32Array, number[]][]): void {
  const header: Record<string, unknown> = { __metadata__: { format: "pt" } };
  let offset = 0;
  for (const [name, data, shape] of tensors) {
    header[name] = { dtype: "F32", shape, data_offsets: [offset, offset + data.byteLength] };
    offset += data.byteLength;
  }
  let json = JSON.stringify(header);
  json += " ".repeat((8 - (json.length % 8)) % 8);
  const head = Buffer.alloc(8);
  head.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
  writeFileSync(file, Buffer.concat([head, Buffer.from(json), ...tensors.map(([, d]) => Buffer.from(d.buffer, d.byteOffset, d.byteLength))]));
}

/** A Llama-style tokenizer.json for a SentencePiece BPE vocabulary. */
export function spmTokenizerJson(v: SpmVocab): object {
  const vocab: Record<string, number> = {};
  v.tokens.forEach((t, i) => (vocab[t] ??= i));
  const special = new Set([0, v.bos, v.eos]);
  const merges: [number, string][] = [];
  v.tokens.forEach((piece, id) => {
    if (special.has(id) || /^<0x[0-9A-F]{2}>$/i.test(piece)) return;
    const chars = [...piece];
    for (let i = 1; i < chars.length; i++) {
      const left = chars.slice(0, i).join("");
      const right = chars.slice(i).join("");
      if (vocab[left] !== undefined && vocab[right] !== undefined) merges.push([v.scores[id], `${left} ${right}`]);
    }
  });
  merges.sort((a, b) => b[0] - a[0]);
  return {
    version: "1.0",
    added_tokens: [...special].map((id) => ({ id, content: v.tokens[id], single_word: false, lstrip: false, rstrip: false, normalized: false, special: true })),
    normalizer: { type: "Sequence", normalizers: [{ type: "Prepend", prepend: "\u2581" }, { type: "Replace", pattern: { String: " " }, content: "\u2581" }] },
    pre_tokenizer: null,
    post_processor: null,
    decoder: {
      type: "Sequence",
      decoders: [
        { type: "Replace", pattern: { String: "\u2581" }, content: " " },
        { type: "ByteFallback" },
        { type: "Fuse" },
        { type: "Strip", content: " ", start: 1, stop: 0 },
      ],
    },
    model: { type: "BPE", dropout: null, unk_token: v.tokens[0], continuing_subword_prefix: null, end_of_word_suffix: null, fuse_unk: true, byte_fallback: true, vocab, merges: merges.map(([, m]) => m) },
  };
}

export function writeHfCheckpoint(dir: string, c: LlamaConfig, w: LlamaWeights, vocab: SpmVocab): void {
  mkdirSync(dir, { recursive: true });
  const qDim = c.nHeads * c.headSize;
  const kvDim = c.nKvHeads * c.headSize;
  const toHalves = (m: Float32Array, heads: number) => (c.ropeLayout === "pairs" ? pairsToHalves(m, heads, c.headSize, c.dim) : m);
  const tensors: [string, Float32Array, number[]][] = [["model.embed_tokens.weight", w.embedding!, [c.vocabSize, c.dim]]];
  for (let l = 0; l < c.nLayers; l++) {
    const L = w.layers[l]!;
    const p = `model.layers.${l}`;
    tensors.push(
      [`${p}.input_layernorm.weight`, L.attnNorm, [c.dim]],
      [`${p}.self_attn.q_proj.weight`, toHalves(L.wq, c.nHeads), [qDim, c.dim]],
      [`${p}.self_attn.k_proj.weight`, toHalves(L.wk, c.nKvHeads), [kvDim, c.dim]],
      [`${p}.self_attn.v_proj.weight`, L.wv, [kvDim, c.dim]],
      [`${p}.self_attn.o_proj.weight`, L.wo, [c.dim, qDim]],
      [`${p}.post_attention_layernorm.weight`, L.ffnNorm, [c.dim]],
      [`${p}.mlp.gate_proj.weight`, L.w1, [c.hiddenDim, c.dim]],
      [`${p}.mlp.down_proj.weight`, L.w2, [c.dim, c.hiddenDim]],
      [`${p}.mlp.up_proj.weight`, L.w3, [c.hiddenDim, c.dim]],
    );
  }
  tensors.push(["model.norm.weight", w.outputNorm!, [c.dim]]);
  const tied = w.output === w.embedding;
  if (!tied) tensors.push(["lm_head.weight", w.output!, [c.vocabSize, c.dim]]);
  writeSafetensors(join(dir, "model.safetensors"), tensors);
  writeFileSync(
    join(dir, "config.json"),
    JSON.stringify(
      {
        architectures: ["LlamaForCausalLM"],
        model_type: "llama",
        hidden_size: c.dim,
        intermediate_size: c.hiddenDim,
        num_hidden_layers: c.nLayers,
        num_attention_heads: c.nHeads,
        num_key_value_heads: c.nKvHeads,
        vocab_size: c.vocabSize,
        max_position_embeddings: c.contextLength,
        rms_norm_eps: c.normEps,
        rope_theta: c.ropeTheta,
        tie_word_embeddings: tied,
        bos_token_id: vocab.bos,
        eos_token_id: vocab.eos,
        torch_dtype: "float32",
      },
      null,
      2,
    ),
  );
  writeFileSync(join(dir, "tokenizer.json"), JSON.stringify(spmTokenizerJson(vocab)));
}
