// Where load time goes (a script, not a test): the 48M synthetic model in F32, loaded as
// `efed generate --local` loads it (one shard, f32 Gemm graphs, the client's embedding and
// head), phase by phase: reading the whole file (for comparison: a load no longer does),
// reading the header, tokenizer and final norm, the layers' norms (every f32 matrix stays in
// the file, gguf-map.ts), building the shard graph, creating the shard's onnxruntime session
// (which reads and packs the matrices), and the same two for the client graphs. Median of 3
// runs. Writes
// bench/model.json "load".<label> (EFED_BENCH_LABEL, default "now"; EFED_BENCH_OUT names
// another bench file, to record another checkout's figures beside these).
//   npm run bench:load
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { mapGgufClient, mapGgufLayers } from "../node/model/gguf-map.ts";
import { buildEmbeddingGraph, buildHeadGraph, buildShardGraph } from "../node/model/onnx/layers.ts";
import { ClientGraph, ShardRunner } from "../node/model/onnx/runtime.ts";
import { writeSynthModel } from "../node/model/synth.ts";

const OUT = process.env.EFED_BENCH_OUT ?? "bench/model.json";
const LABEL = process.env.EFED_BENCH_LABEL ?? "now";
const RUNS = 3;
const dir = mkdtempSync(join(tmpdir(), "efed-bench-load-"));
const file = join(dir, "synth.gguf");
writeSynthModel(file, { dim: 512, layers: 8, heads: 8, kvHeads: 4, ffn: 1408, vocab: 24000, seed: 1 });

async function once(): Promise<Record<string, number>> {
  const ms: Record<string, number> = {};
  let t = performance.now();
  const lap = (name: string) => {
    const now = performance.now();
    ms[name] = now - t;
    t = now;
  };
  readFileSync(file);
  lap("fileRead");
  const m = await mapGgufClient(file); // header, tokenizer, final norm; the matrices stay in the file
  lap("header");
  const c = m.model.config;
  const layers = await mapGgufLayers(file, 0, c.nLayers, { quantized: true }); // norms; matrices stay in the file
  lap("mapLayers");
  const shard = buildShardGraph(c, { start: 0, end: c.nLayers, norms: layers.norms, linear: layers.linear, quantized: true });
  lap("shardGraph");
  const runner = await ShardRunner.create(c, 0, c.nLayers, shard, "cpu", layers.externalDir);
  lap("shardSession");
  const graphs = [buildEmbeddingGraph(c, m.embedding), buildHeadGraph(c, m.outputNorm, m.output)];
  lap("clientGraphs");
  const client = await Promise.all(graphs.map((g) => ClientGraph.create(g, "cpu", m.externalDir)));
  lap("clientSessions");
  ms.total = Object.values(ms).reduce((a, b) => a + b, 0) - ms.fileRead; // a real load does not read twice
  await Promise.all([runner.release(), ...client.map((g) => g.release())]);
  return ms;
}

const runs: Record<string, number>[] = [];
for (let i = 0; i < RUNS; i++) runs.push(await once());
rmSync(dir, { recursive: true, force: true });
const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const phasesMs = Object.fromEntries(Object.keys(runs[0]).map((k) => [k, Math.round(median(runs.map((r) => r[k])))]));
const result = { note: `48M synthetic F32, one shard + embedding + head, every matrix left in the file (gguf-map.ts), --threads 1; median of ${RUNS} runs; total excludes the separate fileRead`, phasesMs };
const out = existsSync(OUT) ? JSON.parse(readFileSync(OUT, "utf8")) : {};
out.load = { ...(out.load ?? {}), [LABEL]: result };
writeFileSync(OUT, JSON.stringify(out, null, 2) + "\n");
console.log(JSON.stringify(result));
