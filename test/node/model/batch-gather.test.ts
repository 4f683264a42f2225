// When a batching shard starts its next run (batch-gather.ts): at once for a session alone or
// when every session that stepped lately is back; otherwise it waits, at most the last run's
// time from the first queued step, and forgets a session that stopped stepping or ended. And which
// queued steps a round runs together (formRound).
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { formRound, GatherPolicy } from "../../../node/model/onnx/batch-gather.ts";

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

  it("forgets a session that ended at once", () => {
    const g = new GatherPolicy();
    g.ran([1, 2], 100, 30);
    assert.equal(g.waitMs(new Set([1]), 102, 110), 22);
    g.forget(2);
    assert.equal(g.waitMs(new Set([1]), 102, 110), 0);
  });
});

describe("formRound", () => {
  const a = {}, b = {}, c = {}, d = {};
  const q = (cache: object, seq: number, id: string) => ({ cache, seq, id });
  const ids = (runs: { id: string }[][]) => runs.map((r) => r.map((x) => x.id));

  it("takes each session's first step, prompts of one length together before decode steps, and leaves the rest", () => {
    const queue = [q(a, 1, "a1"), q(b, 8, "b8"), q(a, 1, "a2"), q(c, 8, "c8"), q(d, 1, "d1"), q(b, 1, "b1")];
    const { runs, later } = formRound(queue, 16, 256);
    assert.deepEqual(ids(runs), [["b8", "c8"], ["a1", "d1"]]);
    assert.deepEqual(later.map((x) => x.id), ["a2", "b1"], "a session's second step waits, in order");
  });

  it("splits runs at maxBatch rows and at maxPositions positions; a longer prompt runs alone", () => {
    assert.deepEqual(ids(formRound([q(a, 1, "a"), q(b, 1, "b"), q(c, 1, "c")], 2, 256).runs), [["a", "b"], ["c"]]);
    assert.deepEqual(ids(formRound([q(a, 100, "a"), q(b, 100, "b"), q(c, 100, "c")], 16, 256).runs), [["a", "b"], ["c"]]);
    assert.deepEqual(ids(formRound([q(a, 300, "a"), q(b, 300, "b")], 16, 256).runs), [["a"], ["b"]]);
  });
});
