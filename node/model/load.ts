// One entry point for every model format: GGUF, or a Hugging Face directory / safetensors file.
import { statSync } from "node:fs";
import { ModelFileError, ModelFormatError } from "./errors.ts";
import { ggufConfig, ggufWeights, readGgufHeader } from "./gguf.ts";
import { spmFromGguf } from "./tokenizer/spm.ts";
import type { Tokenizer } from "./tokenizer/types.ts";
import { ALL, type LoadedModel, type WeightSelection } from "./types.ts";

export type { LoadedModel } from "./types.ts";

export interface LoadOptions {
  /** Hears the bytes of weights read so far and the total (progress of a long load). */
  readonly onBytes?: (bytes: number, total: number) => void;
}

/** Whether `file` is read as GGUF (anything but a directory or a .safetensors file). */
export function isGguf(file: string): boolean {
  try {
    return !statSync(file).isDirectory() && !file.endsWith(".safetensors");
  } catch {
    return false; // loadModel says why it cannot be read
  }
}

export async function loadModel(file: string, sel: WeightSelection = ALL, o: LoadOptions = {}): Promise<LoadedModel> {
  let isDir: boolean;
  try {
    isDir = statSync(file).isDirectory();
  } catch (err) {
    throw new ModelFileError(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  if (isDir || file.endsWith(".safetensors")) {
    const { loadSafetensorsModel } = await import("./safetensors.ts");
    return loadSafetensorsModel(file, sel, o.onBytes);
  }
  const g = await readGgufHeader(file);
  const config = ggufConfig(g);
  if (sel.layers !== undefined) {
    const [a, b] = sel.layers;
    if (!(Number.isInteger(a) && Number.isInteger(b) && 0 <= a && a <= b && b <= config.nLayers && (a < b || sel.client !== false))) {
      throw new ModelFormatError(`${file}: layers ${a}-${b} are outside the model's ${config.nLayers} layers`);
    }
  }
  let tokenizer: Tokenizer;
  try {
    tokenizer = spmFromGguf(g.metadata, file);
  } catch (err) {
    throw new ModelFormatError((err as Error).message);
  }
  return { file, format: "gguf", config, weights: ggufWeights(g, config, sel, o.onBytes), tokenizer };
}
