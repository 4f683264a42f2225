// Decode and prefill against llama.cpp on the same GGUF files, at 1 and 2 threads, in the
// same run (bench-model.ts writes the result into bench/model.json, "vsLlamaCpp"), for the
// 48M synthetic model and a 300M one. Our engine runs as `generate --local` does: the fused
// graph (fused-layers.ts), Q8_0 weights as int8 MatMulNBits. For 48M Q8_0 it is measured a
// second time with the graph servers and verifiers run: plain, weights expanded to f32.
// Both engines stay open and take turns (EFED_BENCH_ROUNDS rounds, default 3): each round one
// greedy decode and one prefill by each; each figure is the engine's best round.
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as ort from "onnxruntime-node";
import { generate } from "../node/client/generate.ts";
import { openLocalEngine } from "../node/client/local.ts";
import { setThreads } from "../node/model/onnx/runtime.ts";
import { packedBytes } from "../node/model/onnx/pack-cache.ts";
import { writeSynthModel } from "../node/model/synth.ts";
import { openLlamaCpp, type TimedEngine } from "./llama-cpp.ts";
import { SHAPE_300M, SHAPE_48M, SHAPE_QUICK, type SynthShape } from "./synth-shapes.ts";

const round = (x: number, d = 2) => Math.round(x * 10 ** d) / 10 ** d;

/** Our engine open on `file` as `generate --local` opens it (with `graph`), timed as
 * llama-cpp.ts times llama.cpp. */
async function openOurs(file: string, o: { threads: number; decode: number; prefill: number[] } & Graph): Promise<TimedEngine & { fused: boolean }> {
  setThreads(o.threads);
  const t0 = performance.now();
  const engine = await openLocalEngine(file, { quantized: o.quantized, fused: o.fused });
  const loadSeconds = (performance.now() - t0) / 1000;
  const bos = engine.model.tokenizer.bos;
  const dim = engine.model.config.dim;
  const prefill = async (ids: number[]) => {
    const s = engine.session();
    const e = await engine.client.embedding.run(new ort.Tensor("int64", BigInt64Array.from(ids.map(BigInt)), [1, ids.length]));
    const h = await s.step(e.data as Float32Array, ids.length);
    await engine.client.head.run(new ort.Tensor("float32", h.slice(-dim), [1, 1, dim]));
  };
  await generate(engine.client, engine.session(), { prompt: "", promptIds: [bos], maxTokens: 4, stopAtEos: false }); // warm
  await prefill(o.prefill.slice(0, 8));
  return {
    loadSeconds,
    fused: engine.runners.every((r) => r.fused),
    async decode() {
      let first = 0;
      const r = await generate(engine.client, engine.session(), { prompt: "", promptIds: [bos], maxTokens: o.decode, stopAtEos: false, onToken: () => (first ||= performance.now()) });
      return { tokensPerSecond: (r.tokens.length - 1) / ((performance.now() - first) / 1000), tokens: r.tokens };
    },
    async prefill() {
      const p = performance.now();
      await prefill(o.prefill);
      return o.prefill.length / ((performance.now() - p) / 1000);
    },
    close: () => engine.close(),
  };
}

/** Rounds of decode and prefill, each engine in turn; the best of each engine's rounds.
 * On this shared 2-core machine a single run moved by 30% with what else ran at that
 * moment; taking turns exposes both engines to the same moments, and the best round is
 * each engine's speed with the least interference. */
async function inTurns(ours: TimedEngine, peer: TimedEngine, rounds: number) {
  const best = { ours: { decode: 0, prefill: 0, tokens: [] as number[] }, peer: { decode: 0, prefill: 0, tokens: [] as number[] } };
  for (let r = 0; r < rounds; r++) {
    for (const [who, e] of [["ours", ours], ["peer", peer]] as const) {
      const d = await e.decode();
      best[who].decode = Math.max(best[who].decode, d.tokensPerSecond);
      best[who].tokens = d.tokens;
      best[who].prefill = Math.max(best[who].prefill, await e.prefill());
    }
  }
  return best;
}

/** A graph our engine runs: Q8_0, Q4_0, Q4_K and Q6_K weights kept quantized or as f32,
 * fused operators or plain. */
export interface Graph {
  readonly quantized: boolean;
  readonly fused: boolean;
}

/** A model the comparison builds, and the graphs our engine runs it as per weight type. */
interface Compared {
  readonly label?: string; // absent: named by its parameter count
  readonly shape: SynthShape;
  readonly graphs: { readonly F32: Graph[]; readonly Q8_0: Graph[]; readonly Q4_0: Graph[]; readonly Q4_K_M: Graph[] };
}

/** `generate --local`'s graph; servers' and verifiers' is { quantized: false, fused: false }. */
const LOCAL = { F32: { quantized: false, fused: true }, Q8_0: { quantized: true, fused: true }, Q4_0: { quantized: true, fused: true }, Q4_K_M: { quantized: true, fused: true } } as const;

/** The 300M model runs only the graph `generate --local` runs for each type (fused; f32 for
 * F32, MatMulNBits for Q8_0 and Q4_0); it takes minutes, so EFED_BENCH_300M=0 skips it (a quick run skips it
 * unless =1). */
export function comparedModels(quick: boolean, switch300M: string | undefined): Compared[] {
  const with300M = switch300M ?? (quick ? "0" : "1");
  if (with300M !== "0" && with300M !== "1") throw new Error(`EFED_BENCH_300M must be 0 or 1, got ${with300M}`);
  const models: Compared[] = [{ shape: quick ? SHAPE_QUICK : SHAPE_48M, graphs: { F32: [LOCAL.F32], Q8_0: [{ quantized: false, fused: false }, LOCAL.Q8_0], Q4_0: [LOCAL.Q4_0], Q4_K_M: [LOCAL.Q4_K_M] } }];
  if (with300M === "1") models.push({ label: "300M", shape: SHAPE_300M, graphs: { F32: [LOCAL.F32], Q8_0: [LOCAL.Q8_0], Q4_0: [LOCAL.Q4_0], Q4_K_M: [LOCAL.Q4_K_M] } });
  return models;
}

/** Loads of `file` as `generate --local --pack-cache <cacheDir>` does them, on one thread:
 * the first (it writes the packed copy) and the best of 3 after it (they map it), the bytes
 * the copy takes on disk, and whether greedy tokens stayed those of the first load. */
async function packedLoads(file: string, cacheDir: string, graph: Graph) {
  setThreads(1);
  const load = async () => {
    const t0 = performance.now();
    const engine = await openLocalEngine(file, { ...graph, packCache: cacheDir });
    const seconds = (performance.now() - t0) / 1000;
    const r = await generate(engine.client, engine.session(), { prompt: "", promptIds: [engine.model.tokenizer.bos], maxTokens: 16, stopAtEos: false });
    await engine.close();
    return { seconds, tokens: r.tokens };
  };
  const first = await load();
  const later = [await load(), await load(), await load()];
  const diskBytes = readdirSync(cacheDir).reduce((n, e) => n + packedBytes(join(cacheDir, e)), 0);
  rmSync(cacheDir, { recursive: true, force: true });
  return { firstLoadSeconds: round(first.seconds), loadSeconds: round(Math.min(...later.map((l) => l.seconds))), diskBytes, sameTokens: later.every((l) => l.tokens.join() === first.tokens.join()) };
}

/** Rounds each engine runs, in turns (EFED_BENCH_ROUNDS, default 3). */
export function benchRounds(value: string | undefined): number {
  const n = Number(value ?? 3);
  if (!Number.isInteger(n) || n < 1) throw new Error(`EFED_BENCH_ROUNDS must be a positive integer, got ${value}`);
  return n;
}

/** How a run's graph is named in bench/model.json (speed-summary.ts looks runs up by it):
 * MatMulNBits with 8-bit weights ("int8") or 4-bit ones, both with int8 activations. */
export const graphLabel = (quantized: boolean, fused: boolean, type: WeightType = "Q8_0") => `${!quantized ? "f32 MatMul" : type === "Q4_0" ? "4-bit MatMulNBits" : type === "Q4_K_M" ? "4-bit MatMulNBits + offsets (Q4_K), int8 MatMulNBits (Q6_K)" : "int8 MatMulNBits"}${fused ? " fused" : ""}`;

type WeightType = keyof Compared["graphs"];

export async function vsLlamaCpp(quick: boolean, log: (s: string) => void) {
  const dir = mkdtempSync(join(tmpdir(), "efed-vs-llama-"));
  const decode = quick ? 32 : 64;
  const prefill = Array.from({ length: 128 }, (_, i) => 3 + ((i * 7) % 250)); // byte tokens
  const models = comparedModels(quick, process.env.EFED_BENCH_300M);
  const rounds = benchRounds(process.env.EFED_BENCH_ROUNDS);
  const out: Record<string, unknown> = { shapes: {} as Record<string, unknown>, decodeTokens: decode, prefillTokens: prefill.length, rounds, runs: {} as Record<string, unknown>, packCache: {} as Record<string, unknown> };
  try {
    for (const m of models) {
      for (const type of ["F32", "Q8_0", "Q4_0", "Q4_K_M"] as const) {
        // one model file at a time, deleted (and its engines closed) before the next is written
        const file = join(dir, `${type}.gguf`);
        const t0 = performance.now();
        const { parameters } = writeSynthModel(file, { ...m.shape, seed: 1, type });
        const label = m.label ?? `${Math.round(parameters / 1e6)}M`;
        (out.shapes as Record<string, unknown>)[label] = { ...m.shape, parameters };
        log(`  ${label}-${type}: written in ${round((performance.now() - t0) / 1000, 1)} s`);
        for (const threads of [1, 2]) {
          const peer = await openLlamaCpp(file, { threads, decode, prefill, bos: 1 });
          try {
            for (const graph of m.graphs[type]) {
              const ours = await openOurs(file, { threads, decode, prefill, ...graph });
              let best: Awaited<ReturnType<typeof inTurns>>;
              try {
                best = await inTurns(ours, peer, rounds);
              } finally {
                await ours.close();
              }
              const agree = best.ours.tokens.findIndex((t, i) => t !== best.peer.tokens[i]);
              const row = {
                graph: graphLabel(graph.quantized, ours.fused, type),
                ours: { decodeTokensPerSecond: round(best.ours.decode, 1), prefillTokensPerSecond: round(best.ours.prefill, 1), loadSeconds: round(ours.loadSeconds) },
                llamaCpp: { decodeTokensPerSecond: round(best.peer.decode, 1), prefillTokensPerSecond: round(best.peer.prefill, 1), loadSeconds: round(peer.loadSeconds) },
                decodeVsLlamaCpp: round(best.ours.decode / best.peer.decode),
                prefillVsLlamaCpp: round(best.ours.prefill / best.peer.prefill),
                greedyTokensEqual: agree === -1 ? decode : agree,
              };
              (out.runs as Record<string, unknown>)[`${label}-${type} ${row.graph} threads=${threads}`] = row;
              log(`  ${label}-${type} threads=${threads} ${JSON.stringify(row)}`);
              (globalThis as { gc?: () => void }).gc?.();
            }
          } finally {
            await peer.close();
          }
        }
        if (!LOCAL[type].quantized) {
          // `generate --local --pack-cache`: the load that writes the packed copy, then loads
          // that map it (the best of 3), on one thread as the rows' loadSeconds
          const packed = await packedLoads(file, join(dir, "packed"), LOCAL[type]);
          (out.packCache as Record<string, unknown>)[`${label}-${type}`] = packed;
          log(`  ${label}-${type} --pack-cache ${JSON.stringify(packed)}`);
        }
        rmSync(file, { force: true });
      }
    }
  } finally {
    setThreads(1);
    rmSync(dir, { recursive: true, force: true });
  }
  return out;
}
