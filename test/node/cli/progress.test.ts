// Progress of long steps: one line redrawn in place on a terminal, sparse full lines
// elsewhere, notices printed around it without tearing it, and the byte counts with rate.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { byteProgress, StatusLine } from "../../../node/cli/progress.ts";
import { formatBytes, formatTransfer } from "../../../node/server/progress.ts";

function harness(isTTY: boolean) {
  let t = 0;
  const written: string[] = []; // raw writes to the terminal
  const lines: string[] = []; // full lines (stderr and --log)
  const status = new StatusLine({ isTTY, write: (s: string) => written.push(s) }, { line: (l) => lines.push(l), now: () => t });
  return { status, written, lines, at: (ms: number) => (t = ms) };
}

describe("progress", () => {
  it("formats sizes, totals and rates", () => {
    assert.equal(formatBytes(512), "512 B");
    assert.equal(formatBytes(1536), "1.5 KiB");
    assert.equal(formatBytes(3 * 2 ** 30), "3.0 GiB");
    assert.equal(formatTransfer("fetching layers 2-4", 3 * 2 ** 20, 2), "fetching layers 2-4: 3.0 MiB in 2.0 s, 1.5 MiB/s");
    assert.equal(formatTransfer("loading", 2 ** 20, 0.5, 4 * 2 ** 20), "loading: 1.0 MiB of 4.0 MiB (25%) in 0.5 s, 2.0 MiB/s");
  });

  it("on a terminal: one line redrawn in place, at most every 100 ms, and cleared for the final line", () => {
    const h = harness(true);
    const p = byteProgress(h.status, () => 0)("loading");
    for (let ms = 0; ms <= 300; ms += 10) {
      h.at(ms);
      p.update(ms * 1024, 300 * 1024);
    }
    assert.deepEqual(h.written, ["\r\x1b[Kloading: 100.0 KiB of 300.0 KiB (33%) in 0.0 s, —", "\r\x1b[Kloading: 200.0 KiB of 300.0 KiB (66%) in 0.0 s, —", "\r\x1b[Kloading: 300.0 KiB of 300.0 KiB (100%) in 0.0 s, —"]);
    assert.deepEqual(h.lines, []); // nothing in the log while it runs
    p.done();
    assert.equal(h.written.at(-1), "\r\x1b[K"); // the redrawn line gives way...
    assert.deepEqual(h.lines, ["loading: 300.0 KiB of 300.0 KiB (100%) in 0.0 s, —"]); // ...to one full line
  });

  it("a notice printed meanwhile clears the line and draws it again after", () => {
    const h = harness(true);
    h.at(200);
    h.status.update("epoch 7 · 3 s left");
    h.status.around(() => h.written.push("a notice\n"));
    assert.deepEqual(h.written, ["\r\x1b[Kepoch 7 · 3 s left", "\r\x1b[K", "a notice\n", "epoch 7 · 3 s left"]);
    h.status.done();
    h.status.around(() => h.written.push("another\n"));
    assert.deepEqual(h.written.slice(-2), ["\r\x1b[K", "another\n"]); // nothing to redraw once done
  });

  it("elsewhere: sparse full lines (not before the interval, not when nothing changed) and the final line", () => {
    const h = harness(false);
    const p = byteProgress(h.status, () => 0)("fetching layers 2-4");
    const seen = () => h.lines.length;
    for (let now = 0; now <= 25_000; now += 500) {
      h.at(now);
      p.update(now * 100);
    }
    assert.equal(seen(), 2, h.lines.join("\n")); // at 10 s and 20 s
    assert.match(h.lines[0], /^fetching layers 2-4: 976\.6 KiB in /);
    assert.deepEqual(h.written, []); // nothing drawn in place
    p.done();
    assert.equal(seen(), 3);
    // a line whose gist did not change is not repeated
    h.at(40_000);
    h.status.update("epoch 9 · 3 s left", "epoch 9");
    h.at(55_000);
    h.status.update("epoch 9 · 1 s left", "epoch 9");
    h.at(70_000);
    h.status.update("epoch 10 · 9 s left", "epoch 10");
    assert.deepEqual(h.lines.slice(3), ["epoch 9 · 3 s left", "epoch 10 · 9 s left"]);
  });

  it("a short step prints only its final line", () => {
    const h = harness(false);
    const p = byteProgress(h.status, () => 0)("loading layers 0-2 of m.gguf");
    p.update(10, 20);
    p.update(20, 20);
    p.done();
    assert.deepEqual(h.lines, ["loading layers 0-2 of m.gguf: 20 B of 20 B (100%) in 0.0 s, —"]);
  });
});
