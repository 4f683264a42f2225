// Continuous batching: a shard that computes the decode steps of concurrent inference
// sessions together. Steps queue; whenever the runner comes free, the single-position steps
// (decode) waiting at that moment go into ONE onnxruntime run of the batched graph (layers.ts,
// `batched`), a row each: per-row positions, caches left-padded to the longest past
// (batch-cache.ts) under a per-row mask, and the present caches split back per session.
// Steps of several positions (prefill) and a lone decode step run as a batch of one with no
// padding — the same computation as the unbatched graph, bit for bit (batch-runner.test.ts).
//
// Why padded caches and not com.microsoft GroupQueryAttention with per-row `seqlens_k` over
// caches in preallocated buffers: the rows of a run change every step (whichever sessions
// are waiting), while GQA's shared past/present buffer gives every row a fixed slot of the
// whole context, so either every open session's slot is computed every step or the caches
// are gathered into a batch anyway; slots for the 64 sessions a server admits would also hold
// 64 × context of cache from the start. Padding keeps each session's cache its own (freed
// with it, bounded by what it used), keeps the audited graph unchanged for single rows, and
// its copies (in and out, a few MB a step for 16 sessions of the 48M model) cost less than
// the MatMuls they batch (README, "Many users per server").
import * as ort from "onnxruntime-node";
import { padRows, splitRows } from "./batch-cache.ts";
import { cacheNames } from "./layers.ts";
import { createSession, emptyCache, type BatchStats, type Device, type KvCache, type ShardCompute } from "./runtime.ts";
import type { LlamaConfig } from "../types.ts";

/** Decode steps computed in one run, at most: 16 sessions' steps cost about twice one step
 * on the 48M model (issue 10); more rows buy little and lengthen every row's wait. */
export const DEFAULT_MAX_BATCH = 16;

interface Queued {
  readonly cache: KvCache;
  readonly hidden: Float32Array;
  readonly seq: number;
  readonly resolve: (out: Float32Array) => void;
  readonly reject: (err: Error) => void;
}

export class BatchRunner implements ShardCompute {
  readonly config: LlamaConfig;
  readonly start: number;
  readonly end: number;
  readonly device: Device;
  readonly maxBatch: number;
  readonly batches: BatchStats = { steps: 0, batched: 0, largest: 0 };
  private readonly session: ort.InferenceSession;
  private queue: Queued[] = [];
  private busy = false;

  private constructor(c: LlamaConfig, start: number, end: number, session: ort.InferenceSession, device: Device, maxBatch: number) {
    this.config = c;
    this.start = start;
    this.end = end;
    this.session = session;
    this.device = device;
    this.maxBatch = maxBatch;
  }

  /** `model` is the batched graph of layers [start, end) (buildShardGraph with `batched`). */
  static async create(c: LlamaConfig, start: number, end: number, model: Uint8Array, device: Device, maxBatch = DEFAULT_MAX_BATCH): Promise<BatchRunner> {
    if (!Number.isInteger(maxBatch) || maxBatch < 1) throw new RangeError(`maxBatch must be a positive integer, got ${maxBatch}`);
    const s = await createSession(model, device);
    return new BatchRunner(c, start, end, s.session, s.device, maxBatch);
  }

  newCache(): KvCache {
    return emptyCache(this.config, this.start, this.end);
  }

  step(cache: KvCache, hidden: Float32Array, seq: number): Promise<Float32Array> {
    const c = this.config;
    if (hidden.length !== seq * c.dim) return Promise.reject(new Error(`hidden has ${hidden.length} values, expected ${seq}×${c.dim}`));
    return new Promise((resolve, reject) => {
      this.queue.push({ cache, hidden, seq, resolve, reject });
      if (!this.busy) {
        this.busy = true;
        setImmediate(() => void this.drain());
      }
    });
  }

  async release(): Promise<void> {
    await this.session.release();
  }

  /** Runs what is queued, round after round, until nothing is. A round takes each cache's
   * first waiting step (a session's steps stay in order; the next waits for the next round). */
  private async drain(): Promise<void> {
    while (this.queue.length > 0) {
      const round: Queued[] = [];
      const later: Queued[] = [];
      const taken = new Set<KvCache>();
      for (const q of this.queue) {
        if (taken.has(q.cache)) {
          later.push(q);
          continue;
        }
        taken.add(q.cache);
        round.push(q);
      }
      this.queue = later;
      const decode = round.filter((q) => q.seq === 1);
      for (const q of round) if (q.seq !== 1) await this.settle([q]);
      for (let i = 0; i < decode.length; i += this.maxBatch) await this.settle(decode.slice(i, i + this.maxBatch));
      // steps that arrived during this round's runs are taken by the next round
      if (this.queue.length > 0) await new Promise((r) => setImmediate(r));
    }
    this.busy = false;
  }

  private async settle(rows: Queued[]): Promise<void> {
    const c = this.config;
    const ok = rows.filter((q) => {
      if (q.cache.length + q.seq <= c.contextLength) return true;
      q.reject(new Error(`context full: ${q.cache.length} + ${q.seq} > ${c.contextLength}`));
      return false;
    });
    if (ok.length === 0) return;
    try {
      const outs = ok.length === 1 ? [await this.runOne(ok[0])] : await this.runRows(ok);
      this.batches.steps += ok.length;
      if (ok.length > 1) this.batches.batched += ok.length;
      this.batches.largest = Math.max(this.batches.largest, ok.length);
      ok.forEach((q, i) => q.resolve(outs[i]));
    } catch (err) {
      for (const q of ok) q.reject(err as Error);
    }
  }

  /** One session alone: its cache goes in as it is and the presents become its cache. */
  private async runOne(q: Queued): Promise<Float32Array> {
    const c = this.config;
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

  /** Decode steps of several sessions in one run: a row each. */
  private async runRows(rows: Queued[]): Promise<Float32Array[]> {
    const c = this.config;
    const shape = { kvHeads: c.nKvHeads, headSize: c.headSize };
    const lens = rows.map((q) => q.cache.length);
    const hidden = new Float32Array(rows.length * c.dim);
    rows.forEach((q, b) => hidden.set(q.hidden, b * c.dim));
    const feeds: Record<string, ort.Tensor> = {
      hidden: new ort.Tensor("float32", hidden, [rows.length, 1, c.dim]),
      pos: new ort.Tensor("int64", BigInt64Array.from(lens, BigInt), [rows.length]),
    };
    for (const name of rows[0].cache.tensors.keys()) {
      const { data, past } = padRows(rows.map((q) => q.cache.tensors.get(name)!.data as Float32Array), lens, shape);
      feeds[name] = new ort.Tensor("float32", data, [rows.length, c.nKvHeads, past, c.headSize]);
    }
    const out = await this.session.run(feeds);
    const bytes = new Array<number>(rows.length).fill(0);
    for (let l = this.start; l < this.end; l++) {
      const n = cacheNames(l);
      for (const [present, past] of [[n.presentK, n.pastK], [n.presentV, n.pastV]]) {
        const t = out[present] as ort.Tensor;
        splitRows(t.data as Float32Array, lens, t.dims[2], shape).forEach((row, b) => {
          rows[b].cache.tensors.set(past, new ort.Tensor("float32", row, [1, c.nKvHeads, lens[b] + 1, c.headSize]));
          bytes[b] += 4 * row.length;
        });
      }
    }
    const h = (out.hidden_out as ort.Tensor).data as Float32Array;
    return rows.map((q, b) => {
      q.cache.length += 1;
      q.cache.bytes = bytes[b];
      return h.slice(b * c.dim, (b + 1) * c.dim);
    });
  }
}
