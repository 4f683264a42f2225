// A shard computed in worker threads, so that a server's event loop never waits behind a
// forward pass (onnxruntime-node's `run` blocks the thread it runs on). Same graph, same
// onnxruntime options as ShardRunner: results are identical. The KV caches stay in the
// worker; the server holds a handle (length, bytes) per session.
//
// With more than one worker, each holds its own onnxruntime session (its own copy of the
// weights: onnxruntime-node cannot share initializers across sessions) and each inference
// session is placed on the worker with the fewest; concurrent sessions then compute in
// parallel. One worker by default: one copy of the weights. With `maxBatch` > 1 each worker
// batches the decode steps of its sessions that wait at the same moment (batch-runner.ts).
import { Worker } from "node:worker_threads";
import { DeviceUnavailableError } from "../errors.ts";
import type { Padding } from "./batch-cache.ts";
import { DEFAULT_BATCH_THREADS, getThreads, type BatchStats, type Device, type ShardCache, type ShardCompute } from "./runtime.ts";
import type { ShardWorkerInit, ShardWorkerReply } from "./shard-worker.ts";
import type { LlamaConfig } from "../types.ts";

const ENTRY = new URL("./shard-worker.ts", import.meta.url);

interface Pending {
  readonly cache: WorkerCache;
  readonly resolve: (out: Float32Array) => void;
  readonly reject: (err: Error) => void;
}

/** One worker thread and the steps it owes. */
class ShardThread {
  readonly worker: Worker;
  readonly pending = new Map<number, Pending>();
  /** Inference sessions placed here. */
  sessions = 0;
  /** The worker's batching so far, as of its last reply. */
  batches?: BatchStats;
  private dead?: Error;

  constructor(worker: Worker) {
    this.worker = worker;
    worker.unref(); // referenced only while a step is owed (see `owe`)
    worker.on("message", (m: ShardWorkerReply) => this.settle(m));
    worker.on("error", (err) => this.die(err));
    worker.on("exit", (code) => this.die(new Error(`shard worker exited (code ${code})`)));
  }

  send(cache: WorkerCache, id: number, hidden: Float32Array, seq: number): Promise<Float32Array> {
    if (this.dead !== undefined) return Promise.reject(this.dead);
    return new Promise((resolve, reject) => {
      this.pending.set(id, { cache, resolve, reject });
      this.owe();
      // the input is cloned (seq × dim floats): the caller keeps its own for the receipt window
      this.worker.postMessage({ op: "step", id, cache: cache.id, hidden, seq });
    });
  }

  private settle(m: ShardWorkerReply): void {
    if (m.op !== "done" && m.op !== "error") return;
    const p = this.pending.get(m.id);
    if (p === undefined) return;
    this.pending.delete(m.id);
    this.owe();
    if (m.op === "error") return p.reject(new Error(m.message));
    p.cache.length = m.length;
    p.cache.bytes = m.bytes;
    if (m.batches !== undefined) this.batches = m.batches;
    p.resolve(m.out);
  }

  /** Keeps the process alive exactly while a step is owed: a script awaiting one must not
   * exit under it, and an idle server's workers must not hold the process open. */
  private owe(): void {
    if (this.pending.size > 0) this.worker.ref();
    else this.worker.unref();
  }

  private die(err: Error): void {
    this.dead ??= err;
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
  }
}

/** The handle of a cache held in a worker. */
class WorkerCache implements ShardCache {
  length = 0;
  bytes = 0;
  readonly id: number;
  readonly thread: ShardThread;
  freed = false;

  constructor(id: number, thread: ShardThread) {
    this.id = id;
    this.thread = thread;
    thread.sessions++;
  }

  release(): void {
    if (this.freed) return;
    this.freed = true;
    this.thread.sessions--;
    this.thread.worker.postMessage({ op: "free", cache: this.id });
  }
}

export class WorkerShard implements ShardCompute {
  readonly config: LlamaConfig;
  readonly start: number;
  readonly end: number;
  readonly device: Device;
  readonly batchThreads?: number;
  private readonly threads: ShardThread[];
  private ids = 0;

  private constructor(c: LlamaConfig, start: number, end: number, device: Device, threads: ShardThread[], batchThreads: number | undefined) {
    this.batchThreads = batchThreads;
    this.config = c;
    this.start = start;
    this.end = end;
    this.device = device;
    this.threads = threads;
  }

  /** Starts `workers` threads on the serialized shard graph `model` (the batched graph where
   * `maxBatch` > 1). With one worker the graph's bytes are transferred to it (the caller's
   * `model` is detached: no second copy). `externalDir`: where the graph's external weights
   * are (runtime.ts `createSession`); `padding`: the batched graph's cache layout. */
  static async create(c: LlamaConfig, start: number, end: number, model: Uint8Array, device: Device, workers = 1, maxBatch = 1, externalDir?: string, batchThreads = DEFAULT_BATCH_THREADS, padding: Padding = "left"): Promise<WorkerShard> {
    if (!Number.isInteger(workers) || workers < 1) throw new RangeError(`workers must be a positive integer, got ${workers}`);
    if (!Number.isInteger(maxBatch) || maxBatch < 1) throw new RangeError(`maxBatch must be a positive integer, got ${maxBatch}`);
    const started = await Promise.allSettled(Array.from({ length: workers }, (_, i) => startThread(c, start, end, i === workers - 1 ? model : copy(model), device, maxBatch, externalDir, batchThreads, padding)));
    const ok = started.flatMap((s) => (s.status === "fulfilled" ? [s.value] : []));
    const failed = started.find((s) => s.status === "rejected");
    if (failed !== undefined) {
      await Promise.all(ok.map((t) => t.thread.worker.terminate()));
      throw failed.reason;
    }
    return new WorkerShard(c, start, end, ok[0].device, ok.map((t) => t.thread), ok[0].batchThreads);
  }

  get workers(): number {
    return this.threads.length;
  }

  /** The workers' batching, summed (undefined where steps are not batched). */
  get batches(): BatchStats | undefined {
    const all = this.threads.flatMap((t) => (t.batches === undefined ? [] : [t.batches]));
    if (all.length === 0) return undefined;
    const total = (k: Exclude<keyof BatchStats, "largest">) => sum(all.map((b) => b[k]));
    return { steps: total("steps"), batched: total("batched"), largest: Math.max(...all.map((b) => b.largest)), decodeRuns: total("decodeRuns"), decodeRows: total("decodeRows"), decodeMs: total("decodeMs") };
  }

  newCache(): ShardCache {
    const least = this.threads.reduce((a, b) => (b.sessions < a.sessions ? b : a));
    return new WorkerCache(this.ids++, least);
  }

  async step(cache: ShardCache, hidden: Float32Array, seq: number): Promise<Float32Array> {
    const c = this.config;
    if (!(cache instanceof WorkerCache) || !this.threads.includes(cache.thread)) throw new Error("the cache was not made by this shard");
    // the worker would start a fresh cache under a freed id: never compute on one
    if (cache.freed) throw new Error("the session's cache was released");
    if (hidden.length !== seq * c.dim) throw new Error(`hidden has ${hidden.length} values, expected ${seq}×${c.dim}`);
    if (cache.length + seq > c.contextLength) throw new Error(`context full: ${cache.length} + ${seq} > ${c.contextLength}`);
    return cache.thread.send(cache, this.ids++, hidden, seq);
  }

  async release(): Promise<void> {
    await Promise.all(this.threads.map((t) => t.worker.terminate()));
  }
}

function startThread(c: LlamaConfig, start: number, end: number, model: Uint8Array, device: Device, maxBatch: number, externalDir: string | undefined, batchThreads: number, padding: Padding): Promise<{ thread: ShardThread; device: Device; batchThreads?: number }> {
  // a view into a larger buffer would be cloned whole: hand over a buffer of its own
  const own = model.byteOffset === 0 && model.byteLength === model.buffer.byteLength ? model : copy(model);
  const init: ShardWorkerInit = { config: c, start, end, model: own, device, threads: getThreads(), maxBatch, batchThreads, padding, externalDir };
  let worker: Worker;
  try {
    worker = new Worker(ENTRY, { workerData: init, transferList: [own.buffer as ArrayBuffer] });
  } catch (err) {
    return Promise.reject(err as Error); // settled with the others, which are then stopped
  }
  return new Promise((resolve, reject) => {
    const early = (err: Error) => reject(err);
    worker.once("error", early);
    worker.once("message", (m: ShardWorkerReply) => {
      worker.off("error", early);
      if (m.op === "ready") resolve({ thread: new ShardThread(worker), device: m.device, batchThreads: m.batchThreads });
      else if (m.op === "failed") {
        void worker.terminate();
        reject(m.name === "DeviceUnavailableError" ? new DeviceUnavailableError(m.message) : new Error(m.message));
      } else reject(new Error(`shard worker said ${m.op} before it was ready`));
    });
  });
}

const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

/** A copy with a buffer of its own (a Node Buffer's `slice` would share the original's). */
function copy(b: Uint8Array): Uint8Array {
  return new Uint8Array(b);
}
