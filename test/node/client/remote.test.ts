// RemoteSession, InferService and the FailoverChain over in-memory stream pairs
// (test/helpers/memory-net.ts): the real protocol code and real onnxruntime shards of the
// reference model, without sockets. What only the protocol decides is tested here: who is
// blamed when a hop stalls or cannot be reached, that a failover replays the sealed history
// to the same text, and that a server refuses frames that do not fit the session.
import { describe, it, before, after } from "node:test";
import { randomBytes } from "node:crypto";
import assert from "node:assert/strict";
import { generate } from "../../../node/client/generate.ts";
import { openLocalEngine, type LocalEngine } from "../../../node/client/local.ts";
import { FailoverChain, HopFailedError, RemoteSession } from "../../../node/client/remote.ts";
import type { RouteHop } from "../../../node/client/route.ts";
import { InferService, type StepContext } from "../../../node/server/infer-service.ts";
import { ReceiptSigner, LOCAL_DOMAIN } from "../../../node/swarm/receipt.ts";
import { FramedStream, RemoteError } from "../../../node/p2p/framed.ts";
import { INFER_PROTOCOL } from "../../../node/p2p/wire.ts";
import type { ShardCompute } from "../../../node/model/onnx/runtime.ts";
import { MemoryNet, type MemoryPeer } from "../../helpers/memory-net.ts";
import { goldenText, STORIES_260K } from "../../helpers/models.ts";

interface Server {
  readonly peer: MemoryPeer;
  readonly service: InferService;
  readonly hop: RouteHop;
  /** From this step of any session on, the server never answers (a stalled hop). */
  stallFrom: number;
}

describe("the inference protocol over in-memory streams", () => {
  const net = new MemoryNet();
  const servers: Server[] = [];
  let engine: LocalEngine;
  let client: MemoryPeer;
  let golden: string;
  let tokens: number;
  // read timeouts are AbortSignal.timeout timers, which do not hold the event loop open; over
  // real libp2p the sockets do, here nothing would while a hop stalls
  let keepAlive: NodeJS.Timeout;

  async function serve(runner: ShardCompute): Promise<Server> {
    const peer = await net.peer();
    const s: Server = { peer, hop: { peer: peer.peerId.toString(), addrs: [peer.addr], start: runner.start, end: runner.end }, stallFrom: Infinity, service: undefined! };
    const transform = (out: Float32Array, _input: Float32Array, ctx: StepContext) => (ctx.step >= s.stallFrom ? new Promise<Float32Array>(() => {}) : out);
    const service = new InferService({ node: peer.node, runner }, { receipts: { signer: new ReceiptSigner(peer.privateKey.raw, LOCAL_DOMAIN), epoch: () => 0n }, transform });
    await service.start();
    Object.assign(s, { service });
    return s;
  }

  before(async () => {
    keepAlive = setInterval(() => {}, 1000);
    engine = await openLocalEngine(STORIES_260K, { shards: 3 });
    // 0-2, 2-4, 4-5, and a second 4-5 to fail over to
    for (const r of [...engine.runners, engine.runners[2]]) servers.push(await serve(r));
    client = await net.peer();
    golden = goldenText();
    tokens = engine.model.tokenizer.encode(golden, { bos: false }).length;
  });
  after(async () => {
    await Promise.all(servers.map((s) => s.service.stop(0)));
    await engine?.close();
    clearInterval(keepAlive);
  });

  const route = (last = 2): RouteHop[] => [servers[0].hop, servers[1].hop, servers[last].hop];
  const dim = () => engine.model.config.dim;
  const x = () => Float32Array.from({ length: dim() }, (_, i) => Math.sin(i));

  it("three hops give the published greedy text, each window signed by every hop", async () => {
    const session = new RemoteSession(client.node, route(), dim(), { timeoutMs: 10_000 });
    await session.open();
    const r = await generate(engine.client, session, { prompt: "", maxTokens: tokens });
    await session.close();
    assert.equal(r.text.slice(0, golden.length), golden);
    const seals = session.record.steps.filter((s) => s.n === 0);
    assert.ok(seals.length >= Math.floor(tokens / session.sealEvery));
    for (const s of seals) assert.deepEqual(s.receipts.map((x) => `${x.start}-${x.end}`), ["0-2", "2-4", "4-5"]);
  });

  it("a stalled last hop is named by the hop before it, not blamed on the first", async () => {
    servers[2].stallFrom = 2;
    try {
      const session = new RemoteSession(client.node, route(), dim(), { timeoutMs: 3000 });
      await session.open();
      await session.step(x(), 1);
      await session.step(x(), 1);
      const t = performance.now();
      const err = await session.step(x(), 1).then(() => undefined, (e: unknown) => e);
      assert.ok(err instanceof HopFailedError, String(err));
      assert.equal(err.peer, servers[2].hop.peer, err.message);
      // named by the budget passed down, before the client's own 3 s wait ran out
      assert.ok(performance.now() - t < 3000);
      await session.close();
    } finally {
      servers[2].stallFrom = Infinity;
    }
  });

  it("a next hop that cannot be reached is named by the hop that tried it", async () => {
    servers[1].peer.down = true;
    try {
      const session = new RemoteSession(client.node, route(), dim(), { timeoutMs: 3000 });
      const err = await session.open().then(() => undefined, (e: unknown) => e);
      assert.ok(err instanceof HopFailedError, String(err));
      assert.equal(err.peer, servers[1].hop.peer, err.message);
    } finally {
      servers[1].peer.down = false;
    }
  });

  it("the failover chain drops a stalled hop, replays the sealed history elsewhere and gives the same text", async () => {
    servers[2].stallFrom = 20;
    const failed: string[] = [];
    const routes: string[][] = [];
    const before = servers[3].service.stats.tokens;
    try {
      const chain = new FailoverChain(client.node, dim(), {
        timeoutMs: 3000,
        route: async (exclude) => route(exclude.has(servers[2].hop.peer) ? 3 : 2),
        onFailover: (peer) => failed.push(peer),
        onRoute: (r) => routes.push(r.map((h) => h.peer)),
      });
      const r = await generate(engine.client, chain, { prompt: "", maxTokens: tokens });
      await chain.close();
      assert.equal(r.text.slice(0, golden.length), golden);
      assert.deepEqual(failed, [servers[2].hop.peer]);
      assert.equal(chain.failovers, 1);
      assert.deepEqual(routes.map((x) => x.at(-1)), [servers[2].hop.peer, servers[3].hop.peer]);
      // the replacement rebuilt the cache from the sealed history: every position passed it
      assert.ok(servers[3].service.stats.tokens - before >= tokens, `${servers[3].service.stats.tokens - before} positions`);
      assert.equal(chain.records.length, 2);
    } finally {
      servers[2].stallFrom = Infinity;
    }
  });

  describe("a server refuses frames that do not fit the session, with one ERROR frame", () => {
    async function open(hops: RouteHop[]): Promise<FramedStream> {
      const c = await client.node.dial(servers[0].peer.node.getMultiaddrs()[0]);
      const s = new FramedStream(await c.newStream(INFER_PROTOCOL));
      await s.send({ type: "OPEN", header: { session: randomBytes(16).toString("hex"), hops } });
      return s;
    }
    const refused = async (p: Promise<unknown>, code: string) => {
      const err = await p.then(() => undefined, (e: unknown) => e);
      assert.ok(err instanceof RemoteError, String(err));
      assert.equal(err.code, code, err.message);
    };

    it("a route naming another peer for this hop, or layers it does not serve", async () => {
      await refused((await open([{ ...servers[0].hop, peer: servers[1].hop.peer }])).expect("OPENED", 2000), "wrong_peer");
      await refused((await open([{ ...servers[0].hop, end: 3 }])).expect("OPENED", 2000), "wrong_layers");
    });

    it("a step at the wrong position or width, receipts without a seal, a seal with nothing to seal", async () => {
      const d = dim();
      const step = async (header: Record<string, unknown>, tensor: Float32Array, receipts?: Uint8Array) => {
        const s = await open([servers[0].hop]);
        const { session } = (await s.expect("OPENED", 2000)).header;
        await s.send({ type: "STEP", header: { session, seq: 0, pos: 0, n: 1, dim: d, dtype: "f32", ...header }, tensor, receipts } as never);
        return s.expect("RESULT", 2000);
      };
      await refused(step({ pos: 3 }, x()), "bad_position");
      await refused(step({ dim: d + 1 }, new Float32Array(d + 1)), "bad_shape");
      await refused(step({}, x(), new Uint8Array(8)), "bad_receipt");
      await refused(step({ n: 0, seal: true, nonce: "11".repeat(16) }, new Float32Array(0)), "empty_seal");
      // and a well-formed step is answered, so the refusals above are not the stream failing
      const ok = await step({}, x());
      assert.equal(ok.tensor!.length, d);
    });
  });
});
