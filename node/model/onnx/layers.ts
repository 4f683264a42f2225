// The ONNX graphs of the model: a shard of layers [start, end) with KV-cache inputs and
// outputs, the Client's embedding and the Client's head (final norm + output). The layer
// recipe mirrors reference.ts step for step.
import { attr, GraphBuilder } from "./graph.ts";
import { cacheNames } from "./cache-names.ts";
import type { LayerMatrix, LayerWeights, LlamaConfig, LlamaWeights } from "../types.ts";
import { matrixShape } from "../types.ts";
import { exactQ8_0, QUANT_BLOCK, blockValues, offsetsForMatMul, type BlockMatrix } from "../quant.ts";

/** A linear layer y = x Wᵀ, given dense or as SVD factors (y = (x A) B). */
export type Linear =
  | { readonly kind: "dense"; readonly w: Float32Array } // [out][in]
  | { readonly kind: "factored"; readonly a: Float32Array; readonly b: Float32Array; readonly rank: number }; // a [in][k], b [k][out]

/** A dense f32 matrix [out][in] left at byte `offset` of the file `location`, which
 * onnxruntime reads itself (graph.ts `external`): the graph is the one "dense" gives with
 * these values, without a JS copy (gguf-map.ts). */
export type MappedLinear = { readonly kind: "mapped"; readonly location: string; readonly offset: number };

/** A GGUF Q8_0, Q4_0, Q4_K or Q6_K matrix [out][in] in MatMulNBits' form (quant.ts
 * q8FromBlocks, q4FromBlocks, kquants.ts q4kToBlocks, q6kToBlocks), for a graph that runs them quantized
 * (`quantized`); any other graph gets its decoded values. */
export type BlockLinear = { readonly kind: "blocks"; readonly m: BlockMatrix };

/** A BlockLinear left in the file `location` (gguf-map.ts decodeToScratch): B, the scales
 * and, for Q4_K, the offsets already laid out as MatMul takes them ([in/block][out]), at
 * these byte offsets; for a `quantized` graph only (no JS copy to decode from). */
export type MappedBlockLinear = {
  readonly kind: "mappedBlocks";
  readonly shape: Omit<BlockMatrix, "q" | "scales" | "offsets">;
  readonly location: string;
  readonly at: { readonly q: number; readonly scales: number; readonly offsets?: number };
};

export type LinearSource = (layer: number, m: LayerMatrix) => Linear | MappedLinear | BlockLinear | MappedBlockLinear;

export function denseSource(weights: LlamaWeights): LinearSource {
  return (l, m) => ({ kind: "dense", w: (weights.layers[l] as LayerWeights)[m] });
}

function rmsnorm(g: GraphBuilder, x: string, weight: string, eps: number): string {
  const ms = g.op("ReduceMean", [g.op("Mul", [x, x])], [attr.ints("axes", [-1]), attr.int("keepdims", 1)]);
  const inv = g.op("Reciprocal", [g.op("Sqrt", [g.op("Add", [ms, g.f32([eps], [])])])]);
  return g.op("Mul", [g.op("Mul", [x, inv]), weight]);
}

/** MatMulNBits' accuracy_level 4: activations in int8 blocks (see quant.ts for why). */
const INT8_ACCURACY = 4;

/** x [1, S, in] times Wᵀ for w [out][in] as stored: Gemm with transB packs W as it is, so
 * no transposed copy is made, and computes bit for bit what MatMul over Wᵀ computes. A
 * batched graph gives `lead`, the [B, S] of x, to reshape back to (Gemm takes 2-D input). */
function gemmT(g: GraphBuilder, x: string, w: string, rows: number, cols: number, lead?: string): string {
  const y = g.op("Gemm", [g.op("Reshape", [x, g.i64([-1, cols])]), w], [attr.int("transB", 1)]);
  return g.op("Reshape", [y, lead === undefined ? g.i64([1, -1, rows]) : g.op("Concat", [lead, g.i64([rows])], [attr.int("axis", 0)])]);
}

/** Each graph's block sums of an input, by input and block: q, k and v (gate and up) share
 * their input, and its sums. */
const sumsOf = new WeakMap<GraphBuilder, Map<string, string>>();

/** x [B, S, in] → the sums of its blocks of `block`, [B, S, blocks]. */
function blockSums(g: GraphBuilder, x: string, blocks: number, block: number): string {
  const made = sumsOf.get(g) ?? new Map<string, string>();
  sumsOf.set(g, made);
  const key = `${x}/${block}`;
  let sums = made.get(key);
  if (sums === undefined) made.set(key, (sums = g.op("ReduceSum", [g.op("Reshape", [x, g.i64([0, 0, blocks, block])]), g.i64([-1])], [attr.int("keepdims", 0)])));
  return sums;
}

/** x [B, S, in] times Wᵀ for the block form of W [out][in] (Q8_0, Q4_0, Q4_K, Q6_K) as
 * MatMulNBits with int8 activations (quant.ts). Blocks with offsets (Q4_K's) add each
 * block's offset times the sum of the block's activations, in f32: a MatMul of
 * [B, S, in/block] sums by the offsets [in/block][out], a block-th of the matrix's size. */
function int8MatMul(g: GraphBuilder, x: string, name: string, q: BlockMatrix | MappedBlockLinear): string {
  const m = "kind" in q ? q.shape : q;
  const blocks = m.cols / m.block;
  const dims = { q: [m.rows, blocks, (m.block * m.bits) / 8], scales: [m.rows * blocks], offsets: [blocks, m.rows] };
  let b: string, s: string, offsets: string | undefined;
  if ("kind" in q) {
    b = g.external(`${name}.q${m.bits}`, dims.q, q.location, q.at.q, "uint8");
    s = g.external(`${name}.scales`, dims.scales, q.location, q.at.scales);
    if (q.at.offsets !== undefined) offsets = g.external(`${name}.offsets`, dims.offsets, q.location, q.at.offsets);
  } else {
    b = g.bytes(`${name}.q${m.bits}`, q.q, dims.q);
    s = g.weight(`${name}.scales`, q.scales, dims.scales);
    if (q.offsets !== undefined) offsets = g.weight(`${name}.offsets`, offsetsForMatMul(q), dims.offsets);
  }
  const attrs = [attr.int("K", m.cols), attr.int("N", m.rows), attr.int("bits", m.bits), attr.int("block_size", m.block), attr.int("accuracy_level", INT8_ACCURACY)];
  const y = g.msOp("MatMulNBits", [x, b, s], attrs);
  if (offsets === undefined) return y;
  return g.op("Add", [y, g.op("MatMul", [blockSums(g, x, blocks, m.block), offsets])]);
}

/** x [1, S, in] times Wᵀ in one node: onnxruntime's FusedMatMul with transB packs W as
 * stored, like Gemm, and takes x as it is, so the two Reshapes around a Gemm go (the fused
 * graph, fused-layers.ts). */
const fusedMatMulT = (g: GraphBuilder, x: string, w: string) => g.msOp("FusedMatMul", [x, w], [attr.int("transB", 1)]);

/** A linear layer of the shard graph; `fused`: as FusedMatMul (fused-layers.ts). */
export function linear(g: GraphBuilder, c: LlamaConfig, x: string, name: string, lin: Linear | MappedLinear | BlockLinear | MappedBlockLinear, m: LayerMatrix, quantize: boolean, lead?: string, fused = false): string {
  const [rows, cols] = matrixShape(c, m);
  const dense = (w: string) => (fused ? fusedMatMulT(g, x, w) : gemmT(g, x, w, rows, cols, lead));
  if (lin.kind === "mapped") return dense(g.external(name, [rows, cols], lin.location, lin.offset));
  if (lin.kind === "blocks") return quantize ? int8MatMul(g, x, name, lin.m) : dense(g.weight(name, blockValues(lin.m), [rows, cols]));
  if (lin.kind === "mappedBlocks") {
    if (!quantize) throw new Error(`${name}: blocks left in a file run only in a quantized graph`);
    return int8MatMul(g, x, name, lin);
  }
  if (lin.kind === "dense") {
    const q8 = quantize ? exactQ8_0(lin.w, rows, cols) : undefined;
    if (q8 !== undefined) return int8MatMul(g, x, name, q8);
    return dense(g.weight(name, lin.w, [rows, cols]));
  }
  const a = g.weight(`${name}.a`, lin.a, [cols, lin.rank]);
  const b = g.weight(`${name}.b`, lin.b, [lin.rank, rows]);
  return g.op("MatMul", [g.op("MatMul", [x, a]), b]);
}

/** cos/sin tables [contextLength, headSize/2] for every position. */
export function ropeTables(c: LlamaConfig): [Float32Array, Float32Array] {
  const half = c.headSize / 2;
  const cos = new Float32Array(c.contextLength * half);
  const sin = new Float32Array(c.contextLength * half);
  for (let p = 0; p < c.contextLength; p++) {
    for (let j = 0; j < half; j++) {
      const a = p * Math.pow(c.ropeTheta, (-2 * j) / c.headSize);
      cos[p * half + j] = Math.cos(a);
      sin[p * half + j] = Math.sin(a);
    }
  }
  return [cos, sin];
}

/** Rotary embedding on x [1, heads, S, headSize] with cos/sin [S, headSize/2]. */
function rope(g: GraphBuilder, c: LlamaConfig, x: string, cos: string, sin: string): string {
  const half = c.headSize / 2;
  let x0: string;
  let x1: string;
  if (c.ropeLayout === "pairs") {
    const pairs = g.op("Reshape", [x, g.i64([0, 0, 0, half, 2])]);
    x0 = g.op("Gather", [pairs, g.i64([0], [])], [attr.int("axis", -1)]);
    x1 = g.op("Gather", [pairs, g.i64([1], [])], [attr.int("axis", -1)]);
  } else {
    [x0, x1] = g.opN("Split", [x, g.i64([half, half])], 2, [attr.int("axis", -1)]);
  }
  const y0 = g.op("Sub", [g.op("Mul", [x0, cos]), g.op("Mul", [x1, sin])]);
  const y1 = g.op("Add", [g.op("Mul", [x0, sin]), g.op("Mul", [x1, cos])]);
  if (c.ropeLayout === "halves") return g.op("Concat", [y0, y1], [attr.int("axis", -1)]);
  const stacked = g.op("Concat", [g.op("Unsqueeze", [y0, g.i64([-1])]), g.op("Unsqueeze", [y1, g.i64([-1])])], [attr.int("axis", -1)]);
  return g.op("Reshape", [stacked, g.i64([0, 0, 0, c.headSize])]);
}

export interface ShardGraphOptions {
  readonly start: number;
  readonly end: number;
  readonly norms: (layer: number) => { attnNorm: Float32Array; ffnNorm: Float32Array };
  readonly linear: LinearSource;
  /** Run Q8_0-exact matrices, and Q8_0, Q4_0, Q4_K and Q6_K blocks as stored, as MatMulNBits with int8
   * activations (quant.ts); default false. Only local
   * generation turns it on: a server's and a verifier's graphs must recompute each other
   * within the audits' tolerance, which int8 activations do not (quant.ts). */
  readonly quantized?: boolean;
  /** Rows of several inference sessions in one run (a server's continuous batching,
   * batch-runner.ts): `hidden` [B, S, dim], `pos` [B], caches [B, kvHeads, P, headSize] with
   * each row's cache left-padded to the longest, P; default false (B = 1, `pos` a scalar). */
  readonly batched?: boolean;
  /** Open the fused graph (fused-layers.ts) instead, where it runs; default false
   * (ShardRunner.open: the local engine and a verifier's re-check ask for it; a server
   * builds it itself, server.ts openShard). */
  readonly fused?: boolean;
}

/**
 * Layers [start, end). Inputs: `hidden` [1, S, dim], `pos` (int64 scalar: the position of
 * the first of the S new tokens, which is also the cached length), and for each layer
 * `past_k_l`/`past_v_l` [1, kvHeads, P, headSize]. Outputs: `hidden_out` [1, S, dim] and
 * `present_k_l`/`present_v_l` [1, kvHeads, P + S, headSize].
 *
 * Batched (`o.batched`): B rows, `pos` [B] the cached length of each row, and caches
 * [B, kvHeads, P, headSize] where row b's `pos[b]` positions sit at the end of its P
 * (left padding). The mask hides the padding, whose scores (-1e9) underflow to exactly 0 in
 * the softmax; the presents [B, kvHeads, P + S, headSize] hold row b's cache in their last
 * `pos[b]` + S positions. With B = 1 and no padding it is the same computation as unbatched.
 */
export function buildShardGraph(c: LlamaConfig, o: ShardGraphOptions): Uint8Array {
  const g = new GraphBuilder(`efed_layers_${o.start}_${o.end}`);
  const hs = c.headSize;
  const group = c.nHeads / c.nKvHeads;
  const batch = o.batched === true ? "batch" : 1;
  let x = g.input("hidden", [batch, "seq", c.dim]);
  const { cos, sin, mask } = o.batched === true ? batchedPrelude(g, c, x, cacheNames(o.start).pastK) : prelude(g, c, x);
  const scale = g.f32([1 / Math.sqrt(hs)], []);
  const qz = o.quantized ?? false;
  // every linear's input has the hidden input's [B, S]: read once for the batched reshapes
  const lead = o.batched === true ? g.op("Slice", [g.op("Shape", [x]), g.i64([0]), g.i64([2])]) : undefined;
  const lin = (v: string, l: number, m: LayerMatrix) => linear(g, c, v, `l${l}.${m}`, o.linear(l, m), m, qz, lead);

  for (let l = o.start; l < o.end; l++) {
    const n = o.norms(l);
    const names = cacheNames(l);
    const pastK = g.input(names.pastK, [batch, c.nKvHeads, "past", hs]);
    const pastV = g.input(names.pastV, [batch, c.nKvHeads, "past", hs]);
    // attention: norm → q, k, v → rotary → scores over the cache → output + residual
    const h = rmsnorm(g, x, g.weight(`l${l}.attn_norm`, n.attnNorm, [c.dim]), c.normEps);
    const heads = (v: string, count: number) => g.op("Transpose", [g.op("Reshape", [v, g.i64([0, 0, count, hs])])], [attr.ints("perm", [0, 2, 1, 3])]);
    const q = rope(g, c, heads(lin(h, l, "wq"), c.nHeads), cos, sin);
    const k = rope(g, c, heads(lin(h, l, "wk"), c.nKvHeads), cos, sin);
    const v = heads(lin(h, l, "wv"), c.nKvHeads);
    const kAll = g.op("Concat", [pastK, k], [attr.int("axis", 2)]);
    const vAll = g.op("Concat", [pastV, v], [attr.int("axis", 2)]);
    g.output(kAll, names.presentK, [batch, c.nKvHeads, "total", hs]);
    g.output(vAll, names.presentV, [batch, c.nKvHeads, "total", hs]);
    // grouped-query attention by broadcasting: q [B, kvH, group, S, hs] against k, v [B, kvH, 1, T, hs]
    const q5 = g.op("Reshape", [q, g.i64([0, c.nKvHeads, group, -1, hs])]);
    const k5 = g.op("Unsqueeze", [kAll, g.i64([2])]);
    const v5 = g.op("Unsqueeze", [vAll, g.i64([2])]);
    const scores = g.op("Add", [g.op("Mul", [g.op("MatMul", [q5, g.op("Transpose", [k5], [attr.ints("perm", [0, 1, 2, 4, 3])])]), scale]), mask]);
    const att = g.op("MatMul", [g.op("Softmax", [scores], [attr.int("axis", -1)]), v5]);
    const merged = g.op("Reshape", [g.op("Transpose", [g.op("Reshape", [att, g.i64([0, c.nHeads, -1, hs])])], [attr.ints("perm", [0, 2, 1, 3])]), g.i64([0, 0, c.nHeads * hs])]);
    x = g.op("Add", [x, lin(merged, l, "wo")]);
    // feed-forward: norm → SwiGLU → residual
    const h2 = rmsnorm(g, x, g.weight(`l${l}.ffn_norm`, n.ffnNorm, [c.dim]), c.normEps);
    const gate = lin(h2, l, "w1");
    const up = lin(h2, l, "w3");
    const act = g.op("Mul", [g.op("Mul", [gate, g.op("Sigmoid", [gate])]), up]);
    x = g.op("Add", [x, lin(act, l, "w2")]);
  }
  g.output(x, "hidden_out", [batch, "seq", c.dim]);
  return g.build();
}

/** A [vocab, dim] client matrix in memory or left in the model file (gguf-map.ts), or a
 * Q8_0, Q4_0, Q4_K or Q6_K matrix as stored for a `quantized` graph. */
export type ClientMatrix = Float32Array | MappedLinear | BlockLinear;

function clientMatrix(g: GraphBuilder, name: string, w: ClientMatrix, dims: number[]): string {
  if (w instanceof Float32Array) return g.weight(name, w, dims);
  return w.kind === "blocks" ? g.weight(name, blockValues(w.m), dims) : g.external(name, dims, w.location, w.offset);
}

interface Prelude {
  readonly cos: string;
  readonly sin: string;
  readonly mask: string;
}

const gatherRows = (g: GraphBuilder, table: string, positions: string) => g.op("Gather", [table, positions], [attr.int("axis", 0)]);

/** One sequence: `pos` a scalar; positions of the new tokens, their rotary tables
 * [S, headSize/2], and the causal mask [S, P + S]. */
function prelude(g: GraphBuilder, c: LlamaConfig, x: string): Prelude {
  const pos = g.input("pos", [], "int64");
  const seq = g.op("Gather", [g.op("Shape", [x]), g.i64([1], [])], [attr.int("axis", 0)]);
  const total = g.op("Add", [pos, seq]);
  const one = g.i64([1], []);
  const positions = g.op("Range", [pos, total, one]);
  const [cosTable, sinTable] = ropeTables(c);
  const cos = gatherRows(g, g.weight("rope_cos", cosTable, [c.contextLength, c.headSize / 2]), positions);
  const sin = gatherRows(g, g.weight("rope_sin", sinTable, [c.contextLength, c.headSize / 2]), positions);
  const cols = g.op("Unsqueeze", [g.op("Range", [g.i64([0], []), total, one]), g.i64([0])]);
  const rows = g.op("Unsqueeze", [positions, g.i64([1])]);
  const mask = g.op("Where", [g.op("LessOrEqual", [cols, rows]), g.f32([0], []), g.f32([-1e9], [])]);
  return { cos, sin, mask };
}

/** B rows: `pos` [B]; rotary tables [B, 1, S, headSize/2] and the mask [B, 1, 1, S, P + S].
 * Column j of row b holds position j - P + pos[b]: it is seen by new token s when that is
 * ≥ 0 (not padding) and ≤ pos[b] + s (causal), i.e. P - pos[b] ≤ j ≤ P + s. */
function batchedPrelude(g: GraphBuilder, c: LlamaConfig, x: string, firstPast: string): Prelude {
  const pos = g.input("pos", ["batch"], "int64");
  const dim = (v: string, i: number) => g.op("Gather", [g.op("Shape", [v]), g.i64([i], [])], [attr.int("axis", 0)]);
  const seq = dim(x, 1);
  const past = dim(firstPast, 2);
  const zero = g.i64([0], []);
  const one = g.i64([1], []);
  const steps = g.op("Range", [zero, seq, one]); // [S]
  const positions = g.op("Add", [g.op("Unsqueeze", [pos, g.i64([1])]), g.op("Unsqueeze", [steps, g.i64([0])])]); // [B, S]
  const [cosTable, sinTable] = ropeTables(c);
  const heads = (t: string) => g.op("Unsqueeze", [t, g.i64([1])]);
  const cos = heads(gatherRows(g, g.weight("rope_cos", cosTable, [c.contextLength, c.headSize / 2]), positions));
  const sin = heads(gatherRows(g, g.weight("rope_sin", sinTable, [c.contextLength, c.headSize / 2]), positions));
  const cols = g.op("Range", [zero, g.op("Add", [past, seq]), one]); // [T]
  const lo = g.op("Reshape", [g.op("Sub", [past, pos]), g.i64([-1, 1, 1])]); // [B, 1, 1]
  const hi = g.op("Reshape", [g.op("Add", [past, steps]), g.i64([1, -1, 1])]); // [1, S, 1]
  const seen = g.op("And", [g.op("GreaterOrEqual", [cols, lo]), g.op("LessOrEqual", [cols, hi])]); // [B, S, T]
  const mask = g.op("Unsqueeze", [g.op("Where", [seen, g.f32([0], []), g.f32([-1e9], [])]), g.i64([1, 2])]);
  return { cos, sin, mask };
}

/** Client: token ids [1, S] (int64) → embeddings [1, S, dim]. */
export function buildEmbeddingGraph(c: LlamaConfig, embedding: ClientMatrix): Uint8Array {
  const g = new GraphBuilder("efed_embedding");
  const tokens = g.input("tokens", [1, "seq"], "int64");
  if (!(embedding instanceof Float32Array) && embedding.kind === "blocks" && embedding.m.bits === 8 && embedding.m.block === QUANT_BLOCK) {
    // a Q8_0 table stays int8: com.microsoft GatherBlockQuantized decodes only the rows
    // looked up, to exactly the f32 values the blocks decode to (quant.test.ts)
    const q8 = embedding.m;
    const table = g.bytes("embedding.q8", q8.q, [c.vocabSize, c.dim]);
    const scales = g.weight("embedding.scales", q8.scales, [c.vocabSize, c.dim / QUANT_BLOCK]);
    const attrs = [attr.int("gather_axis", 0), attr.int("quantize_axis", 1), attr.int("block_size", QUANT_BLOCK), attr.int("bits", 8)];
    g.output(g.msOp("GatherBlockQuantized", [table, tokens, scales], attrs), "hidden", [1, "seq", c.dim]);
    return g.build();
  }
  const table = clientMatrix(g, "embedding", embedding, [c.vocabSize, c.dim]);
  g.output(g.op("Gather", [table, tokens], [attr.int("axis", 0)]), "hidden", [1, "seq", c.dim]);
  return g.build();
}

/** Client: hidden [1, S, dim] → final norm → logits [1, S, vocab]. `quantized`: a
 * Q8_0-exact output matrix, or Q8_0, Q4_0, Q4_K or Q6_K blocks, run as MatMulNBits, as the layers do
 * (local generation only: a Q8_0 model's head is a quarter of the bytes a decode step
 * reads, as f32). */
export function buildHeadGraph(c: LlamaConfig, outputNorm: Float32Array, output: ClientMatrix, o: { quantized?: boolean } = {}): Uint8Array {
  const g = new GraphBuilder("efed_head");
  const x = g.input("hidden", [1, "seq", c.dim]);
  const h = rmsnorm(g, x, g.weight("output_norm", outputNorm, [c.dim]), c.normEps);
  const q = o.quantized !== true ? undefined : output instanceof Float32Array ? exactQ8_0(output, c.vocabSize, c.dim) : output.kind === "blocks" ? output.m : undefined;
  const logits = q !== undefined ? int8MatMul(g, h, "output", q) : gemmT(g, h, clientMatrix(g, "output", output, [c.vocabSize, c.dim]), c.vocabSize, c.dim);
  g.output(logits, "logits", [1, "seq", c.vocabSize]);
  return g.build();
}
