// When a batching shard starts its next run (batch-gather.ts): at once for a session alone or
// when every session that stepped lately is back; otherwise it waits, at most the last run's
// time from the first queued step, and forgets a session that stopped stepping.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { GatherPolicy } from "../../../node/model/onnx/batch-gather.ts";

describe("GatherPolicy", () => {
  it("runs at once with nothing known, or when every recent session is queued", () => {
    const g = new GatherPolicy();
    assert.equal(g.waitMs(new Set([1]), 0, 0), 0);
    g.ran([1, 2, 3], 100, 30);
    assert.equal(g.waitMs(new Set([1, 2, 3]), 105, 106), 0);
    assert.equal(g.waitMs(new Set([3, 2, 1, 4]), 105, 106), 0);
  });

  it("waits for the missing ones at most the last run's time from the first queued step", () => {
    const g = new GatherPolicy();
    g.ran([1, 2, 3], 100, 30);
    assert.equal(g.waitMs(new Set([1]), 102, 110), 22);
    assert.equal(g.waitMs(new Set([1, 2]), 102, 140), 0);
  });

  it("forgets a session that stopped stepping (3 runs' time and 20 ms)", () => {
    const g = new GatherPolicy();
    g.ran([1, 2], 100, 30);
    g.ran([1], 150, 30);
    assert.ok(g.waitMs(new Set([1]), 200, 200) > 0, "2 stepped 100 ms ago: still expected");
    assert.equal(g.waitMs(new Set([1]), 211, 211), 0, "2 last stepped 111 ms ago: forgotten");
  });
});
