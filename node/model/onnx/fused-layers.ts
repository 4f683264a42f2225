// The shard graph of layers.ts with onnxruntime's fused CPU operators, where they run (CPU,
// head size a multiple of 16): `generate --local`, servers (batched, for their continuous
// batching) and verifiers' re-checks. A decode step of the 48M model spent about a fifth of its
// time not multiplying matrices but stepping through 85 small nodes per layer (norms,
// rotary, reshapes, the cache's Concat and the Identity copies of it); here a layer is
// about a dozen nodes:
//   SimplifiedLayerNormalization / SkipSimplifiedLayerNormalization — the RMS norm, with the
//     residual Add of the step before folded in;
//   FusedMatMul with transB — x Wᵀ on W as stored, without the Reshapes around a Gemm;
//   GroupQueryAttention — rotary on q and k, the cache append, causal grouped-query
//     attention, and the present cache written straight to the graph output.
// Same inputs and outputs as buildShardGraph's graphs (batched: caches right-padded, not
// left), so ShardRunner and BatchRunner run either. It is held to the float64 reference
// within the same bound (test/node/model/onnx.test.ts). A server and the verifier that
// re-checks it build the same graph; an older server on the plain graph differs from this
// one by the order of its sums: 1.2e-6 relative, 80× under the audits' 1e-4 (bench/audits.json
// honestFused: plain step-by-step decoding against one fused teacher-forced run).
import onnxProto from "onnx-proto";
import { attr, GraphBuilder, MS_DOMAIN } from "./graph.ts";
import { cacheNames } from "./cache-names.ts";
import { linear, ropeTables, type ShardGraphOptions } from "./layers.ts";
import type { Device } from "./runtime.ts";
import type { LayerMatrix, LlamaConfig } from "../types.ts";

const INT32 = onnxProto.onnx.TensorProto.DataType.INT32;

/** Whether the fused graph runs `c` on `device`: onnxruntime's CPU GroupQueryAttention
 * wants a head size that is a multiple of 16 (stories260K's is 8: it keeps the plain
 * graph), and only the CPU provider is measured and tested with it. */
export function fusedGraphRuns(c: LlamaConfig, device: Device): boolean {
  return device === "cpu" && c.headSize % 16 === 0;
}

/** RMS norm of x, or of x + skip (then also returns that sum: the residual stream). */
function norm(g: GraphBuilder, c: LlamaConfig, x: string, skip: string | undefined, weight: string): { h: string; x: string } {
  const eps = attr.float("epsilon", c.normEps);
  if (skip === undefined) return { h: g.op("SimplifiedLayerNormalization", [x, weight], [attr.int("axis", -1), eps, attr.int("stash_type", 1)]), x };
  const [h, , , sum] = g.opN("SkipSimplifiedLayerNormalization", [x, skip, weight], 4, [eps], MS_DOMAIN);
  return { h, x: sum };
}

/**
 * Layers [start, end) as buildShardGraph(c, o) computes them, with fused operators.
 * Unbatched: inputs `hidden` [1, S, dim], `pos` (int64 scalar, the cached length), caches
 * `past_k_l`/`past_v_l` [1, kvHeads, P, headSize]; outputs `hidden_out` and the presents
 * [1, kvHeads, P + S, headSize].
 * Batched (`o.batched`, a server's continuous batching): B rows, `pos` [B] each row's cached
 * length, caches [B, kvHeads, P, headSize] with row b's cache RIGHT-padded (its positions
 * first, P = the longest), as GroupQueryAttention takes them: each row attends to its own
 * pos[b] + S positions, rotated from position pos[b]; the presents are [B, kvHeads,
 * P + S, headSize], row b's first pos[b] + S positions its cache (batch-cache.ts).
 */
export function buildFusedShardGraph(c: LlamaConfig, o: ShardGraphOptions): Uint8Array {
  const batched = o.batched === true;
  const batch = batched ? "batch" : 1;
  const g = new GraphBuilder(`efed_layers_${o.start}_${o.end}_fused${batched ? "_batched" : ""}`);
  const hs = c.headSize;
  const x0 = g.input("hidden", [batch, "seq", c.dim]);
  const pos = batched ? g.input("pos", ["batch"], "int64") : g.input("pos", [], "int64");
  // GroupQueryAttention's lengths: the longest total after this step, and each row's total - 1
  const seq = g.op("Gather", [g.op("Shape", [x0]), g.i64([1], [])], [attr.int("axis", 0)]);
  const totals = g.op("Add", [pos, seq]);
  const longest = batched ? g.op("ReduceMax", [totals], [attr.int("keepdims", 0)]) : totals;
  const total = g.op("Cast", [longest], [attr.int("to", INT32)]);
  const lastIndex = g.op("Sub", [totals, g.i64([1], [])]);
  const seqlensK = g.op("Cast", [batched ? lastIndex : g.op("Reshape", [lastIndex, g.i64([1])])], [attr.int("to", INT32)]);
  const [cosTable, sinTable] = ropeTables(c);
  const cos = g.weight("rope_cos", cosTable, [c.contextLength, hs / 2]);
  const sin = g.weight("rope_sin", sinTable, [c.contextLength, hs / 2]);
  const gqa = [
    attr.int("num_heads", c.nHeads),
    attr.int("kv_num_heads", c.nKvHeads),
    attr.float("scale", 1 / Math.sqrt(hs)),
    attr.int("do_rotary", 1),
    attr.int("rotary_interleaved", c.ropeLayout === "pairs" ? 1 : 0),
  ];
  const lin = (v: string, l: number, m: LayerMatrix) => linear(g, c, v, `l${l}.${m}`, o.linear(l, m), m, o.quantized ?? false, undefined, true);

  let x = x0;
  let pending: string | undefined; // the last layer's feed-forward output, not yet added to x
  for (let l = o.start; l < o.end; l++) {
    const n = o.norms(l);
    const names = cacheNames(l);
    const pastK = g.input(names.pastK, [batch, c.nKvHeads, "past", hs]);
    const pastV = g.input(names.pastV, [batch, c.nKvHeads, "past", hs]);
    const a = norm(g, c, x, pending, g.weight(`l${l}.attn_norm`, n.attnNorm, [c.dim]));
    x = a.x;
    const inputs = [lin(a.h, l, "wq"), lin(a.h, l, "wk"), lin(a.h, l, "wv"), pastK, pastV, seqlensK, total, cos, sin];
    const [att] = g.named("GroupQueryAttention", inputs, [`gqa_${l}`, names.presentK, names.presentV], gqa, MS_DOMAIN);
    g.declareOutput(names.presentK, [batch, c.nKvHeads, "total", hs]);
    g.declareOutput(names.presentV, [batch, c.nKvHeads, "total", hs]);
    const f = norm(g, c, x, lin(att, l, "wo"), g.weight(`l${l}.ffn_norm`, n.ffnNorm, [c.dim]));
    x = f.x;
    const gate = lin(f.h, l, "w1");
    const act = g.op("Mul", [g.op("Mul", [gate, g.op("Sigmoid", [gate])]), lin(f.h, l, "w3")]);
    pending = lin(act, l, "w2");
  }
  g.named("Add", [x, pending!], ["hidden_out"]);
  g.declareOutput("hidden_out", [batch, "seq", c.dim]);
  return g.build();
}
