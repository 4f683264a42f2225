// bench/speed.json is what scripts/speed-summary.ts makes of the benchmark files beside it, and
// the README's headline ratios and llama.cpp table are their figures: neither can drift from
// the runs they report.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { llamaTable } from "../../../scripts/llama-table.ts";
import { speedSummary } from "../../../scripts/speed-summary.ts";

const read = (f: string) => JSON.parse(readFileSync(new URL(`../../../bench/${f}`, import.meta.url), "utf8"));
const readme = () => readFileSync(new URL("../../../README.md", import.meta.url), "utf8");

describe("bench/speed.json", () => {
  it("equals the summary of bench/model.json and bench/swarm.json", () => {
    assert.deepEqual(read("speed.json"), JSON.parse(JSON.stringify(speedSummary({ model: read("model.json"), swarm: read("swarm.json") }))));
  });

  it("gives the README its headline ratios, 48M and 300M", () => {
    const s = read("speed.json");
    const text = readme().replace(/\s+/g, " ");
    const f = (x: number) => String(x);
    const vsLlama = (m: string) => [
      `decode against llama.cpp ${f(s.decodeVsLlamaCpp[`${m}-F32`].threads1.ratio)} (F32) and ${f(s.decodeVsLlamaCpp[`${m}-Q8_0`].threads1.ratio)} (Q8_0)`,
      `prefill ${f(s.prefillVsLlamaCpp[`${m}-F32`].threads1.ratio)} / ${f(s.prefillVsLlamaCpp[`${m}-Q8_0`].threads1.ratio)} on one thread, ${f(s.prefillVsLlamaCpp[`${m}-F32`].threads2.ratio)} / ${f(s.prefillVsLlamaCpp[`${m}-Q8_0`].threads2.ratio)} on two`,
    ];
    const figures = [
      ...vsLlama("48M"),
      `300M: ${vsLlama("300M")[0]}`,
      vsLlama("300M")[1],
      `swarm against local ${f(s.swarmVsLocal["1"].ratio)} with one server and ${f(s.swarmVsLocal["4"].ratio)} with four`,
      `16 sessions against one ${f(s.sessions16VsOne.ratio)}`,
      `server RSS over its layer bytes ${f(s.rssOverLayerBytes["48M-F32"].ratio)} (F32) and ${f(s.rssOverLayerBytes["48M-Q8_0"].ratio)} (Q8_0) for 48M, 300M: ${f(s.rssOverLayerBytes["300M-F32"].ratio)} (F32) and ${f(s.rssOverLayerBytes["300M-Q8_0"].ratio)} (Q8_0)`,
      `load against llama.cpp ${f(s.loadVsLlamaCpp["48M-F32"].ratio)} (F32), ${f(s.loadVsLlamaCpp["300M-F32"].ratio)} for 300M`,
    ];
    for (const x of figures) assert.ok(text.includes(x), `README lacks "${x}"`);
  });

  it("gives the README its llama.cpp table, row for row", () => {
    const lines = readme().split("\n");
    for (const row of llamaTable(read("model.json").vsLlamaCpp)) assert.ok(lines.includes(row), `README lacks the row\n${row}`);
  });
});
