// /efed/infer/3 on a Server: one stream per (session, hop). OPEN names the route from this
// server on; the server opens the next hop itself and forwards every STEP's output to it
// (paper §3.1: "the output from one server feeding directly into the next"); RESULT frames
// travel back along the same streams. When the client seals a window of steps, each hop
// checks the hop before's receipt against what it received, signs its own, forwards it
// and adds it to the RESULT. Every frame is validated; a bad one gets an ERROR frame and
// the stream ends.
// I/O lives here; the computation is the ShardCompute's (in worker threads on a server, so
// frames, pings and other sessions are served while a forward pass runs).
import type { Connection, Stream } from "@libp2p/interface";
import type { EfedNode } from "../p2p/host.ts";
import { FramedStream, RemoteError } from "../p2p/framed.ts";
import { openStream, type OpenedStream } from "../p2p/dial.ts";
import { INFER_PROTOCOL, RELAY_MS, WireError, type Frame, type Header, type Hop } from "../p2p/wire.ts";
import type { ShardCompute } from "../model/onnx/runtime.ts";
import { BusyError, SessionReusedError, SessionStore, type Session, type SessionLimits } from "./sessions.ts";
import type { ReceiptSigner } from "../swarm/receipt.ts";
import { checkUpstream, makeReceipt, type WindowFacts } from "../swarm/receipt-chain.ts";
import { receiptHash, ZERO } from "../swarm/receipt.ts";
import { decodeUpstream, encodeHopReceipt, encodeUpstream } from "../swarm/receipt-wire.ts";
import { MAX_WINDOW_POSITIONS, MAX_WINDOW_STEPS } from "../swarm/window.ts";
import { roundToHalf } from "../model/dtypes.ts";

/** What a server can see of a session when it answers a step: the signals a cheater would
 * use to tell an audit from real use (and that audits therefore make look like real use). */
export interface StepContext {
  readonly session: string;
  readonly caller: string;
  /** Whether the route continues after this server. */
  readonly hasNext: boolean;
  /** Whether the session came from another server (known from its first seal) or a client. */
  readonly fromServer: boolean;
  readonly step: number;
  /** Whether this step seals a window (its receipt will be signed right after it). */
  readonly seal: boolean;
  readonly pos: number;
  readonly n: number;
  /** Milliseconds since the previous step of the session (undefined on the first). */
  readonly gapMs?: number;
  /** Digest of the session's first input (a prompt's fingerprint). */
  readonly firstInput: string;
  readonly frameBytes: number;
}

export interface InferServiceOptions {
  readonly limits?: Partial<SessionLimits>;
  /** How long to wait for the next hop (open and each step). */
  readonly hopTimeoutMs?: number;
  /** Streams one connection may have open on this protocol. */
  readonly maxInboundStreams?: number;
  /** Signs a receipt for every window of steps, and the ledger epoch it is signed in. */
  readonly receipts: { readonly signer: ReceiptSigner; readonly epoch: () => bigint };
  /** Applied to this server's output before it leaves (fault injection for tests and demos). */
  readonly transform?: (out: Float32Array, input: Float32Array, ctx: StepContext) => Float32Array | Promise<Float32Array>;
  readonly log?: (line: string) => void;
}

export class InferService {
  private readonly node: EfedNode;
  /** Ranges served: normally one; two for a while after a move, so that sessions and probes
   * addressed to the old range (the ledger may not show the move yet) still work. */
  private runners: ShardCompute[];
  private readonly o: InferServiceOptions;
  readonly sessions: SessionStore;
  private readonly streams = new Set<Stream>();
  /** How each next hop was last reached, "direct" or "relayed" (logged when it changes). */
  private readonly reached = new Map<string, string>();
  private accepting = false;
  /** Counters for status and tests. */
  readonly stats = { opened: 0, steps: 0, tokens: 0, badFrames: 0, busy: 0, computeMs: 0, receiptMs: 0 };

  constructor(components: { node: EfedNode; runner: ShardCompute }, options: InferServiceOptions) {
    this.node = components.node;
    this.runners = [components.runner];
    this.o = options;
    this.sessions = new SessionStore(options.limits);
  }

  /** Serves another layer range from now on (reassignment); the old one is still answered
   * for `graceMs`, and open sessions keep theirs. */
  setRunner(runner: ShardCompute, graceMs = 30_000): void {
    const old = this.runners[0];
    this.runners = [runner, old];
    setTimeout(() => {
      this.runners = this.runners.filter((r) => r !== old);
    }, graceMs).unref();
  }

  /** The range announced on the ledger. */
  get layers(): [number, number] {
    return [this.runners[0].start, this.runners[0].end];
  }

  async start(): Promise<void> {
    this.accepting = true;
    await this.node.handle(INFER_PROTOCOL, (stream, connection) => this.handle(stream, connection), {
      maxInboundStreams: this.o.maxInboundStreams ?? 64,
      runOnLimitedConnection: true, // a server behind NAT is reached through a relay
    });
  }

  /** Stops taking sessions; waits up to `graceMs` for open ones, then aborts them. */
  async stop(graceMs = 5000): Promise<void> {
    this.accepting = false;
    await this.node.unhandle(INFER_PROTOCOL);
    const deadline = Date.now() + graceMs;
    while (this.streams.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    for (const s of this.streams) s.abort(new Error("server stopping"));
    this.sessions.clear();
  }

  private async handle(stream: Stream, connection: Connection): Promise<void> {
    this.streams.add(stream);
    const up = new FramedStream(stream);
    const from = connection.remotePeer.toString();
    let runner: ShardCompute; // a session keeps the range it was opened on
    let session: Session | undefined;
    let down: FramedStream | undefined;
    let next: Hop | undefined;
    try {
      const open = await up.expect("OPEN", 10_000);
      if (!this.accepting) throw new BusyError("server is shutting down");
      const [me, ...rest] = open.header.hops;
      runner = this.checkHop(me);
      const cache = runner.newCache();
      try {
        session = this.sessions.open(open.header.session, from, cache);
      } catch (err) {
        cache.release?.(); // refused: its place on a worker is given back
        throw err;
      }
      this.stats.opened++;
      next = rest[0];
      if (next !== undefined) down = await this.openNext(open.header.session, rest);
      await up.send({ type: "OPENED", header: { session: open.header.session } });

      let last: number | undefined;
      let firstInput = "";
      for (;;) {
        const f = await up.read(this.sessions.ttlMs);
        if (f.type === "CLOSE") break;
        if (f.type !== "STEP") throw new WireError("unexpected_frame", `expected STEP or CLOSE, got ${f.type}`);
        const now = performance.now();
        this.sessions.touch(session);
        if (f.header.seal === true && session.fromServer === undefined) session.fromServer = f.receipts !== undefined;
        if (f.header.n > 0) firstInput ||= tensorFingerprint(f.tensor!);
        const ctx: StepContext = {
          session: session.id,
          caller: from,
          hasNext: next !== undefined,
          fromServer: session.fromServer ?? false,
          step: session.steps,
          seal: f.header.seal === true,
          pos: f.header.pos,
          n: f.header.n,
          gapMs: last === undefined ? undefined : now - last,
          firstInput,
          frameBytes: f.tensor!.byteLength,
        };
        if (f.header.n > 0) last = now;
        const result = await this.step(runner, session, f, connection, down, next, ctx, now);
        await up.send(result);
      }
    } catch (err) {
      await this.fail(up, err, session?.id, next);
    } finally {
      if (session !== undefined) this.sessions.close(session.id);
      if (down !== undefined) {
        await down.send({ type: "CLOSE", header: { session: session!.id } }).catch(() => {});
        await down.close();
      }
      await up.close();
      this.streams.delete(stream);
    }
  }

  private checkHop(me: Hop): ShardCompute {
    const self = this.node.peerId.toString();
    if (me.peer !== self) throw new WireError("wrong_peer", `route names ${me.peer} for this hop, but this is ${self}`);
    const runner = this.runners.find((r) => r.start === me.start && r.end === me.end);
    if (runner === undefined) {
      throw new WireError("wrong_layers", `route asks for layers ${me.start}-${me.end}, this server serves ${this.layers[0]}-${this.layers[1]}`);
    }
    return runner;
  }

  private async openNext(session: string, hops: Hop[]): Promise<FramedStream> {
    const next = hops[0];
    const timeout = this.o.hopTimeoutMs ?? 10_000;
    let opened: OpenedStream;
    try {
      opened = await openStream(this.node, next.peer, next.addrs, INFER_PROTOCOL, timeout);
    } catch (err) {
      this.o.log?.(`next hop: ${(err as Error).message}`);
      throw new RemoteError("hop_failed", (err as Error).message, next.peer);
    }
    this.sayHowReached(next.peer, opened);
    const down = new FramedStream(opened.stream);
    try {
      await down.send({ type: "OPEN", header: { session, hops } });
      await down.expect("OPENED", timeout);
    } catch (err) {
      if (err instanceof RemoteError) throw err; // the next hop answered: pass its verdict on
      throw new RemoteError("hop_failed", `cannot reach ${next.peer}: ${(err as Error).message}`, next.peer);
    }
    return down;
  }

  /** Says, once per change, whether the next hop is reached directly or through a relay. */
  private sayHowReached(peer: string, s: OpenedStream): void {
    const kind = s.relayed ? "relayed" : "direct";
    if (this.reached.get(peer) === kind) return;
    this.reached.set(peer, kind);
    this.o.log?.(s.relayed ? `next hop ${peer} is relayed (${s.via}): no direct connection to it yet` : `next hop ${peer}: direct connection (${s.via})`);
  }

  private async step(runner: ShardCompute, session: Session, f: { header: Header<"STEP">; tensor?: Float32Array; receipts?: Uint8Array }, connection: Connection, down: FramedStream | undefined, next: Hop | undefined, ctx: StepContext, receivedAt: number): Promise<Frame> {
    const c = runner.config;
    const h = f.header;
    const input = f.tensor!;
    const w = session.window;
    if (h.session !== session.id) throw new WireError("unknown_session", `STEP for session ${h.session} on the stream of ${session.id}`);
    if (h.dim !== c.dim) throw new WireError("bad_shape", `dim ${h.dim}, the model's is ${c.dim}`);
    if (h.pos !== session.cache.length) throw new WireError("bad_position", `position ${h.pos}, the session has ${session.cache.length} cached`);
    if (h.pos + h.n > c.contextLength) throw new WireError("context_full", `positions up to ${h.pos + h.n} exceed the context of ${c.contextLength}`);
    if (h.seal !== true && f.receipts !== undefined) throw new WireError("bad_receipt", "receipts come only with a seal");
    // an unsealed window is held in memory until its receipt: bounded, so a client must seal
    if (h.n > 0 && (w.steps >= MAX_WINDOW_STEPS || w.positions + h.n > MAX_WINDOW_POSITIONS)) {
      throw new WireError("seal_required", `${w.steps} steps (${w.positions} positions) are unsealed: seal them before sending more`);
    }
    let out: Float32Array = new Float32Array(0);
    if (h.n > 0) {
      const t0 = performance.now();
      out = await runner.step(session.cache, input, h.n);
      this.stats.computeMs += performance.now() - t0;
      if (this.o.transform !== undefined) out = await this.o.transform(out, input, ctx);
      // an f16 hop sends half precision: commit to exactly what the next hop will decode
      if (h.dtype === "f16") out = roundToHalf(out);
      w.add(input, out, h.n);
      session.steps++;
      this.stats.steps++;
      this.stats.tokens += h.n;
    }
    let mine: Uint8Array | undefined;
    let forward: Uint8Array | undefined;
    if (h.seal === true) {
      if (this.o.transform !== undefined) await this.o.transform(out, input, ctx); // fault injection sees seals too
      if (w.positions === 0) throw new WireError("empty_seal", "a seal with no unsealed steps");
      const t2 = performance.now();
      const facts: WindowFacts = { session: session.id, start: runner.start, end: runner.end, pos: w.pos, n: w.positions, dim: c.dim, epoch: this.o.receipts.epoch() };
      const inputDigest = w.inputDigest();
      let upstream = ZERO;
      if (session.fromServer === true) {
        // never sign for a window whose input the hop before did not commit to
        const key = connection.remotePeer.publicKey;
        if (key?.type !== "secp256k1") throw new WireError("bad_receipt", "the hop before has no secp256k1 key to check its receipt with");
        try {
          upstream = checkUpstream(this.o.receipts.signer.domain, decodeUpstream(f.receipts ?? new Uint8Array(0)), key.raw, facts, inputDigest, w.inputs(), h.nonce!, session.lastUpstream ?? ZERO);
        } catch (err) {
          const peer = connection.remotePeer.toString();
          throw new RemoteError("hop_failed", `the hop before (${peer}): ${(err as Error).message}`, peer);
        }
        session.lastUpstream = upstream;
      }
      const receipt = makeReceipt(this.o.receipts.signer, facts, inputDigest, w.outputDigest(), w.outputs(), h.nonce!, session.lastReceipt ?? ZERO, upstream);
      session.lastReceipt = receiptHash(receipt);
      w.reset();
      mine = encodeHopReceipt(receipt);
      forward = encodeUpstream(receipt);
      this.stats.receiptMs += performance.now() - t2;
    }
    const header = { session: session.id, seq: h.seq, n: h.n, dim: c.dim, dtype: h.dtype };
    if (down === undefined) return { type: "RESULT", header, tensor: out, receipts: mine };
    // the rest of the route gets what is left of the budget, less the way back; a caller
    // that left this hop no time is the one that failed, not this hop
    if (h.budget !== undefined && h.budget <= 2 * RELAY_MS) {
      throw new RemoteError("hop_failed", `${connection.remotePeer.toString()} left this hop ${h.budget} ms for the rest of the route`, connection.remotePeer.toString());
    }
    const left = Math.min(h.budget ?? Infinity, this.o.hopTimeoutMs ?? 30_000) - (performance.now() - receivedAt);
    if (left <= 2 * RELAY_MS) throw new RemoteError("hop_failed", `${this.node.peerId.toString()} ran out of time for the step (${Math.round(left)} ms left)`, this.node.peerId.toString());
    try {
      await down.send({ type: "STEP", header: { ...header, pos: h.pos, ...(h.seal === true ? { seal: true as const, nonce: h.nonce } : {}), budget: Math.floor(left - 2 * RELAY_MS) }, tensor: out, receipts: forward });
      const r = await down.expect("RESULT", Math.floor(left - RELAY_MS));
      if (h.seal !== true) {
        if (r.receipts !== undefined) throw new WireError("bad_receipt", "receipts for a step that was not a seal");
        return { type: "RESULT", header: r.header, tensor: r.tensor };
      }
      const theirs = r.receipts ?? new Uint8Array(0);
      const all = new Uint8Array(mine!.length + theirs.length);
      all.set(mine!);
      all.set(theirs, mine!.length);
      return { type: "RESULT", header: { ...r.header, rb: undefined }, tensor: r.tensor, receipts: all };
    } catch (err) {
      if (err instanceof RemoteError) throw err;
      throw new RemoteError("hop_failed", `${next!.peer} failed: ${(err as Error).message}`, next!.peer);
    }
  }

  private async fail(up: FramedStream, err: unknown, session: string | undefined, next: Hop | undefined): Promise<void> {
    let code = "internal";
    let peer: string | undefined;
    if (err instanceof WireError) {
      code = err.code;
      if (code === "closed" || code === "stream_error") return; // the other side is gone: nobody to tell
      this.stats.badFrames++;
    } else if (err instanceof RemoteError) {
      code = err.code;
      peer = err.peer ?? next?.peer;
    } else if (err instanceof SessionReusedError) {
      code = "session_reused";
    } else if (err instanceof BusyError) {
      code = "busy";
      this.stats.busy++;
    } else if ((err as Error).name === "DroppedError") {
      up.stream.abort(err as Error); // a dropping server just goes silent
      return;
    }
    const message = (err as Error).message ?? String(err);
    if (code === "internal") this.o.log?.(`session ${session ?? "?"}: ${message}`);
    await up.send({ type: "ERROR", header: { code, message: message.slice(0, 1024), session, peer } }).catch(() => {});
  }
}

/** A short fingerprint of a tensor's bytes (what a cheater would use to recognise a prompt). */
function tensorFingerprint(x: Float32Array): string {
  let h = 2166136261;
  const b = new Uint8Array(x.buffer, x.byteOffset, Math.min(x.byteLength, 4096));
  for (const v of b) h = Math.imul(h ^ v, 16777619) >>> 0;
  return h.toString(16);
}
