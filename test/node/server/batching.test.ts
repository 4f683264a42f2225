// A server batching the decode steps of concurrent sessions (continuous batching) over real
// libp2p and real onnxruntime: several sessions generating at once get, token for token, what
// each gets alone from a server that computes every step by itself (maxBatch 1), on the
// reference model (with its published greedy text) and on an F32 synthetic model; and their
// steps did share runs. Where the fused graph runs (the synthetic model), servers batch with
// it, and the verifier's re-check (fused too) passes their honest sessions.
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generate } from "../../../node/client/generate.ts";
import { openLocalEngine, type LocalEngine } from "../../../node/client/local.ts";
import { FailoverChain, RemoteSession } from "../../../node/client/remote.ts";
import { loadModel } from "../../../node/model/load.ts";
import { fusedGraphRuns } from "../../../node/model/onnx/fused-layers.ts";
import { LOCAL_DOMAIN } from "../../../node/swarm/receipt.ts";
import { Rechecker } from "../../../node/verifier/recheck.ts";
import { toleranceFor } from "../../../node/verifier/tolerance.ts";
import { writeSynthModel } from "../../../node/model/synth.ts";
import { createNode, type EfedNode } from "../../../node/p2p/host.ts";
import { startServer, type RunningServer } from "../../../node/server/server.ts";
import { DEFAULT_BATCH_THREADS } from "../../../node/model/onnx/runtime.ts";
import { goldenText, STORIES_260K } from "../../helpers/models.ts";

describe("continuous batching on a server", () => {
  let client: EfedNode;
  let dir: string;
  const servers: RunningServer[] = [];
  const engines: LocalEngine[] = [];
  before(async () => {
    client = await createNode();
    dir = mkdtempSync(join(tmpdir(), "efed-batching-"));
  });
  after(async () => {
    await Promise.all(servers.map((s) => s.stop(100).catch(() => {})));
    for (const e of engines) await e.close();
    await client?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  async function run(server: RunningServer, engine: LocalEngine, prompt: string, maxTokens: number): Promise<number[]> {
    const c = server.config;
    const route = [{ peer: server.node.peerId.toString(), addrs: server.addrs(), start: 0, end: c.nLayers }];
    const session = new RemoteSession(client, route, c.dim);
    await session.open();
    try {
      return (await generate(engine.client, session, { prompt, maxTokens, stopAtEos: false })).tokens;
    } finally {
      await session.close();
    }
  }

  const cases = [
    { name: "stories260K", file: () => STORIES_260K, prompts: ["", "Once upon a time", "The cat sat", "Lily and Ben went to the park. They"], tokens: 48 },
    {
      name: "an F32 synthetic model",
      file: () => {
        const f = join(dir, "synth.gguf");
        writeSynthModel(f, { dim: 256, layers: 4, heads: 8, kvHeads: 4, ffn: 704, vocab: 512, seed: 5 });
        return f;
      },
      prompts: ["a", "hello there", "0123456789 abcdef", "x"],
      tokens: 32,
    },
  ];

  it("an F32 synthetic model: servers run the fused graph, batch concurrent sessions, and pass the verifier's re-check of every session within a fifth of the tolerance", async () => {
    const file = join(dir, "fused.gguf");
    writeSynthModel(file, { dim: 256, layers: 4, heads: 8, kvHeads: 4, ffn: 704, vocab: 512, seed: 6 });
    const engine = await openLocalEngine(file);
    engines.push(engine);
    const c = engine.model.config;
    assert.equal(fusedGraphRuns(c, "cpu"), true, "head size 32: the fused graph runs");
    // a route of two servers, so receipts chain from hop to hop
    const hops = [await startServer({ model: file, layers: [0, 2] }), await startServer({ model: file, layers: [2, c.nLayers] })];
    servers.push(...hops);
    const route = hops.map((s) => ({ peer: s.node.peerId.toString(), addrs: s.addrs(), start: s.runner.start, end: s.runner.end }));
    const one = async (i: number) => {
      const chain = new FailoverChain(client, c.dim, { route: async () => route, domain: LOCAL_DOMAIN, maxFailovers: 0 });
      const promptIds = [engine.model.tokenizer.bos, 5 + i, 17 + 3 * i, 40 + i];
      const tokens = [...promptIds];
      await generate(engine.client, chain, { prompt: "", promptIds, maxTokens: 24, stopAtEos: false, onToken: (id) => tokens.push(id) });
      await chain.close();
      return { record: chain.records[0], tokens };
    };
    const sessions = await Promise.all([0, 1, 2, 3].map(one));
    for (const s of hops) assert.ok(s.runner.batches!.batched > 0, `decode steps shared runs on ${s.runner.start}-${s.runner.end}`);
    const rechecker = new Rechecker(await loadModel(file));
    try {
      for (const [i, s] of sessions.entries()) {
        const r = await rechecker.recheck(s.record, s.tokens, LOCAL_DOMAIN);
        assert.equal(r.failure, undefined, `session ${i}: ${JSON.stringify(r.failure)}`);
        assert.equal(r.discarded, undefined);
        assert.ok(r.hops.every((h) => h.windows > 0), `session ${i}: windows checked ${r.hops.map((h) => h.windows)}`);
        assert.ok(r.maxError < toleranceFor("cpu/cpu") / 5, `session ${i}: honest error ${r.maxError}`);
      }
    } finally {
      await rechecker.close();
    }
  });

  for (const k of cases) {
    it(`${k.name}: ${k.prompts.length} concurrent sessions give the tokens each gets alone, their steps batched`, async () => {
      const file = k.file();
      const engine = await openLocalEngine(file);
      engines.push(engine);
      const c = engine.model.config;
      const alone = await startServer({ model: file, layers: [0, c.nLayers], maxBatch: 1 });
      servers.push(alone);
      const batched = await startServer({ model: file, layers: [0, c.nLayers] });
      servers.push(batched);
      assert.equal(alone.runner.batches, undefined, "maxBatch 1 computes every step alone");
      // the default server's batched runs take DEFAULT_BATCH_THREADS (1: one copy of the layers)
      assert.equal(batched.runner.batchThreads, DEFAULT_BATCH_THREADS);
      assert.equal(alone.runner.batchThreads, undefined);
      const want: number[][] = [];
      for (const p of k.prompts) want.push(await run(alone, engine, p, k.tokens));
      const got = await Promise.all(k.prompts.map((p) => run(batched, engine, p, k.tokens)));
      got.forEach((g, i) => assert.deepEqual(g, want[i], `prompt ${JSON.stringify(k.prompts[i])}`));
      // distinct prompts, distinct continuations: a session given another's rows would differ
      assert.equal(new Set(want.map((w) => w.join())).size, want.length);
      const b = batched.runner.batches!;
      assert.ok(b.batched > 0 && b.largest >= 2, `decode steps shared runs (${JSON.stringify(b)})`);
      if (k.name === "stories260K") {
        const golden = goldenText();
        const text = engine.model.tokenizer.decode(got[0]);
        assert.equal(text.slice(0, Math.min(golden.length, text.length)), golden.slice(0, Math.min(golden.length, text.length)));
      }
    });
  }
});
