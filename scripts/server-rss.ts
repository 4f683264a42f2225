// One server's memory, measured in a process of its own (bench-model.ts runs this as a
// child): RSS once the server is up and has served a step, over the bytes its layers take
// in the model file; then again after 16 sessions' prompts and decode steps ran as batches
// (with `batchThreads` ≠ 1, batches open a second session: a second copy of the layers).
// Prints one JSON line.
//   node --expose-gc scripts/server-rss.ts <model.gguf> <start> <end> [batchThreads]
import { readGgufHeader } from "../node/model/gguf.ts";
import { byteSize } from "../node/model/dtypes.ts";
import { startServer } from "../node/server/server.ts";

const [file, a, b, bt] = process.argv.slice(2);
const [start, end] = [Number(a), Number(b)];
const batchThreads = bt === undefined ? undefined : Number(bt);
if (!Number.isInteger(start) || !Number.isInteger(end) || (batchThreads !== undefined && !(Number.isInteger(batchThreads) && batchThreads >= 1))) {
  throw new Error("usage: node --expose-gc scripts/server-rss.ts <model.gguf> <start> <end> [batchThreads ≥ 1]");
}
const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error("run with node --expose-gc");
// backing stores of collected ArrayBuffers are freed off the main thread: collect, let
// that run, collect again
const settle = async () => {
  for (let i = 0; i < 3; i++) {
    gc();
    await new Promise((r) => setTimeout(r, 300));
  }
  return process.memoryUsage();
};

const header = await readGgufHeader(file);
let layerBytes = 0;
for (const t of header.tensors.values()) {
  const l = /^blk\.(\d+)\./.exec(t.name);
  if (l !== null && Number(l[1]) >= start && Number(l[1]) < end) layerBytes += byteSize(t.type, t.shape.reduce((x, y) => x * y, 1)) ?? 0;
}
const before = (await settle()).rss;
const t = performance.now();
const server = await startServer({ model: file, layers: [start, end], batchThreads });
const loadSeconds = (performance.now() - t) / 1000;
const cache = server.runner.newCache();
await server.runner.step(cache, new Float32Array(server.config.dim).fill(0.01), 1);
const mem = await settle();
const after = mem.rss;
// 16 sessions at once: an 8-position prompt each, then a decode step each (batched runs)
const dim = server.config.dim;
const caches = Array.from({ length: 16 }, () => server.runner.newCache());
await Promise.all(caches.map((c) => server.runner.step(c, new Float32Array(8 * dim).fill(0.01), 8)));
await Promise.all(caches.map((c) => server.runner.step(c, new Float32Array(dim).fill(0.01), 1)));
const afterBatch = (await settle()).rss;
const ratio = (x: number) => Math.round((x / layerBytes) * 100) / 100;
// jsBuffersOverLayerBytes: what JS still holds (ArrayBuffers); the rest is onnxruntime's
console.log(JSON.stringify({ layerBytes, rssBeforeLoad: before, rssServing: after, rssOverLayerBytes: ratio(after - before), jsBuffersOverLayerBytes: ratio(mem.arrayBuffers), loadSeconds: Math.round(loadSeconds * 100) / 100, batchThreads: server.runner.batchThreads, largestBatch: server.runner.batches?.largest, rssAfterBatch: afterBatch, rssAfterBatchOverLayerBytes: ratio(afterBatch - before) }));
await server.stop(0);
