// A server's worker thread (shard-worker.ts) runs the graph it is given and never builds one,
// so it must not load the graph builders and protobufjs: each worker is a V8 isolate of its
// own, and they took ~2 MB of every server's RSS (runtime.ts ShardRunner.open loads them on
// demand). Read from the worker's static import graph, as the module loader follows it.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const ENTRY = fileURLToPath(new URL("../../../node/model/onnx/shard-worker.ts", import.meta.url));

/** Every module `file` loads through its static value imports (`import type` loads none). */
function staticImports(file: string, seen = new Set<string>()): Set<string> {
  if (seen.has(file)) return seen;
  seen.add(file);
  if (!file.endsWith(".ts")) return seen; // a package: its name is what matters here
  const text = readFileSync(file, "utf8");
  for (const m of text.matchAll(/^import\s+(type\s)?[^;]*?from\s+"([^"]+)";/gms)) {
    if (m[1] !== undefined) continue;
    const spec = m[2];
    staticImports(spec.startsWith(".") ? resolve(dirname(file), spec) : spec, seen);
  }
  return seen;
}

describe("a server's worker thread", () => {
  const loaded = [...staticImports(ENTRY)];

  it("loads onnxruntime and the runners", () => {
    for (const m of ["onnxruntime-node", "runtime.ts", "batch-runner.ts", "cache-names.ts"]) assert.ok(loaded.some((f) => f.endsWith(m)), `${m} is not among ${loaded.join(", ")}`);
  });

  it("does not load the graph builders or protobufjs", () => {
    for (const m of ["onnx-proto", "/graph.ts", "/layers.ts", "/fused-layers.ts"]) assert.ok(!loaded.some((f) => f.endsWith(m)), `the worker loads ${m}`);
  });
});
