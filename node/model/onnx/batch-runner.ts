// Continuous batching: a shard that computes the steps of concurrent inference sessions
// together. Steps queue; whenever the runner comes free, the steps waiting at that moment
// that add as many positions (decode steps: one; prompts of one length) go into ONE
// onnxruntime run of the batched graph, a row each, with per-row positions and each
// session's cache padded to the longest past (batch-cache.ts); the present caches go back
// per session. Two batched graphs: the fused one (fused-layers.ts, where it runs: CPU, head
// size a multiple of 16), whose GroupQueryAttention takes right-padded caches with per-row
// lengths and gives each row exactly what it computes alone (it batches prompts only on
// empty caches: other prompts run alone); and the plain one (layers.ts), left-padded under
// a per-row mask, rows within the audits' 1e-4 of alone. A step alone runs as a batch of one
// with no padding — the unbatched graph's computation, bit for bit (batch-runner.test.ts),
// on a session of the process's threads; runs of several rows may have a session of their
// own with more threads (runtime.ts DEFAULT_BATCH_THREADS).
//
// Why padded caches and not GroupQueryAttention's shared past/present buffer: a run's rows
// change every step, while a shared buffer gives every open session (up to 64) a fixed slot
// of the whole context, computed or held whether it steps or not. Padding keeps each cache
// its own (freed with it, bounded by what it used); its copies are paid only when the rows
// change, since the same sessions' next run takes the last run's presents as they are.
import * as ort from "onnxruntime-node";
import { padRows, splitRows, type Padding } from "./batch-cache.ts";
import { count, formRound, GatherPolicy } from "./batch-gather.ts";
import { cacheNames } from "./cache-names.ts";
import { createSession, DEFAULT_BATCH_THREADS, emptyCache, getThreads, type BatchStats, type Device, type KvCache, type ShardCompute } from "./runtime.ts";
import type { LlamaConfig } from "../types.ts";

/** Decode steps computed in one run, at most: 16 sessions' steps cost about twice one step
 * on the 48M model (issue 10); more rows buy little and lengthen every row's wait. */
export const DEFAULT_MAX_BATCH = 16;

/** Positions (rows × positions per row) of one run of several prompts, at most: 16 prompts of
 * 8 positions batch (computed alone, 16 such prompts took 265–348 ms of the worker here;
 * batched, 82–109 ms in 2 runs), a prompt of 256 positions or more runs alone. */
export const MAX_BATCH_POSITIONS = 256;

interface Queued {
  readonly cache: KvCache;
  readonly hidden: Float32Array;
  readonly seq: number;
  readonly resolve: (out: Float32Array) => void;
  readonly reject: (err: Error) => void;
  readonly at: number;
}

export class BatchRunner implements ShardCompute {
  readonly config: LlamaConfig;
  readonly start: number;
  readonly end: number;
  readonly device: Device;
  readonly maxBatch: number;
  readonly batches: BatchStats = { steps: 0, batched: 0, largest: 0, decodeRuns: 0, decodeRows: 0, decodeMs: 0 };
  /** Runs a step alone (the process's threads). */
  private readonly session: ort.InferenceSession;
  /** Runs several rows with `batchThreads` threads, once open; until then, and where the
   * thread counts agree, `session` does. */
  private wide?: ort.InferenceSession;
  /** What opens `wide` at the first run of several rows: a server that never batches never
   * holds the second copy of the weights it costs (for a graph whose weights are in the
   * model file, the bytes kept until then are a few kB). */
  private widen?: { readonly model: Uint8Array; readonly externalDir?: string };
  private threadsForRows: number;
  private readonly shape: { kvHeads: number; headSize: number };
  /** The graph's batch layout: "left" (plain, layers.ts) or "right" (fused, fused-layers.ts,
   * whose GroupQueryAttention batches prompts only on empty caches). */
  private readonly padding: Padding;
  /** The last batched run's sessions, in row order, and its presents: their caches. */
  private group?: { readonly rows: KvCache[]; readonly past: Map<string, ort.Tensor>; readonly grew: number };
  private queue: Queued[] = [];
  private busy = false;
  private readonly gather = new GatherPolicy();
  private readonly keys = new WeakMap<KvCache, number>();
  /** Caches released while a step of theirs was queued or running: a run that computes it
   * does not put the session back among those it waits for. */
  private readonly ended = new WeakSet<KvCache>();
  private nextKey = 0;
  /** Wakes a drain waiting for more steps (gather). */
  private wake?: () => void;

  private constructor(c: LlamaConfig, start: number, end: number, session: ort.InferenceSession, batchThreads: number, device: Device, maxBatch: number, padding: Padding) {
    this.config = c;
    this.start = start;
    this.end = end;
    this.session = session;
    this.threadsForRows = batchThreads;
    this.device = device;
    this.maxBatch = maxBatch;
    this.shape = { kvHeads: c.nKvHeads, headSize: c.headSize };
    this.padding = padding;
  }

  /** `model` is the batched graph of layers [start, end): buildShardGraph with `batched`
   * (`padding` "left"), or buildFusedShardGraph with `batched` ("right").
   * `batchThreads`: what runs of several rows compute with on the CPU, in a second session
   * (a second copy of the layers' weights, opened at the first such run) where it differs
   * from the process's threads. */
  static async create(c: LlamaConfig, start: number, end: number, model: Uint8Array, device: Device, maxBatch = DEFAULT_MAX_BATCH, externalDir?: string, batchThreads = DEFAULT_BATCH_THREADS, padding: Padding = "left"): Promise<BatchRunner> {
    if (!Number.isInteger(maxBatch) || maxBatch < 1) throw new RangeError(`maxBatch must be a positive integer, got ${maxBatch}`);
    if (!Number.isInteger(batchThreads) || batchThreads < 1) throw new RangeError(`batchThreads must be a positive integer, got ${batchThreads}`);
    const s = await createSession(model, device, externalDir);
    // a batch of one never uses it; other providers than the CPU's have no threads to set
    const own = maxBatch > 1 && s.device === "cpu" && batchThreads !== getThreads();
    const r = new BatchRunner(c, start, end, s.session, own ? batchThreads : getThreads(), s.device, maxBatch, padding);
    // a copy: the caller may free its bytes once this returns (shard-worker.ts does)
    if (own) r.widen = { model: new Uint8Array(model), externalDir };
    return r;
  }

  /** Threads a run of several rows computes with. */
  get batchThreads(): number {
    return this.threadsForRows;
  }

  /** Whether runs of several rows have their own session open (after the first such run). */
  get batchSessionOpen(): boolean {
    return this.wide !== undefined;
  }

  /** The session of a run of several rows; the first such run opens it (onnxruntime-node
   * opens a session on the calling thread: that run waits for it, once). */
  private async forRows(): Promise<ort.InferenceSession> {
    const w = this.widen;
    if (w !== undefined) {
      this.widen = undefined;
      try {
        this.wide = (await createSession(w.model, "cpu", w.externalDir, { threads: this.threadsForRows })).session;
      } catch {
        this.threadsForRows = getThreads(); // no second copy here: the one session runs them
      }
    }
    return this.wide ?? this.session;
  }

  /** A cache whose release tells the gather policy the session ended (batch-gather.ts), and
   * wakes a run waiting for it to weigh again. */
  newCache(): KvCache {
    const cache: KvCache = emptyCache(this.config, this.start, this.end);
    cache.release = () => {
      this.ended.add(cache);
      const k = this.keys.get(cache);
      if (k !== undefined) this.gather.forget(k);
      this.wake?.();
    };
    return cache;
  }

  step(cache: KvCache, hidden: Float32Array, seq: number): Promise<Float32Array> {
    const c = this.config;
    if (hidden.length !== seq * c.dim) return Promise.reject(new Error(`hidden has ${hidden.length} values, expected ${seq}×${c.dim}`));
    return new Promise((resolve, reject) => {
      this.queue.push({ cache, hidden, seq, resolve, reject, at: performance.now() });
      this.wake?.();
      if (!this.busy) {
        this.busy = true;
        setImmediate(() => void this.drain());
      }
    });
  }

  async release(): Promise<void> {
    await this.session.release();
    await this.wide?.release();
  }

  /** Runs what is queued, round after round, until nothing is. A round takes each cache's
   * first waiting step (a session's steps stay in order; the next waits for the next round). */
  private async drain(): Promise<void> {
    while (this.queue.length > 0) {
      await this.gathered();
      // GroupQueryAttention takes a batch of several positions a row only on empty caches
      const alone = this.padding === "right" ? (q: Queued) => q.seq > 1 && q.cache.length > 0 : undefined;
      const { runs, later } = formRound(this.queue, this.maxBatch, MAX_BATCH_POSITIONS, alone);
      this.queue = later;
      for (const rows of runs) await this.settle(rows);
      // steps that arrived during this round's runs are taken by the next round
      if (this.queue.length > 0) await new Promise((r) => setImmediate(r));
    }
    this.busy = false;
  }

  /** Waits, as the gather policy says, for the sessions that stepped lately to be queued. */
  private async gathered(): Promise<void> {
    for (;;) {
      const queued = new Set(this.queue.filter((q) => q.seq === 1).map((q) => this.key(q.cache)));
      const ms = this.gather.waitMs(queued, this.queue[0].at, performance.now());
      if (ms <= 0) return;
      await new Promise<void>((resolve) => {
        const t = setTimeout(() => this.wake!(), ms);
        this.wake = () => {
          clearTimeout(t);
          this.wake = undefined;
          resolve();
        };
      });
    }
  }

  private key(cache: KvCache): number {
    let k = this.keys.get(cache);
    if (k === undefined) this.keys.set(cache, (k = this.nextKey++));
    return k;
  }

  private async settle(rows: Queued[]): Promise<void> {
    const c = this.config;
    const ok = rows.filter((q) => {
      if (q.cache.length + q.seq <= c.contextLength) return true;
      q.reject(new Error(`context full: ${q.cache.length} + ${q.seq} > ${c.contextLength}`));
      return false;
    });
    if (ok.length === 0) return;
    const g = this.group;
    // the last run's sessions again, in another order: take them in its order
    if (g !== undefined && ok.length === g.rows.length && ok.length > 1 && ok.every((q) => g.rows.includes(q.cache))) ok.sort((a, b) => g.rows.indexOf(a.cache) - g.rows.indexOf(b.cache));
    const t0 = performance.now();
    try {
      const outs = ok.length === 1 ? [await this.runOne(ok[0])] : await this.runRows(ok);
      const ms = performance.now() - t0;
      if (ok[0].seq === 1) this.gather.ran(ok.filter((q) => !this.ended.has(q.cache)).map((q) => this.key(q.cache)), performance.now(), ms);
      count(this.batches, ok.length, ok[0].seq, ms);
      ok.forEach((q, i) => q.resolve(outs[i]));
    } catch (err) {
      for (const q of ok) q.reject(err as Error);
    }
  }

  /** One session alone: its cache goes in as it is and the presents become its cache. */
  private async runOne(q: Queued): Promise<Float32Array> {
    const c = this.config;
    if (this.group?.rows.includes(q.cache) === true) this.splitGroup();
    const feeds: Record<string, ort.Tensor> = {
      hidden: new ort.Tensor("float32", q.hidden, [1, q.seq, c.dim]),
      pos: new ort.Tensor("int64", BigInt64Array.of(BigInt(q.cache.length)), [1]),
    };
    for (const [k, v] of q.cache.tensors) feeds[k] = v;
    const out = await this.session.run(feeds);
    let bytes = 0;
    for (let l = this.start; l < this.end; l++) {
      const n = cacheNames(l);
      for (const [present, past] of [[n.presentK, n.pastK], [n.presentV, n.pastV]]) {
        const t = out[present] as ort.Tensor;
        q.cache.tensors.set(past, t);
        bytes += 4 * t.size;
      }
    }
    q.cache.length += q.seq;
    q.cache.bytes = bytes;
    return (out.hidden_out as ort.Tensor).data as Float32Array;
  }

  /** Steps of several sessions, each of the same positions, in one run: a row each. The same
   * sessions as the last run's (the steady state of lockstep decoding) feed that run's
   * presents straight back: each row's cache is still padded there, only longer.
   * Otherwise the last run's rows are split back to their sessions and these rows' caches
   * padded anew. */
  private async runRows(rows: Queued[]): Promise<Float32Array[]> {
    const c = this.config;
    const seq = rows[0].seq;
    const lens = rows.map((q) => q.cache.length);
    const hidden = new Float32Array(rows.length * seq * c.dim);
    rows.forEach((q, b) => hidden.set(q.hidden, b * seq * c.dim));
    const feeds: Record<string, ort.Tensor> = {
      hidden: new ort.Tensor("float32", hidden, [rows.length, seq, c.dim]),
      pos: new ort.Tensor("int64", BigInt64Array.from(lens, BigInt), [rows.length]),
    };
    const g = this.group;
    if (g !== undefined && g.rows.length === rows.length && rows.every((q, b) => g.rows[b] === q.cache)) {
      for (const [name, t] of g.past) feeds[name] = t;
    } else {
      if (g !== undefined) this.splitGroup(); // this run's presents replace the group
      for (const name of rows[0].cache.tensors.keys()) {
        const { data, past } = padRows(rows.map((q) => q.cache.tensors.get(name)!.data as Float32Array), lens, this.shape, this.padding);
        feeds[name] = new ort.Tensor("float32", data, [rows.length, c.nKvHeads, past, c.headSize]);
      }
    }
    const out = await (await this.forRows()).run(feeds);
    const past = new Map<string, ort.Tensor>();
    for (let l = this.start; l < this.end; l++) {
      const n = cacheNames(l);
      past.set(n.pastK, out[n.presentK] as ort.Tensor);
      past.set(n.pastV, out[n.presentV] as ort.Tensor);
    }
    // the sessions' own tensors are stale until the group is split (tensorsOf, splitGroup)
    this.group = { rows: rows.map((q) => q.cache), past, grew: seq };
    const perPosition = 2 * (this.end - this.start) * c.nKvHeads * c.headSize * 4;
    const h = (out.hidden_out as ort.Tensor).data as Float32Array;
    return rows.map((q, b) => {
      q.cache.length += seq;
      q.cache.bytes = perPosition * q.cache.length;
      return h.slice(b * seq * c.dim, (b + 1) * seq * c.dim);
    });
  }

  /** A session's cache tensors, split back from the last batched run if it was in it. */
  tensorsOf(cache: KvCache): Map<string, ort.Tensor> {
    if (this.group?.rows.includes(cache) === true) this.splitGroup();
    return cache.tensors;
  }

  /** Splits the last batched run's presents back to its sessions' caches. */
  private splitGroup(): void {
    const g = this.group!;
    this.group = undefined;
    const lens = g.rows.map((cache) => cache.length - g.grew); // each grew by the run's positions
    for (const [name, t] of g.past) {
      splitRows(t.data as Float32Array, lens, t.dims[2], this.shape, this.padding).forEach((row, b) => {
        g.rows[b].tensors.set(name, new ort.Tensor("float32", row, [1, this.config.nKvHeads, lens[b] + g.grew, this.config.headSize]));
      });
    }
  }
}
