// The KV caches of several inference sessions in one batched run (batch-runner.ts). Row b's
// cache [kvHeads, len_b, headSize] goes in left-padded with zeros to the longest, P:
// [B, kvHeads, P, headSize]. The run appends S positions to every row, so row b's present
// cache is, per head, the last len_b + S positions of its row of [B, kvHeads, P + S, headSize]
// — one contiguous copy per head, which is why the padding goes on the left.
// Padding is zeros, not garbage: masked scores are score − 1e9, and only a finite score
// underflows to exactly 0 in the softmax.

export interface CacheShape {
  readonly kvHeads: number;
  readonly headSize: number;
}

/** Rows [kvHeads, lens[b], headSize] → [B, kvHeads, P, headSize], P = the longest. */
export function padRows(rows: readonly Float32Array[], lens: readonly number[], s: CacheShape): { data: Float32Array; past: number } {
  const { kvHeads: heads, headSize: d } = s;
  const past = Math.max(0, ...lens);
  const data = new Float32Array(rows.length * heads * past * d);
  rows.forEach((row, b) => {
    const len = lens[b];
    if (row.length !== heads * len * d) throw new Error(`row ${b} holds ${row.length} values, expected ${heads}×${len}×${d}`);
    for (let h = 0; h < heads; h++) data.set(row.subarray(h * len * d, (h + 1) * len * d), ((b * heads + h) * past + past - len) * d);
  });
  return { data, past };
}

/** [B, kvHeads, total, headSize] → rows [kvHeads, lens[b] + S, headSize], where S = total − P. */
export function splitRows(present: Float32Array, lens: readonly number[], total: number, s: CacheShape): Float32Array[] {
  const { kvHeads: heads, headSize: d } = s;
  const seq = total - Math.max(0, ...lens);
  if (present.length !== lens.length * heads * total * d) throw new Error(`present holds ${present.length} values, expected ${lens.length}×${heads}×${total}×${d}`);
  return lens.map((len, b) => {
    const keep = len + seq;
    const row = new Float32Array(heads * keep * d);
    for (let h = 0; h < heads; h++) {
      const end = ((b * heads + h) * total + total) * d;
      row.set(present.subarray(end - keep * d, end), h * keep * d);
    }
    return row;
  });
}
