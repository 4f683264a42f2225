// The names of a layer's KV cache inputs and outputs in every shard graph (layers.ts,
// fused-layers.ts) and in whoever feeds them (runtime.ts, batch-runner.ts). A module of its
// own so a server's worker thread, which runs graphs but never builds one, does not load the
// graph builders and protobufjs (runtime.ts ShardRunner.open).
export const cacheNames = (l: number) => ({ pastK: `past_k_${l}`, pastV: `past_v_${l}`, presentK: `present_k_${l}`, presentV: `present_v_${l}` });
