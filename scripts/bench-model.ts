// Model benchmark (a script, not a test): local tokens/s and per-shard step latency for
// stories260K and a synthetic ~50M-parameter model, memory; and the SVD table on
// stories260K (weight bytes, top-1 agreement with the dense model over 256 greedy tokens,
// perplexity on the dense model's greedy text); decode and prefill against llama.cpp at 1
// and 2 threads, 48M and 300M synthetic models (bench-vs-llama.ts); a server's RSS over its
// layers' bytes (server-rss.ts). Writes bench/model.json.
//   npm run bench:model            (EFED_BENCH_QUICK=1 for a smaller synthetic model;
//                                   EFED_BENCH_ONLY=llama|memory to refresh one section;
//                                   EFED_BENCH_300M=0 to skip the 300M model, minutes)
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as ort from "onnxruntime-node";
import { generate, type ShardChain } from "../node/client/generate.ts";
import { openLocalEngine, type LocalEngine } from "../node/client/local.ts";
import { writeSynthModel } from "../node/model/synth.ts";
import type { SvdSpec } from "../node/model/svd/compress.ts";
import { STORIES_260K } from "../test/helpers/models.ts";
import { agreementAndPerplexity, allLogits } from "../node/analyze/svd-measure.ts";
import { comparedModels, vsLlamaCpp } from "./bench-vs-llama.ts";
import { SHAPE_300M, SHAPE_48M, SHAPE_QUICK } from "./synth-shapes.ts";

const QUICK = process.env.EFED_BENCH_QUICK === "1";
const log = (s: string) => process.stderr.write(s + "\n");
const mib = (b: number) => Math.round((b / 2 ** 20) * 10) / 10;

/** Wraps each shard's step with a timer. */
function timedChain(engine: LocalEngine): { chain: ShardChain; stepMs: number[][] } {
  const session = engine.session();
  const stepMs: number[][] = engine.runners.map(() => []);
  return {
    stepMs,
    chain: {
      async step(hidden, seq) {
        let h = hidden;
        for (let i = 0; i < engine.runners.length; i++) {
          const t = performance.now();
          h = await engine.runners[i].step(session.caches[i], h, seq);
          if (seq === 1) stepMs[i].push(performance.now() - t);
        }
        return h;
      },
      close: () => session.close(),
    },
  };
}

async function speed(file: string, shards: number, tokens: number) {
  const rssBefore = process.memoryUsage().rss;
  const engine = await openLocalEngine(file, { shards });
  const rssLoaded = process.memoryUsage().rss;
  const warm = timedChain(engine);
  await generate(engine.client, warm.chain, { prompt: "", maxTokens: 8, stopAtEos: false });
  const { chain, stepMs } = timedChain(engine);
  const r = await generate(engine.client, chain, { prompt: "", maxTokens: tokens, stopAtEos: false });
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const out = {
    shards,
    layout: engine.runners.map((s) => `${s.start}-${s.end}`),
    tokens: r.tokens.length,
    tokensPerSecond: Math.round((r.tokens.length / r.seconds) * 10) / 10,
    stepLatencyMs: stepMs.map((xs) => Math.round(mean(xs) * 1000) / 1000),
    rssMiB: { beforeLoad: mib(rssBefore), loaded: mib(rssLoaded), afterRun: mib(process.memoryUsage().rss) },
  };
  await engine.close();
  return out;
}


async function svdTable(file: string, energies: number[], tokens: number) {
  const dense = await openLocalEngine(file);
  const greedy = await generate(dense.client, dense.session(), { prompt: "", maxTokens: tokens, stopAtEos: false });
  const seq = [dense.model.tokenizer.bos, ...greedy.tokens];
  await dense.close();
  const rows = [];
  for (const energy of energies) {
    const spec: SvdSpec = { energy };
    const engine = await openLocalEngine(file, { svd: spec });
    const logits = await allLogits(engine, seq.slice(0, -1));
    const { agreement, perplexity } = agreementAndPerplexity(logits, seq);
    const report = engine.svdReport!;
    const factorNumbers = report.reduce((s, r) => s + (r.m + r.n + 1) * r.k, 0);
    const runNumbers = report.reduce((s, r) => s + (r.runs === "factored" ? (r.m + r.n) * r.k : r.m * r.n), 0);
    const denseBytes = report.reduce((s, r) => s + r.m * r.n, 0) * 4;
    rows.push({
      energy,
      meanRetainedEnergy: Math.round((report.reduce((s, r) => s + r.energy, 0) / report.length) * 1e4) / 1e4,
      factorBytes: factorNumbers * 4, // U_k, Σ_k, V_kᵀ as sent (paper Eq. 10)
      runBytes: runNumbers * 4, // what the shards hold: factors where cheaper, else dense
      denseBytes,
      top1Agreement: Math.round(agreement * 1e4) / 1e4,
      perplexity: Math.round(perplexity * 1000) / 1000,
    });
    log(`svd e=${energy}: ${JSON.stringify(rows.at(-1))}`);
    await engine.close();
  }
  return { tokens, rows };
}

/** A server's RSS over its layers' bytes in the file, each model in a fresh process: the 48M
 * model, then (unless EFED_BENCH_300M=0, as for the llama.cpp comparison) the 300M one,
 * whose layers outweigh what any server costs whatever its layers (fixedCost below). */
function serverMemory() {
  const dir = mkdtempSync(join(tmpdir(), "efed-bench-rss-"));
  const rss = (file: string, layers: number, batchThreads?: number) => {
    const args = ["--expose-gc", "scripts/server-rss.ts", file, "0", String(layers), ...(batchThreads === undefined ? [] : [String(batchThreads)])];
    return JSON.parse(execFileSync(process.execPath, args, { encoding: "utf8" }).trim().split("\n").at(-1)!);
  };
  const shape = QUICK ? SHAPE_QUICK : SHAPE_48M;
  const out: Record<string, unknown> = { shape, layers: `0-${shape.layers}` };
  for (const type of ["F32", "Q8_0"] as const) {
    const file = join(dir, `${type}.gguf`);
    writeSynthModel(file, { ...shape, seed: 1, type });
    out[type] = rss(file, shape.layers);
    log(`  server memory ${type}: ${JSON.stringify(out[type])}`);
    if (type === "F32") {
      // the same server with `--batch-threads 2`: its batches open a second copy of the layers
      const w = rss(file, shape.layers, 2);
      (out.F32 as Record<string, unknown>).batchThreads2 = { batchThreads: w.batchThreads, largestBatch: w.largestBatch, rssAfterBatch: w.rssAfterBatch, rssAfterBatchOverLayerBytes: w.rssAfterBatchOverLayerBytes };
      log(`  server memory F32, --batch-threads 2: ${JSON.stringify(w)}`);
    }
    rmSync(file);
  }
  if (comparedModels(QUICK, process.env.EFED_BENCH_300M).some((m) => m.label === "300M")) {
    const big: Record<string, unknown> = { shape: SHAPE_300M, layers: `0-${SHAPE_300M.layers}` };
    for (const type of ["F32", "Q8_0"] as const) {
      const file = join(dir, `300M-${type}.gguf`);
      writeSynthModel(file, { ...SHAPE_300M, seed: 1, type });
      big[type] = rss(file, SHAPE_300M.layers);
      log(`  server memory 300M ${type}: ${JSON.stringify(big[type])}`);
      rmSync(file);
    }
    out["300M"] = big;
  }
  // what any server costs whatever its layers (libp2p, the worker thread, onnxruntime): a
  // server of the 0.9 MB stories260K model; no ratio, it is not a 48M figure
  const fixed = JSON.parse(execFileSync(process.execPath, ["--expose-gc", "scripts/server-rss.ts", STORIES_260K, "0", "5"], { encoding: "utf8" }).trim().split("\n").at(-1)!);
  out.fixedCost = { model: "stories260K, layers 0-5", layerBytes: fixed.layerBytes, rssAdded: fixed.rssServing - fixed.rssBeforeLoad };
  log(`  server memory, fixed cost: ${JSON.stringify(out.fixedCost)}`);
  rmSync(dir, { recursive: true, force: true });
  return out;
}

const ONLY: Record<string, () => Promise<unknown>> = { llama: () => vsLlamaCpp(QUICK, log), memory: async () => serverMemory() };
const only = process.env.EFED_BENCH_ONLY;
if (only !== undefined) {
  // refresh one section, keeping the other figures of bench/model.json
  if (!(only in ONLY)) throw new Error(`EFED_BENCH_ONLY must be one of ${Object.keys(ONLY).join(", ")}`);
  const key = only === "llama" ? "vsLlamaCpp" : "serverMemory";
  const kept = JSON.parse(readFileSync("bench/model.json", "utf8")) as Record<string, unknown>;
  kept[key] = await ONLY[only]();
  writeFileSync("bench/model.json", JSON.stringify(kept, null, 2) + "\n");
  console.log(JSON.stringify(kept[key], null, 2));
  process.exit(0);
}

const results: Record<string, unknown> = { machine: { cpus: (await import("node:os")).cpus().length, node: process.version, ort: ort.env.versions.node } };

log("stories260K: speed by shard count…");
results.stories260K = { speed: [] as unknown[] };
for (const shards of [1, 2, 3, 5]) {
  const r = await speed(STORIES_260K, shards, 256);
  (results.stories260K as { speed: unknown[] }).speed.push(r);
  log(`  ${JSON.stringify(r)}`);
}

const dir = mkdtempSync(join(tmpdir(), "efed-bench-"));
const synth = join(dir, "synth.gguf");
const shape = QUICK ? SHAPE_QUICK : SHAPE_48M;
log(`synthetic model ${JSON.stringify(shape)}: writing…`);
const { parameters } = writeSynthModel(synth, { ...shape, seed: 1 });
results.synthetic = { shape, parameters, speed: [] as unknown[] };
for (const shards of [1, 2, 4]) {
  const r = await speed(synth, shards, QUICK ? 32 : 64);
  (results.synthetic as { speed: unknown[] }).speed.push(r);
  log(`  ${JSON.stringify(r)}`);
}
rmSync(dir, { recursive: true, force: true });

log("SVD table on stories260K…");
results.svd = await svdTable(STORIES_260K, [1.0, 0.99, 0.95, 0.9, 0.8], 256);

log("decode and prefill against llama.cpp, 1 and 2 threads…");
results.vsLlamaCpp = await vsLlamaCpp(QUICK, log);

log("server memory…");
results.serverMemory = serverMemory();

mkdirSync("bench", { recursive: true });
writeFileSync("bench/model.json", JSON.stringify(results, null, 2) + "\n");
console.log(JSON.stringify(results, null, 2));
