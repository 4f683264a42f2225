// The shared reference model and its published greedy text (../shared/models/README.md).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "./processes.ts";

export const SHARED_MODELS = join(ROOT, "..", "shared", "models");
export const STORIES_260K = join(SHARED_MODELS, "stories260K-f32.gguf");

/** The published greedy output: the first fenced block of the models README. */
export function goldenText(): string {
  const readme = readFileSync(join(SHARED_MODELS, "README.md"), "utf8");
  const m = /```\n([\s\S]*?)\n```/.exec(readme);
  if (!m) throw new Error("no fenced block with the reference output in ../shared/models/README.md");
  return m[1];
}
