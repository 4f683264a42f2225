// Writes bench/speed.json: issue 10's headline ratios, gathered from bench/model.json and
// bench/swarm.json (run `npm run bench` first; this step measures nothing itself).
import { readFileSync, writeFileSync } from "node:fs";
import { speedSummary } from "./speed-summary.ts";

const read = (f: string) => JSON.parse(readFileSync(new URL(`../bench/${f}`, import.meta.url), "utf8"));
const out = speedSummary({ model: read("model.json"), swarm: read("swarm.json") });
writeFileSync(new URL("../bench/speed.json", import.meta.url), JSON.stringify(out, null, 2) + "\n");
process.stdout.write(JSON.stringify(out.met) + "\n");
