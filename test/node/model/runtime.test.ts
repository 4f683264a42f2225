// --threads reaches onnxruntime: a session made with n threads starts n − 1 worker threads
// of its own (counted in /proc/self/task) that do not spin between runs, and bad counts are
// refused.
import { describe, it, after } from "node:test";
import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import * as ort from "onnxruntime-node";
import { createSession, DEFAULT_THREADS, getThreads, setThreads } from "../../../node/model/onnx/runtime.ts";
import { buildHeadGraph } from "../../../node/model/onnx/layers.ts";
import type { LlamaConfig } from "../../../node/model/types.ts";

const osThreads = () => readdirSync("/proc/self/task").length;

describe("onnxruntime threads", () => {
  after(() => setThreads(DEFAULT_THREADS));
  const c = { dim: 8, vocabSize: 16, normEps: 1e-5 } as LlamaConfig;
  const graph = buildHeadGraph(c, new Float32Array(8).fill(1), new Float32Array(128).fill(0.1));

  it("a session with n threads adds n − 1 worker threads", { skip: process.platform !== "linux" }, async () => {
    assert.equal(getThreads(), DEFAULT_THREADS);
    await (await createSession(graph, "cpu")).session.release(); // onnxruntime's own one-time threads
    const added: Record<number, number> = {};
    for (const n of [1, 3]) {
      setThreads(n);
      const before = osThreads();
      const { session } = await createSession(graph, "cpu");
      added[n] = osThreads() - before;
      await session.release();
    }
    assert.deepEqual(added, { 1: 0, 3: 2 });
  });

  it("pool threads sleep between runs instead of spinning (they took the cores from the threads with work)", async () => {
    const wide = { dim: 256, vocabSize: 4096, normEps: 1e-5 } as LlamaConfig;
    setThreads(2);
    const { session } = await createSession(buildHeadGraph(wide, new Float32Array(256).fill(1), new Float32Array(256 * 4096).fill(0.01)), "cpu");
    setThreads(DEFAULT_THREADS);
    const x = new ort.Tensor("float32", new Float32Array(256).fill(0.5), [1, 1, 256]);
    await session.run({ hidden: x });
    // runs with the main thread idle for a millisecond between them: spinning pool threads
    // burn CPU through those gaps (1.2-1.3 CPU-seconds a second measured with spinning on,
    // 0.3 without); other load on the machine only lowers this process's share
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    for (let i = 0; i < 200; i++) {
      await session.run({ hidden: x });
      await new Promise((r) => setTimeout(r, 1));
    }
    const used = process.cpuUsage(cpu0);
    const perWall = (used.user + used.system) / 1000 / (performance.now() - t0);
    await session.release();
    assert.ok(perWall < 0.8, `CPU time per wall time ${perWall.toFixed(2)}`);
  });

  it("refuses a count that is not a positive integer", () => {
    for (const n of [0, -1, 1.5, NaN]) assert.throws(() => setThreads(n), { name: "RangeError" });
  });
});
