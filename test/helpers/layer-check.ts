// One shard per layer held to the float64 reference, layer by layer and position by
// position, over steps of token ids that extend each shard's cache (the onnx and fused-graph
// tests share it).
import assert from "node:assert/strict";
import type { KvCache, ShardRunner } from "../../node/model/onnx/runtime.ts";
import type { ReferenceModel } from "../../node/model/reference.ts";
import type { LlamaConfig } from "../../node/model/types.ts";
import { relErr } from "./numeric.ts";

/** Runs `steps` through `shards` (shard l holds layer l) and asserts every layer's output
 * within `tolerance` of the reference's; returns every layer-position's relative error, the
 * worst, and the positions run. */
export async function checkLayers(c: LlamaConfig, ref: ReferenceModel, shards: ShardRunner[], caches: KvCache[], steps: number[][], tolerance = 1e-4): Promise<{ worst: number; positions: number; errors: number[] }> {
  let pos = 0;
  let worst = 0;
  const errors: number[] = [];
  for (const ids of steps) {
    let h = Float32Array.from(ids.flatMap((t) => [...ref.embed(t)]));
    const refIn = ids.map((t) => ref.embed(t));
    for (let l = 0; l < c.nLayers; l++) {
      h = Float32Array.from(await shards[l].step(caches[l], h, ids.length));
      for (let i = 0; i < ids.length; i++) {
        refIn[i] = ref.layers(refIn[i], pos + i, l, l + 1);
        const err = relErr(h.subarray(i * c.dim, (i + 1) * c.dim), refIn[i]);
        worst = Math.max(worst, err);
        errors.push(err);
        assert.ok(err < tolerance, `layer ${l}, position ${pos + i}: relative error ${err}`);
      }
    }
    pos += ids.length;
  }
  return { worst, positions: pos, errors };
}
