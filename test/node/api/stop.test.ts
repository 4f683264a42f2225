import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { StopScanner } from "../../../node/api/stop.ts";

describe("StopScanner", () => {
  const run = (stops: string[], pieces: string[]) => {
    const s = new StopScanner(stops);
    const shown = pieces.map((p) => s.push(p));
    if (!s.stopped) shown.push(s.flush());
    return { shown, output: s.output, stopped: s.stopped };
  };

  it("passes text through with no stop sequences", () => {
    assert.deepEqual(run([], ["a", "b"]), { shown: ["a", "b", ""], output: "ab", stopped: false });
  });

  it("holds back a possible start of a stop sequence until it is decided", () => {
    assert.deepEqual(run(["END"], ["one E", "N", "D two"]).shown, ["one ", "", ""]);
    assert.deepEqual(run(["END"], ["one E", "Nx"]), { shown: ["one ", "ENx", ""], output: "one ENx", stopped: false });
  });

  it("cuts at the earliest stop sequence, even across pieces", () => {
    const r = run(["world", "lo w"], ["hel", "lo wor", "ld"]);
    assert.equal(r.output, "hel");
    assert.equal(r.shown.join(""), "hel");
    assert.ok(r.stopped);
  });
});
