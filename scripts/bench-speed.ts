// Writes bench/speed.json: issue 10's headline ratios, gathered from bench/model.json and
// bench/swarm.json (run `npm run bench` first; this step measures nothing itself). Prints
// the README's llama.cpp table from the same file to stderr.
import { readFileSync, writeFileSync } from "node:fs";
import { llamaTable } from "./llama-table.ts";
import { speedSummary } from "./speed-summary.ts";

const read = (f: string) => JSON.parse(readFileSync(new URL(`../bench/${f}`, import.meta.url), "utf8"));
const model = read("model.json");
const out = speedSummary({ model, swarm: read("swarm.json") });
writeFileSync(new URL("../bench/speed.json", import.meta.url), JSON.stringify(out, null, 2) + "\n");
process.stderr.write(llamaTable(model.vsLlamaCpp).join("\n") + "\n");
process.stdout.write(JSON.stringify(out.met) + "\n");
