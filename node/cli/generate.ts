// `efed generate`: text from the model. `--local` runs every layer in this process.
import { InvalidArgumentError, Option, type Command } from "commander";
import { generate } from "../client/generate.ts";
import { openLocalEngine } from "../client/local.ts";
import { DEVICES, type Device } from "../model/onnx/runtime.ts";
import { log } from "./common.ts";

export function parseIntIn(lo: number, hi: number) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < lo || n > hi) throw new InvalidArgumentError(`must be an integer from ${lo} to ${hi}`);
    return n;
  };
}

export function parseFloatIn(lo: number, hi: number, openLo = false) {
  return (v: string): number => {
    const n = Number(v);
    if (v.trim() === "" || !Number.isFinite(n) || n > hi || (openLo ? n <= lo : n < lo)) {
      throw new InvalidArgumentError(`must be a number in ${openLo ? "(" : "["}${lo}, ${hi}]`);
    }
    return n;
  };
}

export interface GenerateFlags {
  local?: boolean;
  model?: string;
  prompt: string;
  maxTokens: number;
  temperature: number;
  topP: number;
  seed?: number;
  shards: number;
  device: Device;
  svdEnergy?: number;
  svdRatio?: number;
  stats?: boolean;
}

export function generateCommand(program: Command): void {
  program
    .command("generate")
    .description("generate text from a prompt (--local: the whole model in this process)")
    .option("--local", "run every layer in this process (no swarm)")
    .option("--model <file>", "model: a GGUF file, or a Hugging Face directory / .safetensors file")
    .option("--prompt <text>", "text to continue (empty: start from BOS)", "")
    .option("--max-tokens <n>", "tokens to generate", parseIntIn(1, 1 << 20), 256)
    .option("--temperature <t>", "0 for greedy decoding", parseFloatIn(0, 100), 0)
    .option("--top-p <p>", "nucleus sampling mass when temperature > 0", parseFloatIn(0, 1, true), 0.9)
    .option("--seed <n>", "random seed for sampling", parseIntIn(0, Number.MAX_SAFE_INTEGER))
    .option("--shards <k>", "split the layers into k shards (exercises shard boundaries)", parseIntIn(1, 4096), 1)
    .addOption(new Option("--device <device>", "execution provider").choices([...DEVICES]).default("cpu"))
    .option("--svd-energy <e>", "run SVD-compressed weights keeping energy e (Eq. 12)", parseFloatIn(0, 1, true))
    .option("--svd-ratio <r>", "run SVD-compressed weights at compression ratio r (Eq. 15)", parseFloatIn(0, 1, true))
    .option("--stats", "print tokens/s and shard layout to stderr at the end")
    .addHelpText(
      "after",
      `
Tokens stream to stdout as they are generated; notices go to stderr.
Network mode (no --local) routes through servers on the swarm and is not available yet.

Examples:
  $ efed generate --local --model ../shared/models/stories260K-f32.gguf --max-tokens 64
  $ efed generate --local --model model.gguf --prompt "Once upon a time" --temperature 0.8 --seed 7 --shards 3`,
    )
    .action(async (o: GenerateFlags) => {
      if (!o.local) throw new InvalidArgumentError("network generation is not available yet: pass --local --model <file>");
      if (o.model === undefined) throw new InvalidArgumentError("--local needs --model <file>");
      if (o.svdEnergy !== undefined && o.svdRatio !== undefined) throw new InvalidArgumentError("choose one of --svd-energy and --svd-ratio");
      const svd = o.svdEnergy !== undefined ? { energy: o.svdEnergy } : o.svdRatio !== undefined ? { ratio: o.svdRatio } : undefined;
      if (svd !== undefined) log("compressing weights with SVD…");
      const engine = await openLocalEngine(o.model, { shards: o.shards, device: o.device, svd });
      try {
        if (o.shards > engine.model.config.nLayers) throw new InvalidArgumentError(`--shards ${o.shards} exceeds the model's ${engine.model.config.nLayers} layers`);
        const chain = engine.session();
        const r = await generate(engine.client, chain, {
          prompt: o.prompt,
          maxTokens: o.maxTokens,
          temperature: o.temperature,
          topP: o.topP,
          seed: o.seed,
          onText: (t) => process.stdout.write(t),
        });
        process.stdout.write("\n");
        if (o.stats) {
          const layout = engine.runners.map((s) => `${s.start}-${s.end}`).join(" ");
          log(`${r.tokens.length} tokens in ${r.seconds.toFixed(2)} s (${(r.tokens.length / r.seconds).toFixed(1)} tokens/s), shards ${layout}, device ${engine.runners[0].device}`);
        }
      } finally {
        await engine.close();
      }
    });
}
