// Many users per server (a script, not a test): one server holding every layer of the 48M
// synthetic model, decode steps from 1 session and from 16 concurrent sessions, for each
// way of computing the shard in the same run: with the decode steps of concurrent sessions
// batched into one onnxruntime run (continuous batching, the default: in one worker thread,
// on the event loop, in 2 workers), and, as the baseline, each step alone as before (on the
// event loop, in one worker thread, in a pool of 2 workers; --threads 1 each). Client and
// server share this process and the machine's cores (real libp2p TCP + Noise + Yamux on
// 127.0.0.1, real ONNX); the client sends hidden states straight, so the figures are the
// server's (no embedding or head). Writes the "sessions" section of bench/swarm.json.
//   npm run bench:sessions       (EFED_BENCH_QUICK=1 for a smaller model and fewer steps)
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { RemoteSession } from "../node/client/remote.ts";
import { writeSynthModel } from "../node/model/synth.ts";
import { createNode, type EfedNode } from "../node/p2p/host.ts";
import { startServer } from "../node/server/server.ts";
import { DEFAULT_MAX_BATCH } from "../node/model/onnx/batch-runner.ts";
import { DEFAULT_BATCH_THREADS, DEFAULT_THREADS, setThreads, type BatchStats } from "../node/model/onnx/runtime.ts";
import type { RouteHop } from "../node/swarm/types.ts";

const QUICK = process.env.EFED_BENCH_QUICK === "1";
const STEPS = QUICK ? 8 : 32; // decode steps per session
const CONCURRENT = 16;
const SEAL_EVERY = 16;
const RUNS = QUICK ? 1 : 3; // each figure is the median of this many runs, 1 and 16 sessions in turns
const log = (s: string) => process.stderr.write(s + "\n");
const round = (x: number, d = 2) => Math.round(x * 10 ** d) / 10 ** d;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** One session: a short prompt, then `STEPS` single-position steps, sealed as a client does. */
async function oneSession(client: EfedNode, route: RouteHop[], dim: number, seed: number): Promise<number> {
  const s = new RemoteSession(client, route, dim);
  await s.open();
  const x = new Float32Array(8 * dim).map((_, i) => Math.sin(i * 0.1 + seed) * 0.5);
  await s.step(x, 8);
  for (let i = 0; i < STEPS; i++) {
    await s.step(x.subarray(0, dim), 1);
    if ((i + 1) % SEAL_EVERY === 0) await s.seal();
  }
  await s.close();
  return STEPS;
}

async function measure(client: EfedNode, route: RouteHop[], dim: number, sessions: number): Promise<number> {
  const t = performance.now();
  const steps = await Promise.all(Array.from({ length: sessions }, (_, i) => oneSession(client, route, dim, i)));
  return steps.reduce((a, b) => a + b, 0) / ((performance.now() - t) / 1000);
}

const dir = mkdtempSync(join(tmpdir(), "efed-bench-sessions-"));
const file = join(dir, "synth.gguf");
const shape = QUICK ? { dim: 256, layers: 4, heads: 8, kvHeads: 4, ffn: 704, vocab: 8000 } : { dim: 512, layers: 8, heads: 8, kvHeads: 4, ffn: 1408, vocab: 24000 };
const { config: c, parameters } = writeSynthModel(file, { ...shape, seed: 1 });
log(`synthetic ${JSON.stringify(shape)}, ${STEPS} decode steps per session…`);
const client = await createNode();
const rows = [];
const setups = [
  ["event loop", 0, 1],
  ["1 worker", 1, 1],
  ["2 workers", 2, 1],
  ["1 worker, batched (default)", 1, DEFAULT_MAX_BATCH],
  ["1 worker, batched, --batch-threads 2 (a second copy of the layers)", 1, DEFAULT_MAX_BATCH, 2],
  ["event loop, batched", 0, DEFAULT_MAX_BATCH],
  ["2 workers, batched", 2, DEFAULT_MAX_BATCH],
  ["1 worker, batched, --threads 2 (one copy; a lone step on 2 threads too)", 1, DEFAULT_MAX_BATCH, 2, 2],
] as const;
const zero: BatchStats = { steps: 0, batched: 0, largest: 0, decodeRuns: 0, decodeRows: 0, decodeMs: 0 };
for (const [label, workers, maxBatch, batchThreads, threads] of setups as readonly (readonly [string, number, number, number?, number?])[]) {
  setThreads(threads ?? DEFAULT_THREADS); // what `--threads` sets; the server's sessions take it at start
  const server = await startServer({ model: file, layers: [0, c.nLayers], workers, maxBatch, batchThreads });
  setThreads(DEFAULT_THREADS);
  const route = [{ peer: server.node.peerId.toString(), addrs: server.addrs(), start: 0, end: c.nLayers }];
  await measure(client, route, c.dim, 2); // warm-up
  const ones: number[] = [];
  const manys: number[] = [];
  const counted = { ...zero }; // the 16 sessions' steps only
  let wallMs = 0; // the 16 sessions' runs, end to end
  for (let r = 0; r < RUNS; r++) {
    ones.push(await measure(client, route, c.dim, 1));
    const b0 = { ...(server.runner.batches ?? zero) }; // on the event loop it is the live object
    const t = performance.now();
    manys.push(await measure(client, route, c.dim, CONCURRENT));
    wallMs += performance.now() - t;
    const b1 = server.runner.batches ?? zero;
    for (const k of ["steps", "batched", "decodeRuns", "decodeRows", "decodeMs"] as const) counted[k] += b1[k] - b0[k];
  }
  const [one, many] = [median(ones), median(manys)];
  const b = server.runner.batches === undefined ? undefined : { ...counted, largest: server.runner.batches.largest };
  // of the 16 sessions' steps, the share computed in one run with others, and rows per run
  // and where a round of lockstep decoding goes: the runs of several sessions' decode steps
  // (rows each, ms each on the runner's clock) and the share of the wall time they filled
  // (the rest: prompts, seals, and each step's way to its client and back)
  const rounds = b === undefined || b.decodeRuns === 0 ? undefined : { decodeRuns: b.decodeRuns, rowsPerRun: round(b.decodeRows / b.decodeRuns, 1), msPerRun: round(b.decodeMs / b.decodeRuns, 2), runShareOfWall: round(b.decodeMs / wallMs, 3) };
  const batching = b === undefined ? undefined : { batchedShare: round(b.batched / b.steps, 3), largestBatch: b.largest, ...rounds };
  rows.push({ compute: label, workers, maxBatch, threads: threads ?? DEFAULT_THREADS, batchThreads: server.runner.batchThreads, oneSessionStepsPerSecond: round(one, 1), sessions16StepsPerSecond: round(many, 1), sessions16VsOne: round(many / one, 3), ...batching, runs: { one: ones.map((x) => round(x, 1)), sessions16: manys.map((x) => round(x, 1)) } });
  log(`  ${JSON.stringify(rows.at(-1))}`);
  await server.stop(100);
}
await client.stop();
rmSync(dir, { recursive: true, force: true });
const base = rows[0].oneSessionStepsPerSecond;
const sessions = {
  note: `one server, all ${c.nLayers} layers; ${CONCURRENT} concurrent sessions of ${STEPS} decode steps (8-position prompt each, sealed every ${SEAL_EVERY}); client in the same process; --threads 1 and --batch-threads ${DEFAULT_BATCH_THREADS} (the defaults) unless a row says otherwise; figures are medians of ${RUNS} runs, 1 and 16 sessions in turns (runs: each run's); maxBatch 1 rows compute each step alone (the baseline, as before batching); batchedShare: of the 16 sessions' steps, those computed in one run with other sessions'; decodeRuns, rowsPerRun, msPerRun: the 16 sessions' runs of several decode steps (all runs together), runShareOfWall: their time over the 16 sessions' wall time`,
  shape,
  parameters,
  rows: rows.map((r) => ({ ...r, sessions16VsEventLoopOne: round(r.sessions16StepsPerSecond / base, 3) })),
};
mkdirSync("bench", { recursive: true });
const out = existsSync("bench/swarm.json") ? JSON.parse(readFileSync("bench/swarm.json", "utf8")) : {};
writeFileSync("bench/swarm.json", JSON.stringify({ ...out, sessions }, null, 2) + "\n");
console.log(JSON.stringify(sessions, null, 2));
