// onnxruntime-node sessions on the chosen device, and a shard runner that keeps one KV
// cache per inference session.
import { existsSync } from "node:fs";
import { availableParallelism } from "node:os";
import * as ort from "onnxruntime-node";
import { DeviceUnavailableError } from "../errors.ts";
import { cacheNames } from "./cache-names.ts";
import { createPackedSession, type PackCache } from "./pack-cache.ts";
import type { ShardGraphOptions } from "./layers.ts";
import type { LlamaConfig } from "../types.ts";

// onnxruntime logs failures to stderr itself; we report them as one clear error instead.
ort.env.logLevel = "fatal";

export const DEVICES = ["cpu", "webgpu", "cuda", "auto"] as const;
export type Device = (typeof DEVICES)[number];

/** Threads each onnxruntime session computes with (intra-op; inter-op stays 1, as graphs run
 * sequentially). One by default for servers and verifiers: they share their cores with
 * libp2p, the chain client and (a server) many sessions at once. */
export const DEFAULT_THREADS = 1;

/** `efed generate`'s default: every core. One user's decode and prefill have the machine;
 * with pool threads that sleep instead of spinning, two threads on this 2-core VM decode
 * 1.3-1.4× and prefill 1.8-1.9× as fast as one (bench/model.json "vsLlamaCpp", 48M and 300M F32). */
export const GENERATE_THREADS = availableParallelism();

/** Threads a server's batched runs (several sessions' rows, batch-runner.ts) compute with.
 * Where it differs from `threads`, those runs get an onnxruntime session of their own (a
 * second copy of the layers' weights, opened at the first batched run). One by default, so a
 * server holds one copy: two threads raised 16 sessions' throughput by 27% (822.1 steps/s
 * against 646.5, bench/swarm.json "sessions") and the RSS from 1.75 to 2.73 times the layer
 * bytes (bench/model.json "serverMemory"), for a server with memory and idle cores to spare
 * (`--batch-threads 2`). */
export const DEFAULT_BATCH_THREADS = 1;

// The CPU budget belongs to the process, not to one session: a command sets it once
// (`--threads`) and every session it opens — shards, embedding, head, a verifier's
// re-check copies — uses it, without threading the count through every constructor.
let threads = DEFAULT_THREADS;

/** Sets the thread count for sessions created from now on. */
export function setThreads(n: number): void {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`threads must be a positive integer, got ${n}`);
  threads = n;
}

export function getThreads(): number {
  return threads;
}

/** WebGPU on Linux runs on Vulkan; without the loader, Dawn prints native warnings and fails,
 * so we check first and say what is missing. */
function missingPrerequisite(device: Device): string | undefined {
  if (device !== "webgpu" || process.platform !== "linux") return undefined;
  const dirs = [...(process.env.LD_LIBRARY_PATH ?? "").split(":"), "/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/usr/lib64", "/usr/lib", "/lib/x86_64-linux-gnu", "/lib64", "/usr/local/lib"];
  return dirs.some((d) => d !== "" && existsSync(`${d}/libvulkan.so.1`)) ? undefined : "WebGPU needs the Vulkan loader (libvulkan.so.1), which is not installed";
}

/** What a session may have of its own: a thread count instead of the process's
 * (batch-runner.ts), and on the CPU a packed copy of its weights kept on disk (pack-cache.ts,
 * `generate --local --pack-cache`), with where to say that one is being written. */
export interface SessionExtras {
  readonly threads?: number;
  readonly pack?: PackCache;
  readonly say?: (line: string) => void;
}

/** The options every session is created with: `n` intra-op threads that do not spin. */
export function sessionOptions(device: Device, externalDir?: string, n = threads): ort.InferenceSession.SessionOptions {
  return {
    executionProviders: [device],
    graphOptimizationLevel: "all",
    intraOpNumThreads: n,
    interOpNumThreads: 1,
    logSeverityLevel: 3,
    // onnxruntime's pool threads spin between ops by default; on a machine with no idle
    // core the spinning threads take the cores from the ones with work: at 2 threads on
    // 2 cores, decode ran slower than on 1 thread, and at 1.2-1.5× it without spinning
    // (bench/model.json "vsLlamaCpp", threads=2)
    extra: { session: { intra_op: { allow_spinning: "0" }, ...(externalDir === undefined ? {} : { model_external_initializers_file_folder_path: externalDir }) } },
  };
}

/** Creates a session on `device`. An explicitly requested provider that does not work here
 * is an error, never a silent fallback; `auto` tries CUDA, then WebGPU, then CPU.
 * `externalDir`: the folder of the files a graph's external initializers name (graph.ts
 * `external`); onnxruntime reads them from there itself. */
export async function createSession(model: Uint8Array, device: Device, externalDir?: string, own?: SessionExtras): Promise<{ session: ort.InferenceSession; device: Device }> {
  const order: Device[] = device === "auto" ? ["cuda", "webgpu", "cpu"] : [device];
  const failures: string[] = [];
  for (const d of order) {
    const missing = missingPrerequisite(d);
    if (missing !== undefined) {
      failures.push(`${d}: ${missing}`);
      continue;
    }
    try {
      const options = sessionOptions(d, externalDir, own?.threads);
      const session = d === "cpu" && own?.pack !== undefined ? await createPackedSession(model, options, own.pack, own.say) : await ort.InferenceSession.create(model, options);
      return { session, device: d };
    } catch (err) {
      failures.push(`${d}: ${((err as Error).message ?? String(err)).split("\n")[0]}`);
    }
  }
  if (device === "auto") throw new DeviceUnavailableError(`no execution provider could run the model (${failures.join("; ")})`);
  throw new DeviceUnavailableError(`the ${device} execution provider is not available on this machine (${failures[0]})`);
}

/** What a server knows of one inference session's KV cache, wherever the tensors live. */
export interface ShardCache {
  length: number; // positions cached
  bytes: number;
  /** Frees the tensors now (a cache held by a worker thread is not garbage-collected). */
  release?(): void;
}

/** KV cache of one inference session in one shard: present tensors of every layer. */
export interface KvCache extends ShardCache {
  tensors: Map<string, ort.Tensor>;
}

/** How a batching shard has run its steps (batch-runner.ts). */
export interface BatchStats {
  /** Steps computed. */
  steps: number;
  /** Of those, steps computed in one run with other sessions' steps. */
  batched: number;
  /** The most rows of one run. */
  largest: number;
  /** Runs of several sessions' decode steps, their rows, and the milliseconds they took (the
   * runner's clock): what a round of lockstep decoding costs, and how busy the runner is. */
  decodeRuns: number;
  decodeRows: number;
  decodeMs: number;
}

/** A shard's computation, in this thread (ShardRunner, BatchRunner) or in worker threads
 * (WorkerShard). */
export interface ShardCompute {
  readonly config: LlamaConfig;
  readonly start: number;
  readonly end: number;
  readonly device: Device;
  /** Where steps are batched: how. */
  readonly batches?: BatchStats;
  /** Where steps are batched: the threads a run of several rows computes with. */
  readonly batchThreads?: number;
  newCache(): ShardCache;
  /** Runs `seq` new positions ([seq × dim] floats) through the shard, extending `cache`. */
  step(cache: ShardCache, hidden: Float32Array, seq: number): Promise<Float32Array>;
  release(): Promise<void>;
}

/** A cache with no positions yet: [1, kvHeads, 0, headSize] for every layer. */
export function emptyCache(c: LlamaConfig, start: number, end: number): KvCache {
  const tensors = new Map<string, ort.Tensor>();
  const empty = () => new ort.Tensor("float32", new Float32Array(0), [1, c.nKvHeads, 0, c.headSize]);
  for (let l = start; l < end; l++) {
    const n = cacheNames(l);
    tensors.set(n.pastK, empty());
    tensors.set(n.pastV, empty());
  }
  return { length: 0, tensors, bytes: 0 };
}

export class ShardRunner implements ShardCompute {
  readonly config: LlamaConfig;
  readonly start: number;
  readonly end: number;
  readonly device: Device;
  /** Whether it runs the fused graph (fused-layers.ts). */
  readonly fused: boolean;
  private readonly session: ort.InferenceSession;

  private constructor(c: LlamaConfig, start: number, end: number, session: ort.InferenceSession, device: Device, fused: boolean) {
    this.config = c;
    this.start = start;
    this.end = end;
    this.session = session;
    this.device = device;
    this.fused = fused;
  }

  /** Layers [o.start, o.end) as buildShardGraph makes them (or buildFusedShardGraph, with
   * `o.fused` where it runs), opened: the usual way to get one. */
  static async open(c: LlamaConfig, o: ShardGraphOptions, device: Device, externalDir?: string, extras?: SessionExtras): Promise<ShardRunner> {
    // the graph builders load here, not with this module: a server's worker thread runs a
    // graph it is given and never builds one (with protobufjs they took ~2 MB of a server)
    const [{ buildShardGraph }, { buildFusedShardGraph, fusedGraphRuns }] = await Promise.all([import("./layers.ts"), import("./fused-layers.ts")]);
    const fused = o.fused === true && fusedGraphRuns(c, device);
    return ShardRunner.create(c, o.start, o.end, fused ? buildFusedShardGraph(c, o) : buildShardGraph(c, o), device, externalDir, fused, extras);
  }

  /** `fused`: `model` is the fused graph (only said, for whoever reports what ran). */
  static async create(c: LlamaConfig, start: number, end: number, model: Uint8Array, device: Device, externalDir?: string, fused = false, extras?: SessionExtras): Promise<ShardRunner> {
    const s = await createSession(model, device, externalDir, extras);
    return new ShardRunner(c, start, end, s.session, s.device, fused);
  }

  newCache(): KvCache {
    return emptyCache(this.config, this.start, this.end);
  }

  /** Runs `seq` new positions ([seq × dim] floats) through the shard, extending `cache`. */
  async step(cache: KvCache, hidden: Float32Array, seq: number): Promise<Float32Array> {
    const c = this.config;
    if (hidden.length !== seq * c.dim) throw new Error(`hidden has ${hidden.length} values, expected ${seq}×${c.dim}`);
    if (cache.length + seq > c.contextLength) throw new Error(`context full: ${cache.length} + ${seq} > ${c.contextLength}`);
    const feeds: Record<string, ort.Tensor> = {
      hidden: new ort.Tensor("float32", hidden, [1, seq, c.dim]),
      pos: new ort.Tensor("int64", BigInt64Array.of(BigInt(cache.length)), []),
    };
    for (const [k, v] of cache.tensors) feeds[k] = v;
    const out = await this.session.run(feeds);
    let bytes = 0;
    for (let l = this.start; l < this.end; l++) {
      const n = cacheNames(l);
      const k = out[n.presentK] as ort.Tensor;
      const v = out[n.presentV] as ort.Tensor;
      cache.tensors.set(n.pastK, k);
      cache.tensors.set(n.pastV, v);
      bytes += 4 * (k.size + v.size);
    }
    cache.length += seq;
    cache.bytes = bytes;
    return (out.hidden_out as ort.Tensor).data as Float32Array;
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}

/** Runs a single-input, single-output client graph. */
export class ClientGraph {
  private readonly session: ort.InferenceSession;
  private constructor(session: ort.InferenceSession) {
    this.session = session;
  }
  static async create(model: Uint8Array, device: Device, externalDir?: string, extras?: SessionExtras): Promise<ClientGraph> {
    return new ClientGraph((await createSession(model, device, externalDir, extras)).session);
  }
  async run(input: ort.Tensor): Promise<ort.Tensor> {
    const name = this.session.inputNames[0];
    const out = await this.session.run({ [name]: input });
    return out[this.session.outputNames[0]] as ort.Tensor;
  }
  async release(): Promise<void> {
    await this.session.release();
  }
}
