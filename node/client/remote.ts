// The Client's side of /efed/infer/3: a session along a route of servers, and a chain that
// survives a failed hop by choosing a new route and replaying the history. Steps are sealed
// in windows: each window's receipts are checked (signed by each hop's peer key, chained
// input to output) and kept, so the session can be handed to a verifier; a broken chain
// counts as that hop failing, and what was not sealed is done again (RolledBackError).
import { randomBytes } from "node:crypto";
import type { EfedNode } from "../p2p/host.ts";
import { FramedStream, RemoteError } from "../p2p/framed.ts";
import { openStream } from "../p2p/dial.ts";
import { INFER_PROTOCOL, MAX_STEP_POSITIONS, RELAY_MS, WireError } from "../p2p/wire.ts";
import type { TypedDataDomain } from "ethers";
import { peerIdFromString } from "@libp2p/peer-id";
import type { RouteHop } from "./route.ts";
import { RolledBackError } from "./generate.ts";
import type { ShardChain } from "../swarm/types.ts";
import { LOCAL_DOMAIN, receiptHash, type SignedReceipt } from "../swarm/receipt.ts";
import { BrokenReceiptsError, checkWindowReceipts, type ChainHop } from "../swarm/receipt-chain.ts";
import { decodeHopReceipts } from "../swarm/receipt-wire.ts";
import { sealNonce } from "../swarm/commitment.ts";
import { roundToHalf } from "../model/dtypes.ts";
import { StepWindow } from "../swarm/window.ts";

/** Decode steps per window: one signature per hop covers this many tokens (the first step,
 * the prompt, is a window of its own). Tokens are shown only once sealed, so this is also
 * how many tokens a stream may lag behind. */
export const SEAL_EVERY = 8;

/** One step as the client saw it: where it started, how many positions, and — on a seal (a
 * step of no positions) — every hop's receipt for the window it closed (empty otherwise). */
export interface StepRecord {
  readonly pos: number;
  readonly n: number;
  readonly receipts: SignedReceipt[];
}

/** A session's receipts: what a client hands to a verifier for an audit. */
export interface SessionRecord {
  readonly session: string;
  readonly route: RouteHop[];
  readonly steps: StepRecord[];
}

/** The secp256k1 public key inside a peer id (servers' ids are secp256k1). */
export function peerPublicKey(peer: string): Uint8Array {
  const key = peerIdFromString(peer).publicKey;
  if (key === undefined || key.type !== "secp256k1") throw new Error(`peer ${peer} has no secp256k1 key: it cannot sign receipts`);
  return key.raw;
}

export class HopFailedError extends Error {
  override readonly name = "HopFailedError";
  readonly peer: string;
  constructor(peer: string, message: string) {
    super(message);
    this.peer = peer;
  }
}

export interface RemoteOptions {
  readonly timeoutMs?: number;
  readonly dtype?: "f32" | "f16";
  /** The ledger's EIP-712 domain the receipts are signed under. */
  readonly domain?: TypedDataDomain;
  /** Decode steps per sealed window (default SEAL_EVERY). */
  readonly sealEvery?: number;
  /** The ledger's current epoch as the client sees it (receipts must be signed in it). */
  readonly epoch?: () => bigint | undefined;
  /** Told how the first hop was reached: through a relay, or directly (`via` its address). */
  readonly onReached?: (peer: string, relayed: boolean, via: string) => void;
}

/** One inference session along `route`: the first hop is dialled, it dials the rest. */
export class RemoteSession implements ShardChain {
  readonly id = randomBytes(16).toString("hex");
  readonly route: RouteHop[];
  private readonly node: EfedNode;
  private readonly dim: number;
  private readonly o: RemoteOptions;
  private stream?: FramedStream;
  private pos = 0;
  private seq = 0;
  private readonly hops: ChainHop[];
  private prev: string[] = [];
  private readonly window = new StepWindow(0, true);
  readonly record: SessionRecord;

  constructor(node: EfedNode, route: RouteHop[], dim: number, o: RemoteOptions = {}) {
    this.node = node;
    this.route = route;
    this.dim = dim;
    this.o = o;
    this.hops = route.map((h) => ({ start: h.start, end: h.end, publicKey: peerPublicKey(h.peer) }));
    this.record = { session: this.id, route, steps: [] };
  }

  async open(): Promise<void> {
    const first = this.route[0];
    const timeout = this.o.timeoutMs ?? 30_000;
    try {
      const opened = await openStream(this.node, first.peer, first.addrs, INFER_PROTOCOL, timeout);
      this.stream = new FramedStream(opened.stream);
      this.o.onReached?.(first.peer, opened.relayed, opened.via);
    } catch (err) {
      throw new HopFailedError(first.peer, (err as Error).message);
    }
    await this.guard(async () => {
      await this.stream!.send({ type: "OPEN", header: { session: this.id, hops: this.route } });
      await this.stream!.expect("OPENED", timeout);
    });
  }

  get sealEvery(): number {
    return this.o.sealEvery ?? SEAL_EVERY;
  }

  /** Steps sent since the last seal. */
  get unsealed(): number {
    return this.window.steps;
  }

  /** The route's budget is a little under the client's own wait, so a stalled hop is named
   * by the hop before it rather than timed out here (which could only blame the first). */
  private get budget(): number {
    return Math.max(1, Math.floor((this.o.timeoutMs ?? 30_000) - 2 * RELAY_MS));
  }

  async step(hidden: Float32Array, n: number): Promise<Float32Array> {
    return this.guard(async () => {
      const dtype = this.o.dtype ?? "f32";
      const seq = this.seq++;
      let sent = hidden.subarray(0, n * this.dim);
      if (dtype === "f16") sent = roundToHalf(sent); // what the first hop will decode
      await this.stream!.send({ type: "STEP", header: { session: this.id, seq, pos: this.pos, n, dim: this.dim, dtype, budget: this.budget }, tensor: sent });
      const r = await this.stream!.expect("RESULT", this.o.timeoutMs ?? 30_000);
      if (r.header.seq !== seq || r.header.n !== n || r.header.dim !== this.dim) throw new WireError("bad_result", `RESULT ${r.header.seq}/${r.header.n}×${r.header.dim} for STEP ${seq}/${n}×${this.dim}`);
      if (r.receipts !== undefined) throw new WireError("bad_result", "receipts for a step that was not a seal");
      this.window.add(sent, r.tensor!, n);
      this.record.steps.push({ pos: this.pos, n, receipts: [] });
      this.pos += n;
      return r.tensor!;
    });
  }

  /** Seals the steps since the last seal: a STEP with no positions and a fresh nonce, sent
   * only now that every output of the window is here (so no server can pick its outputs to
   * suit the projections); every hop signs, and the receipts are checked before return. */
  async seal(): Promise<void> {
    if (this.window.steps === 0) return;
    await this.guard(async () => {
      const seq = this.seq++;
      const nonce = sealNonce();
      await this.stream!.send({ type: "STEP", header: { session: this.id, seq, pos: this.pos, n: 0, dim: this.dim, dtype: this.o.dtype ?? "f32", seal: true, nonce, budget: this.budget }, tensor: new Float32Array(0) });
      const r = await this.stream!.expect("RESULT", this.o.timeoutMs ?? 30_000);
      if (r.header.seq !== seq || r.header.n !== 0) throw new WireError("bad_result", `RESULT ${r.header.seq}/${r.header.n} for seal ${seq}`);
      const w = this.window;
      let receipts: SignedReceipt[];
      try {
        const seen = { session: this.id, pos: w.pos, n: w.positions, inputDigest: w.inputDigest(), outputDigest: w.outputDigest(), outputs: w.outputs(), nonce, epoch: this.o.epoch?.() };
        receipts = checkWindowReceipts(this.o.domain ?? LOCAL_DOMAIN, this.hops, decodeHopReceipts(r.receipts ?? new Uint8Array(0), w.positions), seen, this.prev);
      } catch (err) {
        if (err instanceof BrokenReceiptsError) throw new HopFailedError(this.route[err.hop].peer, `receipts: ${err.message}`);
        throw err;
      }
      this.prev = receipts.map(receiptHash);
      w.reset();
      this.record.steps.push({ pos: this.pos, n: 0, receipts });
    });
  }

  async close(): Promise<void> {
    if (this.stream === undefined) return;
    await this.stream.send({ type: "CLOSE", header: { session: this.id } }).catch(() => {});
    await this.stream.close();
  }

  /** Turns any failure into a HopFailedError naming the hop to avoid. */
  private async guard<T>(f: () => Promise<T>): Promise<T> {
    try {
      return await f();
    } catch (err) {
      if (err instanceof HopFailedError) throw err;
      if (err instanceof RemoteError) {
        if (err.code === "hop_failed" && err.peer !== undefined) throw new HopFailedError(err.peer, err.message);
        throw new HopFailedError(err.peer ?? this.route[0].peer, `${err.code}: ${err.message}`);
      }
      throw new HopFailedError(this.route[0].peer, (err as Error).message);
    }
  }
}

export interface FailoverOptions extends RemoteOptions {
  /** A route that avoids `exclude` (the peers that failed so far). */
  readonly route: (exclude: ReadonlySet<string>) => Promise<RouteHop[]>;
  readonly maxFailovers?: number;
  readonly onFailover?: (failed: string, route: RouteHop[]) => void;
  /** Called with each route a session is opened on. */
  readonly onRoute?: (route: RouteHop[]) => void;
}

/** A ShardChain that keeps every position's input; when a hop fails it opens a new session
 * on a route without the failed server and replays the sealed history, so the new servers
 * rebuild their caches and the output is the same as without the fault. Steps not yet
 * sealed when a hop fails are not trusted: they are dropped and the caller is told
 * (RolledBackError) to do them again. */
export class FailoverChain implements ShardChain {
  readonly sealEvery: number;
  private readonly node: EfedNode;
  private readonly dim: number;
  private readonly o: FailoverOptions;
  private readonly failed = new Set<string>();
  private readonly history: Float32Array[] = [];
  private unsealed: Float32Array[] = [];
  private session?: RemoteSession;
  /** Why the last hop failed, for the error when no route is left without it. */
  private lastFailure?: string;
  failovers = 0;
  /** Every session opened, in order, with its receipts (the last one is the live one). */
  readonly records: SessionRecord[] = [];

  constructor(node: EfedNode, dim: number, o: FailoverOptions) {
    this.node = node;
    this.dim = dim;
    this.o = o;
    this.sealEvery = o.sealEvery ?? SEAL_EVERY;
  }

  get route(): RouteHop[] | undefined {
    return this.session?.route;
  }

  async step(hidden: Float32Array, n: number): Promise<Float32Array> {
    return this.attempt(async (s) => {
      const out = await s.step(hidden, n);
      this.unsealed.push(Float32Array.from(hidden.subarray(0, n * this.dim)));
      return out;
    });
  }

  /** Seals the steps not yet sealed. */
  async seal(): Promise<void> {
    if (this.unsealed.length === 0) return;
    await this.attempt(async (s) => {
      await s.seal();
      this.history.push(...this.unsealed);
      this.unsealed = [];
    });
  }

  /** Runs `f` on the live session, failing over (and rolling back what was not sealed). */
  private async attempt<T>(f: (s: RemoteSession) => Promise<T>): Promise<T> {
    for (;;) {
      try {
        if (this.session === undefined) {
          this.session = await this.openSession();
          if (this.history.length > 0) await this.replay(this.session);
        }
        return await f(this.session);
      } catch (err) {
        if (!(err instanceof HopFailedError)) throw err;
        if (++this.failovers > (this.o.maxFailovers ?? 3)) throw err;
        this.failed.add(err.peer);
        this.lastFailure = `${err.peer}: ${err.message}`;
        await this.session?.close().catch(() => {});
        this.session = undefined;
        if (this.unsealed.length > 0) {
          const dropped = this.unsealed.length;
          this.unsealed = [];
          throw new RolledBackError(`${dropped} unsealed step(s) dropped after ${err.peer} failed: ${err.message}`);
        }
      }
    }
  }

  private async openSession(): Promise<RemoteSession> {
    const route = await this.o.route(this.failed).catch((err: Error) => {
      if (this.lastFailure !== undefined) err.message += ` (last failure: ${this.lastFailure})`;
      throw err;
    });
    if (this.failed.size > 0) this.o.onFailover?.([...this.failed].at(-1)!, route);
    const s = new RemoteSession(this.node, route, this.dim, this.o);
    await s.open();
    this.records.push(s.record);
    this.o.onRoute?.(route);
    return s;
  }

  /** Sends the sealed history again, in sealed chunks the wire allows. */
  private async replay(s: RemoteSession): Promise<void> {
    const all = new Float32Array(this.history.reduce((a, h) => a + h.length, 0));
    let at = 0;
    for (const h of this.history) {
      all.set(h, at);
      at += h.length;
    }
    const positions = all.length / this.dim;
    for (let p = 0; p < positions; p += MAX_STEP_POSITIONS) {
      const n = Math.min(MAX_STEP_POSITIONS, positions - p);
      await s.step(all.subarray(p * this.dim, (p + n) * this.dim), n);
      await s.seal();
    }
  }

  async close(): Promise<void> {
    await this.session?.close();
  }
}
