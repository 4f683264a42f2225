// Synthetic Llama-shaped models for benchmarks: random weights of a chosen shape (never
// downloaded), optionally with a decaying singular spectrum so that SVD figures resemble
// trained weights, and a byte-level vocabulary.
import { writeModelGguf, type StoredMix } from "./export.ts";
import type { SpmVocab } from "./tokenizer/spm.ts";
import type { LayerWeights, LlamaConfig, LlamaWeights } from "./types.ts";
import { normal } from "./random.ts";

export interface SynthOptions {
  readonly dim: number;
  readonly layers: number;
  readonly heads: number;
  readonly kvHeads: number;
  readonly ffn: number;
  readonly vocab: number;
  readonly context?: number;
  readonly seed?: number;
  /** Singular values decay as exp(−i / (decay · r)); absent: plain Gaussian weights. */
  readonly decay?: number;
  readonly type?: StoredMix;
}


function gaussianMatrix(rows: number, cols: number, scale: number, rand: () => number): Float32Array {
  const w = new Float32Array(rows * cols);
  for (let i = 0; i < w.length; i++) w[i] = rand() * scale;
  return w;
}

/** rows×cols with singular values ≈ exp(−i/τ): G1 · diag(d) · G2 for Gaussian G1, G2. */
function decayingMatrix(rows: number, cols: number, scale: number, decay: number, rand: () => number): Float32Array {
  const r = Math.min(rows, cols);
  const tau = decay * r;
  const g1 = gaussianMatrix(rows, r, 1 / Math.sqrt(rows), rand);
  const g2 = gaussianMatrix(r, cols, 1 / Math.sqrt(cols), rand);
  const w = new Float32Array(rows * cols);
  const row = new Float64Array(cols);
  for (let i = 0; i < rows; i++) {
    row.fill(0);
    for (let j = 0; j < r; j++) {
      const a = g1[i * r + j] * Math.exp(-j / tau);
      for (let t = 0; t < cols; t++) row[t] += a * g2[j * cols + t];
    }
    for (let t = 0; t < cols; t++) w[i * cols + t] = row[t] * scale * Math.sqrt(cols);
  }
  return w;
}

export function synthConfig(o: SynthOptions): LlamaConfig {
  for (const [k, v] of Object.entries({ dim: o.dim, layers: o.layers, heads: o.heads, kvHeads: o.kvHeads, ffn: o.ffn, vocab: o.vocab })) {
    if (!Number.isInteger(v) || v < 1) throw new RangeError(`${k} must be a positive integer, got ${v}`);
  }
  if (o.dim % o.heads !== 0) throw new RangeError(`dim ${o.dim} must be a multiple of heads ${o.heads}`);
  if (o.heads % o.kvHeads !== 0) throw new RangeError(`heads ${o.heads} must be a multiple of kv-heads ${o.kvHeads}`);
  if ((o.dim / o.heads) % 2 !== 0) throw new RangeError(`head size ${o.dim / o.heads} must be even (rotary pairs)`);
  if (o.vocab < 259) throw new RangeError(`vocab must be at least 259 (3 specials + 256 bytes), got ${o.vocab}`);
  return {
    dim: o.dim,
    hiddenDim: o.ffn,
    nLayers: o.layers,
    nHeads: o.heads,
    nKvHeads: o.kvHeads,
    headSize: o.dim / o.heads,
    vocabSize: o.vocab,
    contextLength: o.context ?? 512,
    normEps: Math.fround(1e-5),
    ropeTheta: 10000,
    ropeLayout: "pairs",
  };
}

/** <unk>, <s>, </s>, the 256 byte tokens, then filler pieces. */
export function byteVocab(size: number): SpmVocab {
  const tokens = ["<unk>", "<s>", "</s>"];
  for (let b = 0; b < 256; b++) tokens.push(`<0x${b.toString(16).toUpperCase().padStart(2, "0")}>`);
  for (let i = tokens.length; i < size; i++) tokens.push(`\u2581t${i}`);
  const types = tokens.map((_, i) => (i === 0 ? 2 : i < 3 ? 3 : i < 259 ? 6 : 1));
  return { tokens, scores: tokens.map((_, i) => -i), types, bos: 1, eos: 2 };
}

export function synthWeights(c: LlamaConfig, o: SynthOptions): LlamaWeights {
  const rand = normal(o.seed ?? 1);
  const mat = (rows: number, cols: number) =>
    o.decay === undefined ? gaussianMatrix(rows, cols, 1 / Math.sqrt(cols), rand) : decayingMatrix(rows, cols, 1 / Math.sqrt(cols), o.decay, rand);
  const ones = () => new Float32Array(c.dim).fill(1);
  const qDim = c.nHeads * c.headSize;
  const kvDim = c.nKvHeads * c.headSize;
  const layers: LayerWeights[] = [];
  for (let l = 0; l < c.nLayers; l++) {
    layers.push({
      attnNorm: ones(),
      wq: mat(qDim, c.dim),
      wk: mat(kvDim, c.dim),
      wv: mat(kvDim, c.dim),
      wo: mat(c.dim, qDim),
      ffnNorm: ones(),
      w1: mat(c.hiddenDim, c.dim),
      w2: mat(c.dim, c.hiddenDim),
      w3: mat(c.hiddenDim, c.dim),
    });
  }
  return {
    embedding: gaussianMatrix(c.vocabSize, c.dim, 1, rand),
    layers,
    outputNorm: ones(),
    output: gaussianMatrix(c.vocabSize, c.dim, 1 / Math.sqrt(c.dim), rand),
  };
}

export function writeSynthModel(file: string, o: SynthOptions): { config: LlamaConfig; parameters: number } {
  const c = synthConfig(o);
  const w = synthWeights(c, o);
  writeModelGguf(file, c, w, byteVocab(c.vocabSize), { type: o.type, name: `synthetic-${c.dim}x${c.nLayers}`, version: 3 });
  const perLayer = 2 * c.dim + w.layers[0]!.wq.length + 2 * w.layers[0]!.wk.length + w.layers[0]!.wo.length + 3 * c.dim * c.hiddenDim;
  return { config: c, parameters: 2 * c.vocabSize * c.dim + c.dim + c.nLayers * perLayer };
}
