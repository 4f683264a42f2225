// Epochs while waiting: the chain's epoch and the seconds left in it, and the news asked
// again at each new epoch (or when the caller says something changed), on the progress line.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { epochTime, formatEpochLine, watchEpochs } from "../../../node/cli/epoch-progress.ts";
import { StatusLine } from "../../../node/cli/progress.ts";
import type { ChainClock } from "../../../node/chain/clock.ts";

describe("epoch progress", () => {
  it("the epoch and the whole seconds left in it, in chain time", () => {
    assert.deepEqual(epochTime(1000, 1000, 10), { epoch: 0, secondsLeft: 10 });
    assert.deepEqual(epochTime(1034.5, 1000, 10), { epoch: 3, secondsLeft: 6 });
    assert.deepEqual(epochTime(990, 1000, 10), { epoch: 0, secondsLeft: 20 }); // before genesis: epoch 0
    assert.equal(formatEpochLine({ epoch: 3, secondsLeft: 6 }, "nothing payable yet"), "epoch 3 (6 s left) · nothing payable yet");
  });

  it("draws the epoch every tick, asks for news once an epoch (or on refresh), and clears the line when stopped", async () => {
    let chainNow = 1000;
    const clock = { refresh: async () => {}, now: () => chainNow } as unknown as ChainClock;
    const written: string[] = [];
    const line = new StatusLine({ isTTY: true, write: (s: string) => written.push(s) }, { line: () => {}, ttyEveryMs: 0 });
    const asked: number[] = [];
    let changed = false;
    const w = watchEpochs({ clock, genesis: 1000, epochLength: 10, line }, (e) => {
      asked.push(e);
      return `news ${asked.length}`;
    }, { everyMs: 5, refresh: () => changed });
    const until = async (f: () => boolean) => {
      for (let i = 0; i < 400 && !f(); i++) await new Promise((r) => setTimeout(r, 5));
      assert.ok(f(), written.join("|"));
    };
    await until(() => written.includes("\r\x1b[Kepoch 0 (10 s left) · news 1"));
    chainNow = 1004;
    await until(() => written.includes("\r\x1b[Kepoch 0 (6 s left) · news 1"));
    assert.deepEqual(asked, [0]); // same epoch: the news is not asked again
    chainNow = 1012;
    await until(() => written.includes("\r\x1b[Kepoch 1 (8 s left) · news 2"));
    changed = true;
    await until(() => asked.length >= 3);
    changed = false;
    w.stop();
    assert.equal(written.at(-1), "\r\x1b[K");
    const n = written.length;
    await new Promise((r) => setTimeout(r, 30));
    assert.equal(written.length, n, "nothing drawn after stop");
  });
});
