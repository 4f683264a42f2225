// Hyperparameters and weights of a Llama-family model: two separate things (run state
// lives with whoever runs it). Matrices are row-major [out][in], as llama2.c keeps them.
import type { Tokenizer } from "./tokenizer/types.ts";

export interface LlamaConfig {
  readonly dim: number;
  readonly hiddenDim: number; // feed-forward width
  readonly nLayers: number;
  readonly nHeads: number;
  readonly nKvHeads: number;
  readonly headSize: number;
  readonly vocabSize: number;
  readonly contextLength: number;
  readonly normEps: number;
  readonly ropeTheta: number;
  /** "pairs": rotate (x[2i], x[2i+1]) as Meta's original checkpoints (and GGUF converted
   * from them) do; "halves": rotate (x[i], x[i + headSize/2]) as Hugging Face checkpoints do. */
  readonly ropeLayout: "pairs" | "halves";
}

export interface LayerWeights {
  readonly attnNorm: Float32Array; // [dim]
  readonly wq: Float32Array; // [nHeads·headSize, dim]
  readonly wk: Float32Array; // [nKvHeads·headSize, dim]
  readonly wv: Float32Array; // [nKvHeads·headSize, dim]
  readonly wo: Float32Array; // [dim, nHeads·headSize]
  readonly ffnNorm: Float32Array; // [dim]
  readonly w1: Float32Array; // gate [hiddenDim, dim]
  readonly w2: Float32Array; // down [dim, hiddenDim]
  readonly w3: Float32Array; // up   [hiddenDim, dim]
}

export interface LlamaWeights {
  readonly embedding?: Float32Array; // [vocab, dim] (client only)
  /** layers[l] for l in the loaded range; other entries are undefined. */
  readonly layers: (LayerWeights | undefined)[];
  readonly outputNorm?: Float32Array; // [dim] (client only)
  readonly output?: Float32Array; // [vocab, dim] (client only; the embedding when tied)
}

/** A model as every loader returns it (load.ts picks the loader). */
export interface LoadedModel {
  readonly file: string;
  readonly format: "gguf" | "safetensors";
  readonly config: LlamaConfig;
  readonly weights: LlamaWeights;
  readonly tokenizer: Tokenizer;
}

/** What to load: a server needs only its layers, a client only embedding and head. */
export interface WeightSelection {
  /** Layer range [start, end) to load; default every layer. */
  readonly layers?: readonly [number, number];
  /** Load the embedding, final norm and output head; default true. */
  readonly client?: boolean;
}

export const ALL: WeightSelection = {};

export const LAYER_MATRICES = ["wq", "wk", "wv", "wo", "w1", "w2", "w3"] as const;
export type LayerMatrix = (typeof LAYER_MATRICES)[number];

/** [rows, cols] of a layer matrix. */
export function matrixShape(c: LlamaConfig, m: LayerMatrix): [number, number] {
  const qDim = c.nHeads * c.headSize;
  const kvDim = c.nKvHeads * c.headSize;
  switch (m) {
    case "wq":
      return [qDim, c.dim];
    case "wk":
    case "wv":
      return [kvDim, c.dim];
    case "wo":
      return [c.dim, qDim];
    case "w1":
    case "w3":
      return [c.hiddenDim, c.dim];
    case "w2":
      return [c.dim, c.hiddenDim];
  }
}

export function layerRange(c: LlamaConfig, sel: WeightSelection): [number, number] {
  return sel.layers === undefined ? [0, c.nLayers] : [sel.layers[0], sel.layers[1]];
}
