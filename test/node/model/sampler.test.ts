// Sampling: greedy at temperature 0, reproducible with a seed, nucleus truncation.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { argmax, Sampler } from "../../../node/model/sampler.ts";

const logits = [0.1, 2.5, -1, 2.4, 0];

describe("Sampler", () => {
  it("is greedy at temperature 0", () => {
    assert.equal(new Sampler().sample(logits), 1);
    assert.equal(argmax(logits), 1);
  });

  it("reproduces a sequence from a seed, and differs across seeds", () => {
    const run = (seed: number) => Array.from({ length: 50 }, ((s) => () => s.sample(logits))(new Sampler({ temperature: 1, topP: 1, seed })));
    assert.deepEqual(run(7), run(7));
    assert.notDeepEqual(run(7), run(8));
  });

  it("top-p keeps only the nucleus", () => {
    const s = new Sampler({ temperature: 1, topP: 0.5, seed: 3 });
    const seen = new Set(Array.from({ length: 200 }, () => s.sample(logits)));
    assert.deepEqual([...seen].sort(), [1, 3]); // the two top tokens hold ~0.9 of the mass; the top one alone 0.47
  });

  it("samples in proportion to softmax(logits / T)", () => {
    const s = new Sampler({ temperature: 1, topP: 1, seed: 11 });
    const counts = new Array(logits.length).fill(0);
    const n = 20000;
    for (let i = 0; i < n; i++) counts[s.sample(logits)]++;
    const z = logits.map(Math.exp);
    const total = z.reduce((a, b) => a + b);
    z.forEach((p, i) => assert.ok(Math.abs(counts[i] / n - p / total) < 0.015, `token ${i}: ${counts[i] / n} vs ${p / total}`));
  });

  it("refuses invalid settings", () => {
    assert.throws(() => new Sampler({ temperature: -1 }), RangeError);
    assert.throws(() => new Sampler({ topP: 0 }), RangeError);
    assert.throws(() => new Sampler({ topP: 1.5 }), RangeError);
  });
});
