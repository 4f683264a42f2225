// A server of a Q8_0, Q4_0 or Q4_K model decodes its layers to a scratch file onnxruntime maps (gguf-map.ts
// decodeToScratch) instead of carrying the values in its graph: it serves the text a float
// graph of the same weights gives, passes the verifier's re-check, and removes the file when
// it stops.
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generate } from "../../../node/client/generate.ts";
import { openLocalEngine } from "../../../node/client/local.ts";
import { FailoverChain } from "../../../node/client/remote.ts";
import { loadModel } from "../../../node/model/load.ts";
import { writeSynthModel } from "../../../node/model/synth.ts";
import { createNode } from "../../../node/p2p/host.ts";
import { PROCESS_TAG } from "../../../node/model/scratch.ts";
import { startServer } from "../../../node/server/server.ts";
import { LOCAL_DOMAIN } from "../../../node/swarm/receipt.ts";
import { Rechecker } from "../../../node/verifier/recheck.ts";

const mine = () => readdirSync(tmpdir()).filter((e) => e.startsWith(`efed-decoded-${PROCESS_TAG}-`));

describe("a server of a quantized model", () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "efed-q8-server-"));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  for (const type of ["Q8_0", "Q4_0", "Q4_K"] as const) it(`serves from its decoded scratch file the text of a float graph, passes the re-check, and removes the file at stop (${type})`, async () => {
    const file = join(dir, `${type}.gguf`);
    // K-quant rows are whole blocks of 256 values
    const width = type === "Q4_K" ? { dim: 256, ffn: 512 } : { dim: 128, ffn: 256 };
    writeSynthModel(file, { ...width, layers: 2, heads: 4, kvHeads: 2, vocab: 300, seed: 8, type });
    // the local engine with float graphs: the same decoded values (its own scratch file is
    // gone once its sessions are open)
    const engine = await openLocalEngine(file, { quantized: false });
    const before = mine();
    const server = await startServer({ model: file, layers: [0, 2] });
    const client = await createNode();
    try {
      const scratch = mine().filter((e) => !before.includes(e));
      assert.equal(scratch.length, 1, "the server holds one scratch folder");
      assert.ok(existsSync(join(tmpdir(), scratch[0], "decoded.f32")));
      const route = [{ peer: server.node.peerId.toString(), addrs: server.addrs(), start: 0, end: 2 }];
      const chain = new FailoverChain(client, width.dim, { route: async () => route, domain: LOCAL_DOMAIN, maxFailovers: 0 });
      const promptIds = [engine.model.tokenizer.bos, 7, 19];
      const swarm = await generate(engine.client, chain, { prompt: "", promptIds, maxTokens: 20, stopAtEos: false });
      await chain.close();
      const local = await generate(engine.client, engine.session(), { prompt: "", promptIds, maxTokens: 20, stopAtEos: false });
      assert.deepEqual(swarm.tokens, local.tokens);
      const rechecker = new Rechecker(await loadModel(file));
      try {
        const r = await rechecker.recheck(chain.records[0], [...promptIds, ...swarm.tokens], LOCAL_DOMAIN);
        assert.equal(r.failure, undefined, JSON.stringify(r.failure));
        assert.ok(r.hops[0].windows > 0);
      } finally {
        await rechecker.close();
      }
    } finally {
      await engine.close();
      await client.stop();
      await server.stop(0);
    }
    assert.deepEqual(mine(), before, "stop removes the scratch folder");
  });
});
