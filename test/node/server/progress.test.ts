import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { formatBytes, transferProgress } from "../../../node/server/progress.ts";

describe("transfer progress", () => {
  it("formats sizes", () => {
    assert.equal(formatBytes(512), "512 B");
    assert.equal(formatBytes(1536), "1.5 KiB");
    assert.equal(formatBytes(3 * 2 ** 30), "3.0 GiB");
  });

  it("reports bytes and rate at most once per interval", () => {
    let t = 0;
    const lines: string[] = [];
    const report = transferProgress("fetching weights", (l) => lines.push(l), { now: () => t });
    for (t = 0; t <= 2500; t += 100) report(t * 1024); // 1 MiB per second (1 KiB a ms)
    assert.deepEqual(lines, ["fetching weights: 1000.0 KiB in 1.0 s (1000.0 KiB/s)", "fetching weights: 2.0 MiB in 2.0 s (1000.0 KiB/s)"]);
  });
});
