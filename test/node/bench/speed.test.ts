// bench/speed.json is what scripts/speed-summary.ts makes of the benchmark files beside it, and
// the README's headline ratios are its figures: neither can drift from the runs they report.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { speedSummary } from "../../../scripts/speed-summary.ts";

const read = (f: string) => JSON.parse(readFileSync(new URL(`../../../bench/${f}`, import.meta.url), "utf8"));

describe("bench/speed.json", () => {
  it("equals the summary of bench/model.json and bench/swarm.json", () => {
    assert.deepEqual(read("speed.json"), JSON.parse(JSON.stringify(speedSummary({ model: read("model.json"), swarm: read("swarm.json") }))));
  });

  it("gives the README its headline ratios", () => {
    const s = read("speed.json");
    const readme = readFileSync(new URL("../../../README.md", import.meta.url), "utf8").replace(/\s+/g, " ");
    const f = (x: number) => String(x);
    const figures = [
      `decode against llama.cpp ${f(s.decodeVsLlamaCpp["48M-F32"].threads1.ratio)} (F32) and ${f(s.decodeVsLlamaCpp["48M-Q8_0"].threads1.ratio)} (Q8_0)`,
      `prefill ${f(s.prefillVsLlamaCpp["48M-F32"].threads1.ratio)} / ${f(s.prefillVsLlamaCpp["48M-Q8_0"].threads1.ratio)} on one thread, ${f(s.prefillVsLlamaCpp["48M-F32"].threads2.ratio)} / ${f(s.prefillVsLlamaCpp["48M-Q8_0"].threads2.ratio)} on two`,
      `swarm against local ${f(s.swarmVsLocal["1"].ratio)} with one server and ${f(s.swarmVsLocal["4"].ratio)} with four`,
      `16 sessions against one ${f(s.sessions16VsOne.ratio)}`,
      `server RSS over its layer bytes ${f(s.rssOverLayerBytes["48M-F32"].ratio)} (F32)`,
      `load against llama.cpp ${f(s.loadVsLlamaCpp["48M-F32"].ratio)} (F32)`,
    ];
    for (const x of figures) assert.ok(readme.includes(x), `README lacks "${x}"`);
  });
});
