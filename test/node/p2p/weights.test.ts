// /efed/weights/1: a server fetches its layers from a peer, dense (checked against the
// manifest, and the manifest against the ledger's hash) or as SVD factors, and serves them
// in a route that still produces the published text. Bytes moved are reported.
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { generate } from "../../../node/client/generate.ts";
import { openLocalEngine, type LocalEngine } from "../../../node/client/local.ts";
import { RemoteSession } from "../../../node/client/remote.ts";
import { createNode, type EfedNode } from "../../../node/p2p/host.ts";
import { modelHash } from "../../../node/model/manifest.ts";
import { startServer, type RunningServer } from "../../../node/server/server.ts";
import { fetchLayers, fetchLayersFromAny } from "../../../node/server/weights-fetch.ts";
import { goldenText, STORIES_260K } from "../../helpers/models.ts";

describe("weights over the network", () => {
  let provider: RunningServer;
  let tail: RunningServer;
  let client: EfedNode;
  let engine: LocalEngine;
  const started: RunningServer[] = [];

  before(async () => {
    provider = await startServer({ model: STORIES_260K, layers: [0, 2], shareWeights: true });
    tail = await startServer({ model: STORIES_260K, layers: [4, 5] });
    client = await createNode();
    engine = await openLocalEngine(STORIES_260K);
  });
  after(async () => {
    await Promise.all([provider, tail, ...started].map((s) => s?.stop(100)));
    await client?.stop();
    await engine?.close();
  });

  async function textThrough(middle: RunningServer): Promise<string> {
    const hop = (s: RunningServer) => ({ peer: s.node.peerId.toString(), addrs: s.addrs(), start: s.runner.start, end: s.runner.end });
    const session = new RemoteSession(client, [hop(provider), hop(middle), hop(tail)], engine.model.config.dim);
    await session.open();
    const golden = goldenText();
    const r = await generate(engine.client, session, { prompt: "", maxTokens: engine.model.tokenizer.encode(golden, { bos: false }).length });
    await session.close();
    return r.text.slice(0, golden.length);
  }

  it("the manifest root is the ledger's model hash of the file", async () => {
    assert.equal(provider.weights!.root, await modelHash(STORIES_260K));
  });

  it("fetches dense layers, checks every tensor, and serves them: the published text", async () => {
    const s = await startServer({ layers: [2, 4], weightsFrom: { providers: provider.addrs(), expectedRoot: provider.weights!.root } });
    started.push(s);
    const f = s.fetched!;
    assert.equal(f.verified, 2 * 9); // 2 layers × (2 norms + 7 matrices)
    const c = f.config;
    const perLayer = 2 * c.dim + 2 * c.dim * c.dim + 2 * 32 * c.dim + 3 * c.dim * c.hiddenDim;
    assert.equal(f.bytes, 4 * 2 * perLayer);
    assert.ok(f.wireBytes > f.bytes);
    assert.equal(await textThrough(s), goldenText());
  });

  it("fetches SVD factors: at energy 1.0 the text is the same; at 0.8 fewer bytes move", async () => {
    // the first peer tried does not share the model (no /efed/weights/1): passed over for the next
    const full = await startServer({ layers: [2, 4], weightsFrom: { providers: [tail.addrs()[0], provider.addrs()[0]], svdEnergy: 1 } });
    started.push(full);
    assert.equal(full.fetched!.verified, 4); // only the norms can be checked against the manifest
    assert.equal(await textThrough(full), goldenText());
    const dense = started[0].fetched!.bytes;
    const lossy = await fetchLayers(client, provider.addrs()[0], { start: 2, end: 4, format: "svd", energy: 0.8 });
    assert.ok(lossy.bytes < dense, `${lossy.bytes} vs ${dense}`);
  });

  it("refuses a provider whose model is not the ledger's", async () => {
    await assert.rejects(fetchLayers(client, provider.addrs()[0], { start: 2, end: 4, format: "dense" }, "0x" + "00".repeat(32)), /is not the ledger's/);
  });

  it("refuses altered weights", async () => {
    const liar = await startServer({ model: STORIES_260K, layers: [0, 1], shareWeights: true });
    started.push(liar);
    // change one weight after the manifest was computed: what is sent no longer matches it
    const w = (liar.weights as unknown as { model: { weights: { layers: { w2: Float32Array }[] } } }).model.weights.layers[3].w2;
    w[7] += 0.5;
    await assert.rejects(fetchLayers(client, liar.addrs()[0], { start: 3, end: 4, format: "dense" }), (e: Error) => {
      assert.equal(e.name, "WeightsFetchError");
      assert.match(e.message, /layer\.3\.w2 does not match the manifest/);
      return true;
    });
    // --weights-from ledger tries peers in turn: the liar is passed over for an honest one
    const root = provider.weights!.root;
    const f = await fetchLayersFromAny(client, [liar.addrs()[0], provider.addrs()[0]], { start: 3, end: 4, format: "dense" }, root);
    assert.equal(f.root, root);
    assert.equal(f.verified, 9);
    await assert.rejects(fetchLayersFromAny(client, [liar.addrs()[0], tail.addrs()[0]], { start: 3, end: 4, format: "dense" }, root), /none of 2 peers gave the weights/);
  });

  it("the provider answers a bad request with an error", async () => {
    await assert.rejects(fetchLayers(client, provider.addrs()[0], { start: 3, end: 9, format: "dense" }), /refused: layers 3-9 are outside the model's 5/);
  });
});
