// A fixed little workload for a shard, whose every output tests compare bit for bit between
// two ways of opening the same layers (gguf-map and pack-cache tests).
import assert from "node:assert/strict";
import type { ShardCompute } from "../../node/model/onnx/runtime.ts";

/** A prefill of 5 positions, then 4 single steps: every output. */
export async function runSteps(s: ShardCompute): Promise<Float32Array[]> {
  const cache = s.newCache();
  const outs = [Float32Array.from(await s.step(cache, new Float32Array(5 * s.config.dim).map((_, i) => Math.sin(i * 0.37) * 0.5), 5))];
  for (let i = 0; i < 4; i++) outs.push(Float32Array.from(await s.step(cache, outs.at(-1)!.slice(-s.config.dim), 1)));
  cache.release?.();
  return outs;
}

/** Asserts two shards compute the same steps, bit for bit (runSteps), and releases both. */
export async function assertSameSteps(got: ShardCompute & { release(): Promise<void> }, want: ShardCompute & { release(): Promise<void> }): Promise<void> {
  try {
    assert.deepEqual(await runSteps(got), await runSteps(want));
  } finally {
    await Promise.all([want.release(), got.release()]);
  }
}
