// `efed model`: inspect a model, report its SVD compression, write synthetic models.
import { InvalidArgumentError, Option, type Command } from "commander";
import { GGML_TYPE_NAMES } from "../model/dtypes.ts";
import { readGgufHeader } from "../model/gguf.ts";
import { isGguf, loadModel } from "../model/load.ts";
import { compressLayers } from "../model/svd/compress.ts";
import { writeSynthModel } from "../model/synth.ts";
import type { StoredMix } from "../model/export.ts";
import type { LlamaWeights } from "../model/types.ts";
import { log } from "./common.ts";
import { parseFloatIn, parseIntIn } from "./generate.ts";

export function modelCommand(program: Command): void {
  const model = program.command("model").description("inspect models, report SVD compression, write synthetic models");

  model
    .command("info")
    .description("print a model's hyperparameters and parameter count")
    .argument("<file>", "GGUF file, or Hugging Face directory / .safetensors file")
    .option("--json", "print JSON")
    .action(async (file: string, o: { json?: boolean }) => {
      const m = await loadModel(file);
      const params = countParameters(m.weights);
      const info = { file, format: m.format, ...m.config, parameters: params, tokenizerVocab: m.tokenizer.vocabSize, ...(isGguf(file) ? { tensorTypes: await tensorTypes(file) } : {}) };
      console.log(o.json ? JSON.stringify(info, null, 2) : Object.entries(info).map(([k, v]) => `${k.padEnd(16)} ${v}`).join("\n"));
    });

  model
    .command("svd")
    .description("SVD-compress every layer matrix and report k, retained energy P (Eq. 9), compression ratio (Eq. 10)")
    .argument("<file>", "model file")
    .option("--energy <e>", "retained energy per matrix (Eq. 12)", parseFloatIn(0, 1, true))
    .option("--ratio <r>", "compression ratio per matrix (Eq. 15)", parseFloatIn(0, 1, true))
    .option("--json", "print JSON")
    .addHelpText("after", "\nExample:\n  $ efed model svd ../shared/models/stories260K-f32.gguf --energy 0.95")
    .action(async (file: string, o: { energy?: number; ratio?: number; json?: boolean }) => {
      if ((o.energy === undefined) === (o.ratio === undefined)) throw new InvalidArgumentError("give exactly one of --energy and --ratio");
      const m = await loadModel(file);
      const spec = o.energy !== undefined ? { energy: o.energy } : { ratio: o.ratio! };
      const { report } = compressLayers(m.config, m.weights, 0, m.config.nLayers, spec);
      if (o.json) {
        console.log(JSON.stringify(report, null, 2));
        return;
      }
      console.log("layer matrix    m×n        k     P        CR       runs");
      let dense = 0;
      let stored = 0;
      for (const r of report) {
        dense += r.m * r.n;
        stored += (r.m + r.n + 1) * r.k;
        console.log(`${String(r.layer).padStart(5)} ${r.matrix.padEnd(6)} ${`${r.m}×${r.n}`.padEnd(10)} ${String(r.k).padStart(4)}  ${(100 * r.energy).toFixed(2).padStart(6)}%  ${(100 * r.ratio).toFixed(2).padStart(6)}%  ${r.runs}`);
      }
      console.log(`total: ${stored} of ${dense} numbers (${((100 * stored) / dense).toFixed(2)}%)`);
    });

  model
    .command("synth")
    .description("write a random Llama-shaped GGUF model for benchmarks")
    .requiredOption("--out <file>", "output GGUF file")
    .option("--dim <n>", "embedding width", parseIntIn(2, 65536), 512)
    .option("--layers <n>", "transformer layers", parseIntIn(1, 4096), 8)
    .option("--heads <n>", "attention heads", parseIntIn(1, 1024), 8)
    .option("--kv-heads <n>", "key/value heads (grouped-query attention)", parseIntIn(1, 1024), 4)
    .option("--ffn <n>", "feed-forward width", parseIntIn(1, 1 << 20), 1536)
    .option("--vocab <n>", "vocabulary size (≥ 259)", parseIntIn(259, 1 << 20), 32000)
    .option("--context <n>", "context length", parseIntIn(1, 1 << 20), 512)
    .option("--seed <n>", "random seed", parseIntIn(0, 2 ** 32 - 1), 1)
    .option("--decay <d>", "decaying singular spectrum: σ_i ≈ exp(−i/(d·r))", parseFloatIn(0, 100, true))
    .addOption(new Option("--type <type>", "storage type of the matrices (Q4_K_M: Q6_K for the head, attn_v and ffn_down, Q4_K for the rest; a matrix whose rows are not whole blocks of its type, 32 or 256 values, is stored F32)").choices(["F32", "F16", "Q8_0", "Q4_0", "Q4_K", "Q6_K", "Q4_K_M"]).default("F32"))
    .addHelpText("after", "\nThe defaults make a ~58M-parameter model.\nExample:\n  $ efed model synth --out /tmp/synth50m.gguf --decay 0.3")
    .action((o: { out: string; dim: number; layers: number; heads: number; kvHeads: number; ffn: number; vocab: number; context: number; seed: number; decay?: number; type: StoredMix }) => {
      log(`writing a ${o.dim}×${o.layers} model to ${o.out}…`);
      const { parameters } = writeSynthModel(o.out, { ...o });
      log(`${(parameters / 1e6).toFixed(1)}M parameters`);
      console.log(o.out);
    });
}

/** How many tensors of each storage type a GGUF file holds, e.g. "Q4_0 ×14, F32 ×5". */
async function tensorTypes(file: string): Promise<string> {
  const counts = new Map<string, number>();
  for (const t of (await readGgufHeader(file)).tensors.values()) {
    const name = GGML_TYPE_NAMES[t.type] ?? `#${t.type}`;
    counts.set(name, (counts.get(name) ?? 0) + 1);
  }
  return [...counts].sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k} ×${n}`).join(", ");
}

export function countParameters(w: LlamaWeights): number {
  let n = (w.embedding?.length ?? 0) + (w.output !== w.embedding ? (w.output?.length ?? 0) : 0) + (w.outputNorm?.length ?? 0);
  for (const l of w.layers) if (l) for (const v of Object.values(l) as Float32Array[]) n += v.length;
  return n;
}
