// Servers on real libp2p (TCP + Noise + Yamux on 127.0.0.1) running real ONNX shards,
// chained: the published greedy text through the network, through a failover when the
// middle server dies mid-generation, and past a server that lies and then will not sign.
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { generate } from "../../../node/client/generate.ts";
import { openLocalEngine, type LocalEngine } from "../../../node/client/local.ts";
import { FailoverChain, RemoteSession } from "../../../node/client/remote.ts";
import { chooseRoute, type Candidate } from "../../../node/client/route.ts";
import { createNode, type EfedNode } from "../../../node/p2p/host.ts";
import { measureRtts } from "../../../node/client/network.ts";
import { startServer, type RunningServer } from "../../../node/server/server.ts";
import { parseFault } from "../../../node/server/faults.ts";
import { goldenText, STORIES_260K } from "../../helpers/models.ts";

describe("swarm over libp2p", () => {
  const servers: RunningServer[] = [];
  let client: EfedNode;
  let engine: LocalEngine;
  let golden: string;
  let tokens: number;

  const candidates = (): Candidate[] =>
    servers
      .filter((s) => s.node.status === "started")
      .map((s, i) => ({ peer: s.node.peerId.toString(), addrs: s.addrs(), start: s.runner.start, end: s.runner.end, trust: 1, throughput: 1000, rttMs: i === 3 ? 100 : 1 }));

  before(async () => {
    for (const layers of [[0, 2], [2, 4], [4, 5], [2, 4]] as const) servers.push(await startServer({ model: STORIES_260K, layers }));
    client = await createNode();
    engine = await openLocalEngine(STORIES_260K); // the client's embedding and head
    golden = goldenText();
    tokens = engine.model.tokenizer.encode(golden, { bos: false }).length;
  });
  after(async () => {
    await Promise.all(servers.map((s) => s.stop(100).catch(() => {})));
    await client?.stop();
    await engine?.close();
  });

  it("three servers 0-2, 2-4, 4-5 produce the published greedy text", async () => {
    const route = chooseRoute(candidates(), 5);
    assert.deepEqual(route.map((h) => `${h.start}-${h.end}`), ["0-2", "2-4", "4-5"]);
    assert.equal(route[1].peer, servers[1].node.peerId.toString()); // the faster of the two 2-4 servers
    const session = new RemoteSession(client, route, engine.model.config.dim);
    await session.open();
    const r = await generate(engine.client, session, { prompt: "", maxTokens: tokens });
    await session.close();
    assert.equal(r.text.slice(0, golden.length), golden);
    assert.ok(servers[2].service.stats.tokens >= tokens);
  });

  it("refuses a peer whose id does not match the ledger (Noise authenticates the key)", async () => {
    const real = servers[0];
    const impostor = { peer: servers[2].node.peerId.toString(), addrs: real.addrs().map((a) => a.replace(/\/p2p\/.*$/, "")), start: 0, end: 2, trust: 1, throughput: 1000 };
    const honest = { ...impostor, peer: real.node.peerId.toString() };
    const [bad, good] = await measureRtts(client, [impostor, honest]);
    assert.equal(bad.rttMs, Infinity);
    assert.ok(good.rttMs! < 1000);
  });

  it("the middle server dies mid-generation: a replacement takes its span, same text", async () => {
    let failedOver = "";
    const chain = new FailoverChain(client, engine.model.config.dim, {
      route: async (exclude) => chooseRoute(candidates(), 5, exclude),
      onFailover: (peer) => (failedOver = peer),
      timeoutMs: 5000,
    });
    const middle = servers[1];
    let produced = 0;
    const r = await generate(engine.client, chain, {
      prompt: "",
      maxTokens: tokens,
      onText: () => {
        if (++produced === 20) void middle.stop(0);
      },
    });
    await chain.close();
    assert.equal(failedOver, middle.node.peerId.toString());
    assert.equal(chain.failovers, 1);
    assert.deepEqual(chain.route!.map((h) => h.peer), [servers[0], servers[3], servers[2]].map((s) => s.node.peerId.toString()));
    assert.equal(r.text.slice(0, golden.length), golden);
  });

  it("a server that lies and drops the stream rather than sign for it: nobody sees its output", async () => {
    const liar = await startServer({ model: STORIES_260K, layers: [2, 4], fault: parseFault("lie-unsealed") });
    try {
      const cand = (x: RunningServer): Candidate => ({ peer: x.node.peerId.toString(), addrs: x.addrs(), start: x.runner.start, end: x.runner.end, trust: 1, throughput: 1000, rttMs: 1 });
      let failedOver = "";
      const chain = new FailoverChain(client, engine.model.config.dim, {
        // the liar first; once it is excluded, the honest middle server
        route: async (exclude) => chooseRoute([cand(servers[0]), cand(exclude.size === 0 ? liar : servers[3]), cand(servers[2])], 5, exclude),
        onFailover: (peer) => (failedOver = peer),
        timeoutMs: 5000,
      });
      const shown: number[] = [];
      const r = await generate(engine.client, chain, { prompt: "", maxTokens: tokens, onToken: (id) => shown.push(id) });
      await chain.close();
      assert.equal(failedOver, liar.node.peerId.toString(), "the hop that would not sign is the one routed around");
      assert.ok(liar.service.stats.steps > 1, "the liar did answer unsealed steps");
      assert.equal(r.text.slice(0, golden.length), golden, "its lies were rolled back and redone");
      assert.deepEqual(shown, r.tokens, "every token shown is one kept: nothing from the unsealed window was shown");
      // the liar's session holds one sealed window: its honest prompt step
      const sealed = chain.records[0].steps.filter((st) => st.receipts.length > 0);
      assert.deepEqual(sealed.map((st) => [st.receipts[1].pos, st.receipts[1].n]), [[0, chain.records[0].steps[0].n]]);
    } finally {
      await liar.stop(0);
    }
  });

  it("a stalled last hop is named by the hop before it, not blamed on the first (one deadline down the route)", async () => {
    const stalled = await startServer({ model: STORIES_260K, layers: [4, 5], fault: parseFault("slow:4000") });
    try {
      const cand = (x: RunningServer): Candidate => ({ peer: x.node.peerId.toString(), addrs: x.addrs(), start: x.runner.start, end: x.runner.end, trust: 1, throughput: 1000, rttMs: 1 });
      const failed: string[] = [];
      const chain = new FailoverChain(client, engine.model.config.dim, {
        route: async (exclude) => chooseRoute([cand(servers[0]), cand(servers[3]), cand(exclude.size === 0 ? stalled : servers[2])], 5, exclude),
        onFailover: (peer) => failed.push(peer),
        timeoutMs: 2000,
      });
      const r = await generate(engine.client, chain, { prompt: "", maxTokens: 8 });
      await chain.close();
      assert.deepEqual(failed, [stalled.node.peerId.toString()]);
      assert.equal(r.tokens.length, 8);
    } finally {
      await stalled.stop(0);
    }
  });

  it("f16 frames: every hop commits to the half-precision values it sends, so receipts hold", async () => {
    const chain = new FailoverChain(client, engine.model.config.dim, { route: async (exclude) => chooseRoute(candidates(), 5, exclude), dtype: "f16", maxFailovers: 0 });
    const r = await generate(engine.client, chain, { prompt: "", maxTokens: 12 });
    await chain.close();
    assert.equal(r.tokens.length, 12);
    assert.equal(chain.failovers, 0);
    assert.ok(chain.records[0].steps.filter((st) => st.receipts.length > 0).length >= 2, "windows were sealed and checked");
  });
});
