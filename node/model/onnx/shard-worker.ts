// The worker-thread side of a WorkerShard (worker-shard.ts): one onnxruntime session of a
// shard and the KV caches of the inference sessions placed on this worker. onnxruntime-node's
// `run` is synchronous (it blocks its thread for the whole forward pass), so it runs here and
// the server's event loop stays free for libp2p, pings and other sessions' frames.
import { parentPort, workerData } from "node:worker_threads";
import { setThreads, ShardRunner, type BatchStats, type Device, type KvCache } from "./runtime.ts";
import { BatchRunner } from "./batch-runner.ts";
import type { Padding } from "./batch-cache.ts";
import type { LlamaConfig } from "../types.ts";

/** What the parent passes at start: the graph's bytes arrive transferred, not copied. */
export interface ShardWorkerInit {
  readonly config: LlamaConfig;
  readonly start: number;
  readonly end: number;
  readonly model: Uint8Array;
  readonly device: Device;
  readonly threads: number;
  /** The folder of the files the graph's external initializers name (runtime.ts). */
  readonly externalDir?: string;
  /** Decode steps batched into one run, at most; 1: each alone (`model` is then the
   * unbatched graph, otherwise the batched one). */
  readonly maxBatch: number;
  /** Threads a batched run of several rows computes with (batch-runner.ts). */
  readonly batchThreads: number;
  /** The batched graph's cache layout (batch-cache.ts). */
  readonly padding: Padding;
}

export type ShardWorkerRequest =
  | { readonly op: "step"; readonly id: number; readonly cache: number; readonly hidden: Float32Array; readonly seq: number }
  | { readonly op: "free"; readonly cache: number };

export type ShardWorkerReply =
  | { readonly op: "ready"; readonly device: Device; readonly batchThreads?: number }
  | { readonly op: "failed"; readonly message: string; readonly name: string }
  | { readonly op: "done"; readonly id: number; readonly out: Float32Array; readonly length: number; readonly bytes: number; readonly batches?: BatchStats }
  | { readonly op: "error"; readonly id: number; readonly message: string };

const port = parentPort!;
const init = workerData as ShardWorkerInit;
const caches = new Map<number, KvCache>();
let runner: ShardRunner | BatchRunner;

try {
  setThreads(init.threads);
  const { config: c, start, end, model, device, externalDir } = init;
  runner = init.maxBatch > 1 ? await BatchRunner.create(c, start, end, model, device, init.maxBatch, externalDir, init.batchThreads, init.padding) : await ShardRunner.create(c, start, end, model, device, externalDir);
  // onnxruntime holds the weights now; workerData would keep the graph's bytes (the size of
  // the weights, unless they are external) for the worker's life: free them at once
  (init.model.buffer as ArrayBuffer & { transfer(length: number): ArrayBuffer }).transfer(0);
  port.postMessage({ op: "ready", device: runner.device, batchThreads: runner instanceof BatchRunner ? runner.batchThreads : undefined } satisfies ShardWorkerReply);
} catch (err) {
  port.postMessage({ op: "failed", message: (err as Error).message, name: (err as Error).name } satisfies ShardWorkerReply);
  process.exit(0);
}

port.on("message", (m: ShardWorkerRequest) => {
  if (m.op === "free") {
    caches.get(m.cache)?.release?.(); // a batching runner stops waiting for the session
    caches.delete(m.cache);
    return;
  }
  void step(m);
});

async function step(m: Extract<ShardWorkerRequest, { op: "step" }>): Promise<void> {
  try {
    let cache = caches.get(m.cache);
    if (cache === undefined) caches.set(m.cache, (cache = runner.newCache()));
    const out = await runner.step(cache, m.hidden, m.seq);
    const reply: ShardWorkerReply = { op: "done", id: m.id, out, length: cache.length, bytes: cache.bytes, batches: runner instanceof BatchRunner ? runner.batches : undefined };
    // onnxruntime's output buffer is handed over, not cloned, where it can be detached
    try {
      port.postMessage(reply, [out.buffer as ArrayBuffer]);
    } catch {
      port.postMessage(reply);
    }
  } catch (err) {
    port.postMessage({ op: "error", id: m.id, message: (err as Error).message } satisfies ShardWorkerReply);
  }
}
