// --threads reaches onnxruntime: a session made with n threads starts n − 1 worker threads
// of its own (counted in /proc/self/task), and bad counts are refused.
import { describe, it, after } from "node:test";
import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
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

  it("refuses a count that is not a positive integer", () => {
    for (const n of [0, -1, 1.5, NaN]) assert.throws(() => setThreads(n), { name: "RangeError" });
  });
});
