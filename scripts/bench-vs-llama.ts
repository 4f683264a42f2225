// Decode and prefill against llama.cpp on the same GGUF files, at 1 and 2 threads, in the
// same run (bench-model.ts writes the result into bench/model.json, "vsLlamaCpp"). For
// Q8_0, our engine is measured twice: weights expanded to f32 (the graph servers and
// verifiers run) and kept as int8 MatMulNBits (`generate --local`).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as ort from "onnxruntime-node";
import { generate } from "../node/client/generate.ts";
import { openLocalEngine } from "../node/client/local.ts";
import { setThreads } from "../node/model/onnx/runtime.ts";
import { writeSynthModel } from "../node/model/synth.ts";
import { llamaCppRun } from "./llama-cpp.ts";

const round = (x: number, d = 2) => Math.round(x * 10 ** d) / 10 ** d;

async function ourRun(file: string, o: { threads: number; decode: number; prefill: number[]; quantized: boolean }) {
  setThreads(o.threads);
  const t0 = performance.now();
  const engine = await openLocalEngine(file, { quantized: o.quantized });
  const loadSeconds = (performance.now() - t0) / 1000;
  try {
    const bos = engine.model.tokenizer.bos;
    await generate(engine.client, engine.session(), { prompt: "", promptIds: [bos], maxTokens: 4, stopAtEos: false }); // warm
    let first = 0;
    const r = await generate(engine.client, engine.session(), { prompt: "", promptIds: [bos], maxTokens: o.decode, stopAtEos: false, onToken: () => (first ||= performance.now()) });
    const decodeTokensPerSecond = (r.tokens.length - 1) / ((performance.now() - first) / 1000);
    const prefill = async (ids: number[]) => {
      const s = engine.session();
      const e = await engine.client.embedding.run(new ort.Tensor("int64", BigInt64Array.from(ids.map(BigInt)), [1, ids.length]));
      const h = await s.step(e.data as Float32Array, ids.length);
      await engine.client.head.run(new ort.Tensor("float32", h.slice(-engine.model.config.dim), [1, 1, engine.model.config.dim]));
    };
    await prefill(o.prefill.slice(0, 8));
    const p = performance.now();
    await prefill(o.prefill);
    const prefillTokensPerSecond = o.prefill.length / ((performance.now() - p) / 1000);
    return { decodeTokensPerSecond, prefillTokensPerSecond, tokens: r.tokens, loadSeconds };
  } finally {
    await engine.close();
  }
}

export async function vsLlamaCpp(quick: boolean, log: (s: string) => void) {
  const dir = mkdtempSync(join(tmpdir(), "efed-vs-llama-"));
  const shape = quick ? { dim: 256, layers: 4, heads: 8, kvHeads: 4, ffn: 704, vocab: 8000 } : { dim: 512, layers: 8, heads: 8, kvHeads: 4, ffn: 1408, vocab: 24000 };
  const decode = quick ? 32 : 64;
  const prefill = Array.from({ length: 128 }, (_, i) => 3 + ((i * 7) % 250)); // byte tokens
  const out: Record<string, unknown> = { shape, decodeTokens: decode, prefillTokens: prefill.length, runs: {} as Record<string, unknown> };
  try {
    for (const type of ["F32", "Q8_0"] as const) {
      const file = join(dir, `${type}.gguf`);
      const { parameters } = writeSynthModel(file, { ...shape, seed: 1, type });
      const name = `${Math.round(parameters / 1e6)}M-${type}`;
      for (const threads of [1, 2]) {
        const peer = await llamaCppRun(file, { threads, decode, prefill, bos: 1 });
        const variants = type === "Q8_0" ? [false, true] : [false];
        for (const quantized of variants) {
          const ours = await ourRun(file, { threads, decode, prefill, quantized });
          const agree = ours.tokens.findIndex((t, i) => t !== peer.tokens[i]);
          const row = {
            graph: quantized ? "int8 MatMulNBits" : "f32 MatMul",
            ours: { decodeTokensPerSecond: round(ours.decodeTokensPerSecond, 1), prefillTokensPerSecond: round(ours.prefillTokensPerSecond, 1), loadSeconds: round(ours.loadSeconds) },
            llamaCpp: { decodeTokensPerSecond: round(peer.decodeTokensPerSecond, 1), prefillTokensPerSecond: round(peer.prefillTokensPerSecond, 1), loadSeconds: round(peer.loadSeconds) },
            decodeVsLlamaCpp: round(ours.decodeTokensPerSecond / peer.decodeTokensPerSecond),
            prefillVsLlamaCpp: round(ours.prefillTokensPerSecond / peer.prefillTokensPerSecond),
            greedyTokensEqual: agree === -1 ? decode : agree,
          };
          (out.runs as Record<string, unknown>)[`${name} ${row.graph} threads=${threads}`] = row;
          log(`  ${name} threads=${threads} ${JSON.stringify(row)}`);
        }
      }
    }
  } finally {
    setThreads(1);
    rmSync(dir, { recursive: true, force: true });
  }
  return out;
}
