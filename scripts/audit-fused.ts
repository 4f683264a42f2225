// The audit benchmark's fused-graph section (bench-audits.ts): on a synthetic model whose
// head size runs onnxruntime's fused CPU graph, servers (batching concurrent sessions) and
// the verifier's re-check both run it; the honest commitment error over audited sessions,
// and how far an older server decoding with the plain graph is from the fused re-check.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { EfedNode } from "../node/p2p/host.ts";
import { loadModel } from "../node/model/load.ts";
import { writeSynthModel } from "../node/model/synth.ts";
import { fusedGraphRuns } from "../node/model/onnx/fused-layers.ts";
import { ShardRunner } from "../node/model/onnx/runtime.ts";
import { denseSource } from "../node/model/onnx/layers.ts";
import { startServer } from "../node/server/server.ts";
import { generate } from "../node/client/generate.ts";
import { FailoverChain } from "../node/client/remote.ts";
import { chooseRoute } from "../node/client/route.ts";
import { openLocalEngine } from "../node/client/local.ts";
import { Rechecker } from "../node/verifier/recheck.ts";
import { planAudit } from "../node/verifier/plan.ts";
import { promptsFromModel } from "../node/verifier/prompts.ts";
import { LOCAL_DOMAIN } from "../node/swarm/receipt.ts";

export async function honestFused(client: EfedNode, rand: () => number, log: (s: string) => void, rounds: number, together: number) {
  const dir = mkdtempSync(join(tmpdir(), "efed-bench-fused-"));
  const file = join(dir, "synth.gguf");
  const shape = { dim: 256, layers: 4, heads: 8, kvHeads: 4, ffn: 704, vocab: 512 };
  writeSynthModel(file, { ...shape, seed: 9 });
  const m = await loadModel(file);
  const c = m.config;
  if (!fusedGraphRuns(c, "cpu")) throw new Error("the synthetic model's head size should run the fused graph");
  const eng = await openLocalEngine(file);
  const prompts = await promptsFromModel(file, 8, 32, 5);
  const hops = [await startServer({ model: file, layers: [0, 1] }), await startServer({ model: file, layers: [1, 3] }), await startServer({ model: file, layers: [3, 4] })];
  const checker = new Rechecker(m);
  let max = 0;
  let failures = 0;
  for (let r = 0; r < rounds; r++) {
    const ss = await Promise.all(Array.from({ length: together }, async () => {
      const plan = planAudit(prompts, m.tokenizer.bos, c.contextLength, rand);
      const chain = new FailoverChain(client, c.dim, { route: async (ex) => chooseRoute(hops.map((h) => ({ peer: h.node.peerId.toString(), addrs: h.addrs(), start: h.runner.start, end: h.runner.end, trust: 1, throughput: 1000, rttMs: 1 })), c.nLayers, ex), domain: LOCAL_DOMAIN, maxFailovers: 0 });
      const tokens = [...plan.promptIds];
      await generate(eng.client, chain, { prompt: "", promptIds: plan.promptIds, maxTokens: plan.maxTokens, temperature: plan.temperature, seed: plan.seed, onToken: (id) => tokens.push(id) });
      await chain.close();
      return { record: chain.records[0], tokens };
    }));
    for (const s of ss) {
      const v = await checker.recheck(s.record, s.tokens, LOCAL_DOMAIN);
      if (v.failure !== undefined || v.discarded !== undefined || !v.hops.every((h) => h.windows > 0)) failures++;
      max = Math.max(max, v.maxError);
    }
  }
  const batchedShareByHop = hops.map((s) => +(s.runner.batches!.batched / s.runner.batches!.steps).toFixed(3));
  // an older server decodes with the plain graph, step by step; the verifier re-checks with
  // the fused one in one run: the largest relative error of a position, over 64 positions
  const norms = (l: number) => ({ attnNorm: m.weights.layers[l]!.attnNorm, ffnNorm: m.weights.layers[l]!.ffnNorm });
  const o = { start: 0, end: c.nLayers, norms, linear: denseSource(m.weights) };
  const [plain, fused] = [await ShardRunner.open(c, o, "cpu"), await ShardRunner.open(c, { ...o, fused: true }, "cpu")];
  const T = 64;
  const x = Float32Array.from({ length: T * c.dim }, (_, i) => Math.sin(i * 0.37) * 0.5);
  const cache = plain.newCache();
  const stepped = new Float32Array(T * c.dim);
  for (let t = 0; t < T; t++) stepped.set(await plain.step(cache, x.subarray(t * c.dim, (t + 1) * c.dim), 1), t * c.dim);
  const once = await fused.step(fused.newCache(), x, T);
  let plainAgainstFused = 0;
  for (let t = 0; t < T; t++) {
    let d = 0;
    let n = 0;
    for (let i = t * c.dim; i < (t + 1) * c.dim; i++) [d, n] = [d + (stepped[i] - once[i]) ** 2, n + once[i] ** 2];
    plainAgainstFused = Math.max(plainAgainstFused, Math.sqrt(d / n));
  }
  for (const s of hops) await s.stop(0);
  await Promise.all([plain.release(), fused.release(), checker.close(), eng.close()]);
  rmSync(dir, { recursive: true, force: true });
  log(`fused graph, ${together} sessions at a time: ${rounds * together} audited sessions, ${failures} false failures, max error ${max}; plain decoding against the fused re-check ${plainAgainstFused}`);
  return { model: `synthetic ${JSON.stringify(shape)}, 3 hops`, rounds, sessionsAtOnce: together, sessions: rounds * together, falseFailures: failures, maxCommitmentError: max, batchedShareByHop, plainDecodingAgainstFusedRecheck: plainAgainstFused };
}
