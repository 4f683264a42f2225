// A verifier's re-check of one session (paper §3.2, made attributable): from the session's
// token ids, recompute every hop over the whole sequence with the verifier's own reference
// copy — one run per hop, teacher-forced, far cheaper than the step-by-step decoding it
// checks — and check each hop's signed commitment for every sealed window. The first hop
// whose commitment is off is the one that lied: the hops before it were right, and every
// hop checks the bytes it received against the receipt of the hop before it, so no hop can
// be framed by a liar upstream of it.
import * as ort from "onnxruntime-node";
import type { TypedDataDomain } from "ethers";
import type { LoadedModel } from "../model/types.ts";
import { buildEmbeddingGraph, denseSource } from "../model/onnx/layers.ts";
import { ClientGraph, ShardRunner, type Device } from "../model/onnx/runtime.ts";
import { checkCommitment, tensorDigest, windowSeed } from "../swarm/commitment.ts";
import { verifyReceipt, ZERO, receiptHash } from "../swarm/receipt.ts";
import { chainDigest } from "../swarm/window.ts";
import { peerPublicKey, type SessionRecord } from "../client/remote.ts";
import { toleranceFor, type DevicePair } from "./tolerance.ts";

/** Layer ranges whose graphs a verifier keeps built (least recently used go first). */
const MAX_RUNNERS = 8;

export interface HopTally {
  readonly peer: string;
  readonly start: number;
  readonly end: number;
  /** Windows and positions of this hop that were checked and passed. */
  windows: number;
  positions: number;
}

export interface Failure {
  /** The step that sealed the window whose commitment is off. */
  readonly step: number;
  readonly hop: number;
  readonly error: number;
  readonly position: number;
  readonly tolerance: number;
}

export interface RecheckResult {
  readonly hops: HopTally[];
  /** The first hop whose commitment is off (the session is not judged past it). */
  readonly failure?: Failure;
  /** Why the record could not be judged at all (inconsistent with its tokens, bad
   * signatures): not evidence against anyone. */
  readonly discarded?: string;
  /** Reference compute spent, ms. */
  readonly computeMs: number;
  /** The largest commitment error among the hop-steps checked (0: bit-exact). */
  readonly maxError: number;
}

export class Rechecker {
  private readonly model: LoadedModel;
  private readonly device: Device;
  private readonly pair: DevicePair;
  private readonly runners = new Map<string, Promise<ShardRunner>>();
  private embedding?: Promise<ClientGraph>;

  constructor(model: LoadedModel, o: { device?: Device; pair?: DevicePair } = {}) {
    this.model = model;
    this.device = o.device ?? "cpu";
    this.pair = o.pair ?? "cpu/cpu";
  }

  /** The graph a server builds for [start, end): fused where it runs, else plain (server.ts
   * openShard), so an honest server's results differ from it only by the order of sums. */
  private runner(start: number, end: number): Promise<ShardRunner> {
    const key = `${start}-${end}`;
    let r = this.runners.get(key);
    if (r !== undefined) {
      this.runners.delete(key); // most recently used last
      this.runners.set(key, r);
    }
    if (r === undefined) {
      // a few ranges are live at a time; records naming many others must not pile up sessions
      if (this.runners.size >= MAX_RUNNERS) {
        const [oldKey, old] = this.runners.entries().next().value!;
        this.runners.delete(oldKey);
        void old.then((x) => x.release()).catch(() => {});
      }
      const c = this.model.config;
      const w = this.model.weights;
      const norms = (l: number) => ({ attnNorm: w.layers[l]!.attnNorm, ffnNorm: w.layers[l]!.ffnNorm });
      r = ShardRunner.open(c, { start, end, norms, linear: denseSource(w), fused: true }, this.device);
      this.runners.set(key, r);
    }
    return r;
  }

  private async embed(ids: number[]): Promise<Float32Array> {
    this.embedding ??= ClientGraph.create(buildEmbeddingGraph(this.model.config, this.model.weights.embedding!), this.device);
    const e = await (await this.embedding).run(new ort.Tensor("int64", BigInt64Array.from(ids.map(BigInt)), [1, ids.length]));
    return Float32Array.from(e.data as Float32Array);
  }

  async recheck(record: SessionRecord, tokens: readonly number[], domain: TypedDataDomain): Promise<RecheckResult> {
    const t0 = performance.now();
    const dim = this.model.config.dim;
    const hops: HopTally[] = record.route.map((h) => ({ peer: h.peer, start: h.start, end: h.end, windows: 0, positions: 0 }));
    let maxError = 0;
    const done = (extra: { failure?: Failure; discarded?: string }): RecheckResult => ({ hops, ...extra, computeMs: performance.now() - t0, maxError });
    let keys: Uint8Array[];
    try {
      keys = record.route.map((h) => peerPublicKey(h.peer));
    } catch (err) {
      return done({ discarded: (err as Error).message });
    }
    // the route must cover the model once, the steps tile the sequence from position 0 in
    // the context, and the tokens cover them — all checked before any compute is spent
    const c = this.model.config;
    for (let k = 0; k < record.route.length; k++) {
      const h = record.route[k];
      if (h.start !== (k === 0 ? 0 : record.route[k - 1].end) || h.end <= h.start || h.end > c.nLayers) return done({ discarded: `hop ${k} (${h.start}-${h.end}) does not continue a route over layers 0-${c.nLayers}` });
    }
    if (record.route.at(-1)!.end !== c.nLayers) return done({ discarded: `the route ends at layer ${record.route.at(-1)!.end} of ${c.nLayers}` });
    let total = 0;
    for (let s = 0; s < record.steps.length; s++) {
      const st = record.steps[s];
      if (st.pos !== total) return done({ discarded: `step ${s} starts at ${st.pos}, not ${total}` });
      total += st.n;
    }
    if (total > c.contextLength) return done({ discarded: `the steps cover ${total} positions, past the context of ${c.contextLength}` });
    if (total > tokens.length) return done({ discarded: `the steps cover ${total} positions, the tokens given ${tokens.length}` });
    if (total === 0) return done({});
    const input = await this.embed(tokens.slice(0, total) as number[]);
    // every window's receipts must hold together (signatures, chains) before the model runs
    const windows: { step: number; pos: number; n: number }[] = [];
    {
      const prev: string[] = record.route.map(() => ZERO);
      let winPos = 0;
      let digests: string[] = [];
      for (let s = 0; s < record.steps.length; s++) {
        const step = record.steps[s];
        if (step.n > 0) digests.push(tensorDigest(input.subarray(step.pos * dim, (step.pos + step.n) * dim)));
        if (step.receipts.length === 0) continue;
        if (step.receipts.length !== record.route.length) return done({ discarded: `step ${s}: ${step.receipts.length} receipts for ${record.route.length} hops` });
        const pos = winPos;
        const n = step.pos + step.n - winPos;
        let inputDigest = chainDigest(digests);
        let upstream = ZERO;
        for (let k = 0; k < record.route.length; k++) {
          const r = step.receipts[k];
          const h = record.route[k];
          if (r.start !== h.start || r.end !== h.end || r.pos !== pos || r.n !== n) return done({ discarded: `step ${s} hop ${k}: receipt for another window` });
          if (!verifyReceipt(domain, r, keys[k])) return done({ discarded: `step ${s} hop ${k}: signature is not the hop's` });
          if (r.prev !== prev[k] || r.upstream !== upstream || r.nonce !== step.receipts[0].nonce) return done({ discarded: `step ${s} hop ${k}: receipts not chained` });
          if (r.inputDigest !== inputDigest) return done({ discarded: k === 0 ? `step ${s}: the first hop's input is not the embedding of the tokens given` : `step ${s} hop ${k}: input differs from what the hop before signed for` });
          prev[k] = receiptHash(r);
          upstream = prev[k];
          inputDigest = r.outputDigest;
        }
        windows.push({ step: s, pos, n });
        winPos = step.pos + step.n;
        digests = [];
      }
    }
    // the reference: each hop once over every position, on what it should have received
    const refs: Float32Array[] = [];
    let x = input;
    for (const h of record.route) {
      const runner = await this.runner(h.start, h.end);
      x = await runner.step(runner.newCache(), x, total);
      refs.push(x);
    }
    const tolerance = toleranceFor(this.pair);
    for (const w of windows) {
      const receipts = record.steps[w.step].receipts;
      for (let k = 0; k < record.route.length; k++) {
        const r = receipts[k];
        const check = checkCommitment(r.proj, refs[k].subarray(w.pos * dim, (w.pos + w.n) * dim), w.n, dim, windowSeed(r.outputDigest, r.nonce), tolerance);
        maxError = Math.max(maxError, check.error);
        if (!check.pass) return done({ failure: { step: w.step, hop: k, error: check.error, position: w.pos + Math.max(0, check.position), tolerance } });
        hops[k].windows++;
        hops[k].positions += w.n;
      }
    }
    return done({});
  }

  async close(): Promise<void> {
    for (const r of this.runners.values()) await (await r).release();
    await (await this.embedding)?.release();
  }
}
