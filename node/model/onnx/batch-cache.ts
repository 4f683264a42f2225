// The KV caches of several inference sessions in one batched run (batch-runner.ts). Row b's
// cache [kvHeads, len_b, headSize] goes in padded with zeros to the longest, P:
// [B, kvHeads, P, headSize]. The run appends S positions to every row.
//   left (the plain batched graph, layers.ts): row b's positions are the LAST len_b of P, so
//     its present cache is, per head, the last len_b + S positions of its row of
//     [B, kvHeads, P + S, headSize] — one contiguous copy per head. Padding is zeros, not
//     garbage: masked scores are score − 1e9, and only a finite score underflows to exactly 0.
//   right (the fused batched graph, fused-layers.ts, as GroupQueryAttention takes a batch):
//     row b's positions are the FIRST len_b, and its present cache the first len_b + S.

export interface CacheShape {
  readonly kvHeads: number;
  readonly headSize: number;
}

/** Where a row's shorter cache leaves its padding. */
export type Padding = "left" | "right";

/** Rows [kvHeads, lens[b], headSize] → [B, kvHeads, P, headSize], P = the longest. */
export function padRows(rows: readonly Float32Array[], lens: readonly number[], s: CacheShape, side: Padding = "left"): { data: Float32Array; past: number } {
  const { kvHeads: heads, headSize: d } = s;
  const past = Math.max(0, ...lens);
  const data = new Float32Array(rows.length * heads * past * d);
  rows.forEach((row, b) => {
    const len = lens[b];
    if (row.length !== heads * len * d) throw new Error(`row ${b} holds ${row.length} values, expected ${heads}×${len}×${d}`);
    const skip = side === "left" ? past - len : 0;
    for (let h = 0; h < heads; h++) data.set(row.subarray(h * len * d, (h + 1) * len * d), ((b * heads + h) * past + skip) * d);
  });
  return { data, past };
}

/** [B, kvHeads, total, headSize] → rows [kvHeads, lens[b] + S, headSize], where S = total − P. */
export function splitRows(present: Float32Array, lens: readonly number[], total: number, s: CacheShape, side: Padding = "left"): Float32Array[] {
  const { kvHeads: heads, headSize: d } = s;
  const seq = total - Math.max(0, ...lens);
  if (present.length !== lens.length * heads * total * d) throw new Error(`present holds ${present.length} values, expected ${lens.length}×${heads}×${total}×${d}`);
  return lens.map((len, b) => {
    const keep = len + seq;
    const row = new Float32Array(heads * keep * d);
    for (let h = 0; h < heads; h++) {
      const first = ((b * heads + h) * total + (side === "left" ? total - keep : 0)) * d;
      row.set(present.subarray(first, first + keep * d), h * keep * d);
    }
    return row;
  });
}
