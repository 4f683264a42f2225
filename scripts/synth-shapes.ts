// The synthetic model shapes the benchmarks build (random weights, written at bench time,
// never downloaded). One place, so the model benchmark and its llama.cpp comparison measure
// the same models.

import type { SynthOptions } from "../node/model/synth.ts";

export type SynthShape = Pick<SynthOptions, "dim" | "layers" | "heads" | "kvHeads" | "ffn" | "vocab">;

/** 48,177,664 parameters: the model most benchmarks run. */
export const SHAPE_48M: SynthShape = { dim: 512, layers: 8, heads: 8, kvHeads: 4, ffn: 1408, vocab: 24000 };
/** What EFED_BENCH_QUICK=1 runs instead of the 48M model. */
export const SHAPE_QUICK: SynthShape = { dim: 256, layers: 4, heads: 8, kvHeads: 4, ffn: 704, vocab: 8000 };
/** 301,507,584 parameters, Llama-shaped (head size 64, grouped-query attention 16:8, a
 * 32000-token vocabulary): issue 10's "300M" model. */
export const SHAPE_300M: SynthShape = { dim: 1024, layers: 20, heads: 16, kvHeads: 8, ffn: 2816, vocab: 32000 };
