// The README's "Against llama.cpp" table, made from bench/model.json's "vsLlamaCpp" so the
// table is the file's figures (test/node/bench/speed.test.ts holds the README to it;
// `npm run bench:speed` prints it for pasting).
import type { LlamaRun } from "./speed-summary.ts";

export interface LlamaComparison {
  decodeTokens: number;
  runs: Record<string, LlamaRun>;
}

const HEADER = [
  "| model | graph | threads | decode tok/s (ours / llama.cpp) | decode ratio | prefill tok/s (ours / llama.cpp) | prefill ratio | load s (ours / llama.cpp) | greedy tokens equal |",
  "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
];

/** One line per run, in the order the benchmark ran them. Keys are "<model> <graph> threads=<n>". */
export function llamaTable(vs: LlamaComparison): string[] {
  const rows = Object.entries(vs.runs).map(([key, r]) => {
    const model = key.slice(0, key.indexOf(" "));
    const threads = key.slice(key.lastIndexOf("=") + 1);
    const cells = [
      model,
      r.graph,
      threads,
      `${r.ours.decodeTokensPerSecond} / ${r.llamaCpp.decodeTokensPerSecond}`,
      r.decodeVsLlamaCpp,
      `${r.ours.prefillTokensPerSecond} / ${r.llamaCpp.prefillTokensPerSecond}`,
      r.prefillVsLlamaCpp,
      `${r.ours.loadSeconds} / ${r.llamaCpp.loadSeconds}`,
      `${r.greedyTokensEqual} of ${vs.decodeTokens}`,
    ];
    return `| ${cells.join(" | ")} |`;
  });
  return [...HEADER, ...rows];
}
