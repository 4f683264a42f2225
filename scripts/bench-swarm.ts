// Swarm benchmark (a script, not a test): tokens/s through 1, 2, 3 and 4 servers on
// loopback (real libp2p TCP + Noise + Yamux, real ONNX) against local single-process
// generation of the same model in the same run, and the latency each hop adds.
// Servers run in this process (one machine, shared cores). Writes bench/swarm.json.
//   npm run bench:swarm          (EFED_BENCH_QUICK=1 for a smaller synthetic model)
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generate } from "../node/client/generate.ts";
import { openLocalEngine } from "../node/client/local.ts";
import { RemoteSession } from "../node/client/remote.ts";
import { splitLayers } from "../node/model/partition.ts";
import { writeSynthModel } from "../node/model/synth.ts";
import { createNode } from "../node/p2p/host.ts";
import { startServer } from "../node/server/server.ts";
import { STORIES_260K } from "../test/helpers/models.ts";

const QUICK = process.env.EFED_BENCH_QUICK === "1";
const log = (s: string) => process.stderr.write(s + "\n");
const round = (x: number, d = 2) => Math.round(x * 10 ** d) / 10 ** d;

async function benchModel(file: string, tokens: number) {
  const engine = await openLocalEngine(file);
  const run = async (chain: Parameters<typeof generate>[1]) => {
    await generate(engine.client, chain, { prompt: "", maxTokens: 4, stopAtEos: false }); // warm-up on a throwaway cache
    return chain;
  };
  // local, single process
  await run(engine.session());
  const local = await generate(engine.client, engine.session(), { prompt: "", maxTokens: tokens, stopAtEos: false });
  const localTps = local.tokens.length / local.seconds;
  log(`  local: ${round(localTps, 1)} tokens/s`);
  const rows = [];
  const client = await createNode();
  for (const k of [1, 2, 3, 4]) {
    if (k > engine.model.config.nLayers) break;
    const servers = await Promise.all(splitLayers(engine.model.config.nLayers, k).map((layers) => startServer({ model: file, layers })));
    const route = servers.map((s) => ({ peer: s.node.peerId.toString(), addrs: s.addrs(), start: s.runner.start, end: s.runner.end }));
    const warm = new RemoteSession(client, route, engine.model.config.dim);
    await warm.open();
    await generate(engine.client, warm, { prompt: "", maxTokens: 4, stopAtEos: false });
    await warm.close();
    const session = new RemoteSession(client, route, engine.model.config.dim);
    await session.open();
    const r = await generate(engine.client, session, { prompt: "", maxTokens: tokens, stopAtEos: false });
    await session.close();
    const tps = r.tokens.length / r.seconds;
    const msPerToken = 1000 / tps;
    const localMs = 1000 / localTps;
    rows.push({
      servers: k,
      layout: route.map((h) => `${h.start}-${h.end}`),
      tokensPerSecond: round(tps, 1),
      ratioToLocal: round(tps / localTps, 3),
      msPerToken: round(msPerToken, 3),
      // network + framing cost per token beyond local compute, spread over the k hops
      addedMsPerHop: round((msPerToken - localMs) / k, 3),
    });
    log(`  ${k} server(s): ${JSON.stringify(rows.at(-1))}`);
    await Promise.all(servers.map((s) => s.stop(100)));
  }
  await client.stop();
  await engine.close();
  return { localTokensPerSecond: round(localTps, 1), tokens, swarm: rows };
}

const results: Record<string, unknown> = { note: "servers in this process on 127.0.0.1; one machine, shared cores" };
log("stories260K…");
results.stories260K = await benchModel(STORIES_260K, 128);
const dir = mkdtempSync(join(tmpdir(), "efed-bench-swarm-"));
const synth = join(dir, "synth.gguf");
const shape = QUICK ? { dim: 256, layers: 4, heads: 8, kvHeads: 4, ffn: 704, vocab: 8000 } : { dim: 512, layers: 8, heads: 8, kvHeads: 4, ffn: 1408, vocab: 24000 };
log(`synthetic ${JSON.stringify(shape)}…`);
const { parameters } = writeSynthModel(synth, { ...shape, seed: 1 });
results.synthetic = { shape, parameters, ...(await benchModel(synth, QUICK ? 16 : 48)) };
rmSync(dir, { recursive: true, force: true });
mkdirSync("bench", { recursive: true });
// the "sessions" section is bench-sessions.ts's: keep it
const kept = existsSync("bench/swarm.json") ? JSON.parse(readFileSync("bench/swarm.json", "utf8")).sessions : undefined;
writeFileSync("bench/swarm.json", JSON.stringify({ ...results, ...(kept === undefined ? {} : { sessions: kept }) }, null, 2) + "\n");
console.log(JSON.stringify(results, null, 2));
