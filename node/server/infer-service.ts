// /efed/infer/1 on a Server: one stream per (session, hop). OPEN names the route from this
// server on; the server opens the next hop itself and forwards every STEP's output to it
// (paper §3.1: "the output from one server feeding directly into the next"); RESULT frames
// travel back along the same streams. Every frame is validated; a bad one gets an ERROR
// frame and the stream ends. I/O lives here; the computation is the ShardRunner's.
import { multiaddr } from "@multiformats/multiaddr";
import type { Connection, Stream } from "@libp2p/interface";
import type { EfedNode } from "../p2p/host.ts";
import { FramedStream, RemoteError } from "../p2p/framed.ts";
import { INFER_PROTOCOL, WireError, type Frame, type Header, type Hop } from "../p2p/wire.ts";
import type { ShardRunner } from "../model/onnx/runtime.ts";
import { BusyError, SessionStore, type Session, type SessionLimits } from "./sessions.ts";

export interface InferServiceOptions {
  readonly limits?: Partial<SessionLimits>;
  /** How long to wait for the next hop (open and each step). */
  readonly hopTimeoutMs?: number;
  /** Streams one connection may have open on this protocol. */
  readonly maxInboundStreams?: number;
  /** Applied to this server's output before it leaves (fault injection for tests and demos). */
  readonly transform?: (out: Float32Array, input: Float32Array) => Float32Array | Promise<Float32Array>;
  readonly log?: (line: string) => void;
}

export class InferService {
  private readonly node: EfedNode;
  /** Ranges served: normally one; two for a while after a move, so that sessions and probes
   * addressed to the old range (the ledger may not show the move yet) still work. */
  private runners: ShardRunner[];
  private readonly o: InferServiceOptions;
  readonly sessions: SessionStore;
  private readonly streams = new Set<Stream>();
  private accepting = false;
  /** Counters for status and tests. */
  readonly stats = { opened: 0, steps: 0, tokens: 0, badFrames: 0, busy: 0 };

  constructor(components: { node: EfedNode; runner: ShardRunner }, options: InferServiceOptions = {}) {
    this.node = components.node;
    this.runners = [components.runner];
    this.o = options;
    this.sessions = new SessionStore(options.limits);
  }

  /** Serves another layer range from now on (reassignment); the old one is still answered
   * for `graceMs`, and open sessions keep theirs. */
  setRunner(runner: ShardRunner, graceMs = 30_000): void {
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
    let runner: ShardRunner; // a session keeps the range it was opened on
    let session: Session | undefined;
    let down: FramedStream | undefined;
    let next: Hop | undefined;
    try {
      const open = await up.expect("OPEN", 10_000);
      if (!this.accepting) throw new BusyError("server is shutting down");
      const [me, ...rest] = open.header.hops;
      runner = this.checkHop(me);
      session = this.sessions.open(open.header.session, from, runner.newCache());
      this.stats.opened++;
      next = rest[0];
      if (next !== undefined) down = await this.openNext(open.header.session, rest);
      await up.send({ type: "OPENED", header: { session: open.header.session } });

      for (;;) {
        const f = await up.read(this.sessions.ttlMs);
        if (f.type === "CLOSE") break;
        if (f.type !== "STEP") throw new WireError("unexpected_frame", `expected STEP or CLOSE, got ${f.type}`);
        this.sessions.touch(session);
        const result = await this.step(runner, session, f.header, f.tensor!, down, next);
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

  private checkHop(me: Hop): ShardRunner {
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
    let lastErr: unknown;
    for (const a of next.addrs) {
      try {
        const addr = multiaddr(a.includes("/p2p/") ? a : `${a}/p2p/${next.peer}`);
        const stream = await this.node.dialProtocol(addr, INFER_PROTOCOL, { signal: AbortSignal.timeout(timeout) });
        const down = new FramedStream(stream);
        await down.send({ type: "OPEN", header: { session, hops } });
        await down.expect("OPENED", timeout);
        return down;
      } catch (err) {
        if (err instanceof RemoteError) throw err; // the next hop answered: pass its verdict on
        lastErr = err;
      }
    }
    throw new RemoteError("hop_failed", `cannot reach ${next.peer}: ${(lastErr as Error)?.message ?? "no address"}`, next.peer);
  }

  private async step(runner: ShardRunner, session: Session, h: Header<"STEP">, input: Float32Array, down: FramedStream | undefined, next: Hop | undefined): Promise<Frame> {
    const c = runner.config;
    if (h.session !== session.id) throw new WireError("unknown_session", `STEP for session ${h.session} on the stream of ${session.id}`);
    if (h.dim !== c.dim) throw new WireError("bad_shape", `dim ${h.dim}, the model's is ${c.dim}`);
    if (h.pos !== session.cache.length) throw new WireError("bad_position", `position ${h.pos}, the session has ${session.cache.length} cached`);
    if (h.pos + h.n > c.contextLength) throw new WireError("context_full", `positions up to ${h.pos + h.n} exceed the context of ${c.contextLength}`);
    let out = await runner.step(session.cache, input, h.n);
    if (this.o.transform !== undefined) out = await this.o.transform(out, input);
    this.stats.steps++;
    this.stats.tokens += h.n;
    const header = { session: session.id, seq: h.seq, n: h.n, dim: c.dim, dtype: h.dtype };
    if (down === undefined) return { type: "RESULT", header, tensor: out };
    try {
      await down.send({ type: "STEP", header: { ...header, pos: h.pos }, tensor: out });
      const r = await down.expect("RESULT", this.o.hopTimeoutMs ?? 30_000);
      return { type: "RESULT", header: r.header, tensor: r.tensor };
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
