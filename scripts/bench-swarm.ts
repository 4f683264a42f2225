// Swarm benchmark (a script, not a test): tokens/s through 1, 2, 3 and 4 servers, each a
// process of its own on loopback (scripts/swarm-server.ts: real libp2p TCP + Noise + Yamux,
// real ONNX in a worker thread), against local single-process generation of the same model
// in the same run, with where the added time per token goes. Writes bench/swarm.json.
//   npm run bench:swarm          (EFED_BENCH_QUICK=1 for a smaller synthetic model;
//                                 EFED_BENCH_BEFORE=<checkout> measures that code too)
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generate, type ClientModel, type ShardChain } from "../node/client/generate.ts";
import { openLocalEngine, type LocalEngine } from "../node/client/local.ts";
import { RemoteSession } from "../node/client/remote.ts";
import { splitLayers } from "../node/model/partition.ts";
import { loadModel } from "../node/model/load.ts";
import { writeSynthModel } from "../node/model/synth.ts";
import { ShardRunner, type ShardCompute } from "../node/model/onnx/runtime.ts";
import { WorkerShard } from "../node/model/onnx/worker-shard.ts";
import { buildShardGraph, denseSource } from "../node/model/onnx/layers.ts";
import { pathToFileURL } from "node:url";
import { createNode, type EfedNode } from "../node/p2p/host.ts";
import { spawnServers, type ServerProcess } from "./swarm-processes.ts";
import { STORIES_260K } from "../test/helpers/models.ts";

const QUICK = process.env.EFED_BENCH_QUICK === "1";
/** Runs of each measurement; the fastest is kept (the VM's cores are shared and noisy). */
const REPEATS = Number(process.env.EFED_BENCH_REPEATS ?? 3);
/** Another checkout (an earlier commit, say) measured in the same run as "before". */
const BEFORE = process.env.EFED_BENCH_BEFORE;
const log = (s: string) => process.stderr.write(s + "\n");
const round = (x: number, d = 2) => Math.round(x * 10 ** d) / 10 ** d;

/** Milliseconds spent in each timed call, summed. */
class Clock {
  readonly ms: Record<string, number> = {};
  wrap<A extends unknown[], R>(name: string, f: (...a: A) => Promise<R>): (...a: A) => Promise<R> {
    return async (...a: A) => {
      const t = performance.now();
      try {
        return await f(...a);
      } finally {
        this.ms[name] = (this.ms[name] ?? 0) + performance.now() - t;
      }
    };
  }
}

/** The client model and chain with their embedding, head, steps and seals timed. */
function timed(client: ClientModel, chain: ShardChain, clock: Clock): { client: ClientModel; chain: ShardChain } {
  const graph = (name: string, g: ClientModel["embedding"]) => ({ run: clock.wrap(name, (x: Parameters<typeof g.run>[0]) => g.run(x)) }) as unknown as ClientModel["embedding"];
  return {
    client: { ...client, embedding: graph("embedding", client.embedding), head: graph("head", client.head) },
    chain: {
      sealEvery: chain.sealEvery,
      step: clock.wrap("step", (h: Float32Array, n: number) => chain.step(h, n)),
      seal: chain.seal === undefined ? undefined : clock.wrap("seal", () => chain.seal!()),
      close: () => chain.close(),
    },
  };
}

/** The fastest of REPEATS generations of `tokens` tokens, each on a fresh chain. */
async function fastest(engine: LocalEngine, tokens: number, open: () => Promise<ShardChain>) {
  let best: { tps: number; clock: Clock } | undefined;
  for (let i = 0; i < REPEATS; i++) {
    const clock = new Clock();
    const t = timed(engine.client, await open(), clock);
    const r = await generate(t.client, t.chain, { prompt: "", maxTokens: tokens, stopAtEos: false });
    await t.chain.close();
    const tps = r.tokens.length / r.seconds;
    if (best === undefined || tps > best.tps) best = { tps, clock };
  }
  return best!;
}

/** Per decode token, in ms, of a clock's totals over a run of `tokens` tokens. */
const per = (clock: Clock, tokens: number) => Object.fromEntries(Object.entries(clock.ms).map(([k, v]) => [k, round(v / tokens, 3)]));

/** One forward pass of every layer on this thread and through a worker thread: what the
 * server's hand-off to its worker costs per step. */
async function workerHop(file: string) {
  const m = await loadModel(file); // the local engine maps a GGUF's layers: load them here
  const c = m.config;
  const norms = (l: number) => ({ attnNorm: m.weights.layers[l]!.attnNorm, ffnNorm: m.weights.layers[l]!.ffnNorm });
  const graph = () => buildShardGraph(c, { start: 0, end: c.nLayers, norms, linear: denseSource(m.weights) });
  const x = new Float32Array(c.dim).fill(0.01);
  const time = async (r: ShardCompute) => {
    let best = Infinity;
    for (let rep = 0; rep < REPEATS; rep++) {
      const cache = r.newCache();
      await r.step(cache, x, 1);
      const t = performance.now();
      for (let i = 0; i < 64; i++) await r.step(cache, x, 1);
      best = Math.min(best, (performance.now() - t) / 64);
      cache.release?.();
    }
    return best;
  };
  const here = await ShardRunner.create(c, 0, c.nLayers, graph(), "cpu");
  const worker = await WorkerShard.create(c, 0, c.nLayers, graph(), "cpu");
  const hereMs = await time(here);
  const workerMs = await time(worker);
  await here.release();
  await worker.release();
  return { eventLoopMsPerStep: round(hereMs, 3), workerMsPerStep: round(workerMs, 3), workerHopMs: round(workerMs - hereMs, 3) };
}

/** The client's networking from a checkout: this one, or EFED_BENCH_BEFORE's. */
interface Side {
  readonly root?: string;
  readonly node: EfedNode;
  readonly Session: typeof RemoteSession;
}

async function side(root?: string): Promise<Side> {
  if (root === undefined) return { node: await createNode(), Session: RemoteSession };
  const at = (f: string) => pathToFileURL(`${root}/${f}`).href;
  const host = (await import(at("node/p2p/host.ts"))) as { createNode: typeof createNode };
  const remote = (await import(at("node/client/remote.ts"))) as { RemoteSession: typeof RemoteSession };
  return { root, node: await host.createNode(), Session: remote.RemoteSession };
}

/** Local generation, then the swarm on `layout` (one process per server, running the
 * server code of `from`'s checkout), each the fastest of REPEATS runs. */
async function swarmRun(engine: LocalEngine, file: string, layout: [number, number][], tokens: number, from: Side, local: () => ReturnType<typeof fastest>) {
  const c = engine.model.config;
  const k = layout.length;
  let servers: ServerProcess[] = [];
  try {
    const client = from.node;
    servers = await spawnServers(file, layout, from.root);
    const route = servers.map((s) => s.hop);
    const session = async () => {
      const s = new from.Session(client, route, c.dim);
      await s.open();
      return s;
    };
    const warm = await session();
    await generate(engine.client, warm, { prompt: "", maxTokens: 4, stopAtEos: false });
    await warm.close();
    // local right before the swarm, so both see the same machine
    const l = await local();
    for (const s of servers) s.reset();
    const r = await fastest(engine, tokens, session);
    const stats = await Promise.all(servers.map((s) => s.stats()));
    const msPerToken = 1000 / r.tps;
    const localMs = 1000 / l.tps;
    // each server's counters cover all REPEATS runs: per token of those runs
    const runTokens = tokens * REPEATS;
    return {
      tokensPerSecond: round(r.tps, 1),
      localTokensPerSecond: round(l.tps, 1),
      ratioToLocal: round(r.tps / l.tps, 3),
      msPerToken: round(msPerToken, 3),
      // time per token beyond local generation, spread over the k hops
      addedMsPerHop: round((msPerToken - localMs) / k, 3),
      // where a token's time goes (ms per token): the client's calls, and each server's
      // compute as its event loop sees it (worker hand-off included) and receipt work
      breakdown: {
        local: per(l.clock, tokens),
        swarm: per(r.clock, tokens),
        servers: stats.map((s) => ({ computeMs: round(s.computeMs / runTokens, 3), receiptMs: round(s.receiptMs / runTokens, 3) })),
      },
    };
  } finally {
    await Promise.all(servers.map((s) => s.stop()));
  }
}

async function benchModel(file: string, tokens: number) {
  const engine = await openLocalEngine(file);
  const c = engine.model.config;
  const local = async () => fastest(engine, tokens, async () => engine.session());
  await generate(engine.client, engine.session(), { prompt: "", maxTokens: 4, stopAtEos: false }); // warm-up
  const rows = [];
  const locals: number[] = [];
  const sides = [...(BEFORE === undefined ? [] : [await side(BEFORE)]), await side()];
  for (const k of [1, 2, 3, 4]) {
    if (k > c.nLayers) break;
    const layout = splitLayers(c.nLayers, k);
    const row: Record<string, unknown> = { servers: k, layout: layout.map(([a, b]) => `${a}-${b}`) };
    for (const from of sides) {
      const m = await swarmRun(engine, file, layout, tokens, from, local);
      locals.push(m.localTokensPerSecond);
      if (from.root === undefined) Object.assign(row, m);
      else row.before = { checkout: from.root, ...m };
    }
    rows.push(row);
    log(`  ${k} server(s): ${JSON.stringify(row)}`);
  }
  for (const s of sides) await s.node.stop();
  const hop = await workerHop(file);
  log(`  worker hand-off: ${JSON.stringify(hop)}`);
  await engine.close();
  return { localTokensPerSecond: round(Math.max(...locals), 1), tokens, repeats: REPEATS, workerHandOff: hop, swarm: rows };
}

const results: Record<string, unknown> = { note: "each server a process of its own on 127.0.0.1 (scripts/swarm-server.ts, shard in 1 worker thread), client in this process; local generation measured right before each swarm run; `before`: the same, client and servers running the checkout EFED_BENCH_BEFORE names; fastest of `repeats` runs; one machine, 2 shared cores" };
log("stories260K…");
results.stories260K = await benchModel(STORIES_260K, 128);
const dir = mkdtempSync(join(tmpdir(), "efed-bench-swarm-"));
const synth = join(dir, "synth.gguf");
const shape = QUICK ? { dim: 256, layers: 4, heads: 8, kvHeads: 4, ffn: 704, vocab: 8000 } : { dim: 512, layers: 8, heads: 8, kvHeads: 4, ffn: 1408, vocab: 24000 };
log(`synthetic ${JSON.stringify(shape)}…`);
const { parameters } = writeSynthModel(synth, { ...shape, seed: 1 });
results.synthetic = { shape, parameters, ...(await benchModel(synth, QUICK ? 16 : 128)) };
rmSync(dir, { recursive: true, force: true });
mkdirSync("bench", { recursive: true });
// the "sessions" section is bench-sessions.ts's: keep it
const kept = existsSync("bench/swarm.json") ? JSON.parse(readFileSync("bench/swarm.json", "utf8")).sessions : undefined;
writeFileSync("bench/swarm.json", JSON.stringify({ ...results, ...(kept === undefined ? {} : { sessions: kept }) }, null, 2) + "\n");
console.log(JSON.stringify(results, null, 2));
