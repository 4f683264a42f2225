// Probe prompts: real text — lines of a prompt file, or text the model generates itself.
import { readFileSync } from "node:fs";
import { generate } from "../client/generate.ts";
import { openLocalEngine, type LocalEngine } from "../client/local.ts";
import type { Tokenizer } from "../model/tokenizer/types.ts";

export function promptsFromFile(file: string, tokenizer: Tokenizer, maxTokens = 32): number[][] {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    throw new Error(`cannot read the prompt file ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, { cause: err });
  }
  const lines = text.split("\n").map((l) => l.trim()).filter((l) => l !== "");
  if (lines.length === 0) throw new Error(`${file} has no prompts (one per line)`);
  return lines.map((l) => tokenizer.encode(l).slice(0, maxTokens));
}

/** `count` prompts sampled from the model (temperature 0.9, seeded). */
export async function promptsFromModel(modelFile: string, count = 8, tokens = 24, seed = 1): Promise<number[][]> {
  const engine = await openLocalEngine(modelFile);
  try {
    return await samplePrompts(engine, count, tokens, seed);
  } finally {
    await engine.close();
  }
}

/** `count` prompts sampled with an engine already open (a verifier's, every epoch). */
export async function samplePrompts(engine: LocalEngine, count: number, tokens: number, seed: number): Promise<number[][]> {
  const out: number[][] = [];
  for (let i = 0; i < count; i++) {
    const r = await generate(engine.client, engine.session(), { prompt: "", maxTokens: tokens, temperature: 0.9, seed: seed + i, stopAtEos: false });
    out.push([engine.model.tokenizer.bos, ...r.tokens]);
  }
  return out;
}
