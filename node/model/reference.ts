// The whole Llama forward pass in plain TypeScript, float64, one token at a time:
// the readable reference the ONNX shards are tested against (as llama2.c's run.c).
import { exactQ8_0, quantizeActivations } from "./quant.ts";
import { LAYER_MATRICES, matrixShape, type LayerMatrix, type LayerWeights, type LlamaConfig, type LlamaWeights } from "./types.ts";

export function rmsnorm(x: Float64Array, g: Float32Array, eps: number): Float64Array {
  let ss = 0;
  for (const v of x) ss += v * v;
  const scale = 1 / Math.sqrt(ss / x.length + eps);
  return x.map((v, i) => v * scale * g[i]);
}

/** y = W x for W row-major [rows, x.length]. */
export function matmul(w: Float32Array, x: Float64Array, rows: number): Float64Array {
  const n = x.length;
  const y = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    let s = 0;
    const o = r * n;
    for (let i = 0; i < n; i++) s += w[o + i] * x[i];
    y[r] = s;
  }
  return y;
}

/** w [rows][n] times x as MatMulNBits' int8 path computes it: x rounded in blocks of `block`
 * (quant.ts quantizeActivations). With `offsets` (Q4_K's, one a block: kquants.ts
 * q4kToBlocks) each block's offset is taken out of w and multiplied by the block's sum of
 * the unrounded x, as the graph does (layers.ts int8MatMul). */
export function int8MatVec(w: Float32Array, x: Float64Array, rows: number, offsets?: Float32Array, block = 32): Float64Array {
  const xq = quantizeActivations(x, block);
  if (offsets === undefined) return matmul(w, xq, rows);
  const n = x.length;
  const blocks = n / block;
  const sums = new Float64Array(blocks);
  for (let i = 0; i < n; i++) sums[(i / block) | 0] += x[i];
  const y = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    let s = 0;
    for (let b = 0; b < blocks; b++) {
      const off = offsets[r * blocks + b];
      s += off * sums[b];
      for (let i = b * block, o = r * n; i < (b + 1) * block; i++) s += (w[o + i] - off) * xq[i];
    }
    y[r] = s;
  }
  return y;
}

export function softmax(x: Float64Array): Float64Array {
  let max = -Infinity;
  for (const v of x) max = Math.max(max, v);
  const e = x.map((v) => Math.exp(v - max));
  let sum = 0;
  for (const v of e) sum += v;
  return e.map((v) => v / sum);
}

/** Rotary position embedding applied in place to each head of `v`. */
export function rope(c: LlamaConfig, v: Float64Array, pos: number): void {
  const hs = c.headSize;
  const half = hs / 2;
  for (let h = 0; h < v.length / hs; h++) {
    for (let j = 0; j < half; j++) {
      const angle = pos * Math.pow(c.ropeTheta, (-2 * j) / hs);
      const cos = Math.cos(angle);
      const sin = Math.sin(angle);
      const [a, b] = c.ropeLayout === "pairs" ? [h * hs + 2 * j, h * hs + 2 * j + 1] : [h * hs + j, h * hs + j + half];
      const x0 = v[a];
      const x1 = v[b];
      v[a] = x0 * cos - x1 * sin;
      v[b] = x0 * sin + x1 * cos;
    }
  }
}

/** Run state: the KV cache of every layer, one row per position. */
export class ReferenceState {
  readonly keys: Float64Array[][];
  readonly values: Float64Array[][];
  constructor(c: LlamaConfig) {
    this.keys = Array.from({ length: c.nLayers }, () => []);
    this.values = Array.from({ length: c.nLayers }, () => []);
  }
}

/** One transformer block on the hidden state `x` of the token at `pos`. Matrices in
 * `int8Inputs` see their input rounded as the graph's Q8_0 path rounds it (quant.ts), less
 * the `offsets` of those that have them (int8MatVec). */
export function block(c: LlamaConfig, w: LayerWeights, s: ReferenceState, l: number, x: Float64Array, pos: number, int8Inputs: ReadonlySet<LayerMatrix> = new Set(), offsets?: (m: LayerMatrix) => Float32Array | undefined): Float64Array {
  const hs = c.headSize;
  const kvMul = c.nHeads / c.nKvHeads;
  const mm = (m: LayerMatrix, v: Float64Array) => (int8Inputs.has(m) ? int8MatVec(w[m], v, matrixShape(c, m)[0], offsets?.(m)) : matmul(w[m], v, matrixShape(c, m)[0]));
  // attention: norm → q, k, v → rotary → scores over the cache → output + residual
  const h = rmsnorm(x, w.attnNorm, c.normEps);
  const q = mm("wq", h);
  const k = mm("wk", h);
  const v = mm("wv", h);
  rope(c, q, pos);
  rope(c, k, pos);
  s.keys[l][pos] = k;
  s.values[l][pos] = v;
  const att = new Float64Array(c.nHeads * hs);
  for (let head = 0; head < c.nHeads; head++) {
    const kvh = Math.floor(head / kvMul);
    const scores = new Float64Array(pos + 1);
    for (let t = 0; t <= pos; t++) {
      let dot = 0;
      for (let i = 0; i < hs; i++) dot += q[head * hs + i] * s.keys[l][t][kvh * hs + i];
      scores[t] = dot / Math.sqrt(hs);
    }
    const p = softmax(scores);
    for (let t = 0; t <= pos; t++) {
      for (let i = 0; i < hs; i++) att[head * hs + i] += p[t] * s.values[l][t][kvh * hs + i];
    }
  }
  const o = mm("wo", att);
  const x1 = x.map((xi, i) => xi + o[i]);
  // feed-forward: norm → SwiGLU → residual
  const h2 = rmsnorm(x1, w.ffnNorm, c.normEps);
  const g = mm("w1", h2);
  const u = mm("w3", h2);
  const f = g.map((gi, i) => (gi / (1 + Math.exp(-gi))) * u[i]);
  const d = mm("w2", f);
  return x1.map((xi, i) => xi + d[i]);
}

export class ReferenceModel {
  readonly config: LlamaConfig;
  private readonly w: LlamaWeights;
  private readonly int8Inputs = new Map<number, Set<LayerMatrix>>();
  private readonly offsets?: (l: number, m: LayerMatrix) => Float32Array | undefined;
  state: ReferenceState;

  /** `int8Activations` "all": every layer matrix sees its input rounded as MatMulNBits'
   * int8 path rounds it (a local graph of Q4_0 blocks, whose values no rule can tell from
   * f32); otherwise the Q8_0-exact ones (quant.ts). `offsets`: the block offsets of a layer
   * matrix that has them (Q4_K's, int8MatVec). */
  constructor(config: LlamaConfig, weights: LlamaWeights, o: { int8Activations?: "all"; offsets?: (l: number, m: LayerMatrix) => Float32Array | undefined } = {}) {
    this.config = config;
    this.w = weights;
    this.offsets = o.offsets;
    this.state = new ReferenceState(config);
    if (o.int8Activations === "all") for (let l = 0; l < config.nLayers; l++) this.int8Inputs.set(l, new Set(LAYER_MATRICES));
  }

  embed(token: number): Float64Array {
    const d = this.config.dim;
    return Float64Array.from(this.w.embedding!.subarray(token * d, (token + 1) * d));
  }

  /** Layers [start, end) on `x` at `pos`. */
  layers(x: Float64Array, pos: number, start = 0, end = this.config.nLayers): Float64Array {
    for (let l = start; l < end; l++) x = block(this.config, this.w.layers[l]!, this.state, l, x, pos, this.int8InputsOf(l), this.offsets === undefined ? undefined : (m) => this.offsets!(l, m));
    return x;
  }

  /** The matrices of layer l that the graph runs as Q8_0 (the same rule: quant.ts). */
  private int8InputsOf(l: number): Set<LayerMatrix> {
    let set = this.int8Inputs.get(l);
    if (set === undefined) {
      const L = this.w.layers[l]!;
      set = new Set(LAYER_MATRICES.filter((m) => exactQ8_0(L[m], ...matrixShape(this.config, m)) !== undefined));
      this.int8Inputs.set(l, set);
    }
    return set;
  }

  logits(x: Float64Array): Float64Array {
    return matmul(this.w.output!, rmsnorm(x, this.w.outputNorm!, this.config.normEps), this.config.vocabSize);
  }

  forward(token: number, pos: number): Float64Array {
    return this.logits(this.layers(this.embed(token), pos));
  }
}
