// Verification benchmark (a script, not a test). Servers run in this process on loopback;
// probes are real /efed/infer/1 sessions checked by the Prober, as the verifier daemon does.
//   • honest error distribution (CPU↔CPU) and false deactivations over ≥ 50 honest epochs
//   • detection rate within one epoch, by probes per epoch and noise level
//   • verifier compute per epoch ÷ server compute served, at several server loads
//   • §4.4 fixed-point softmax vs plain float softmax
// Writes bench/verify.json.   npm run bench:verify
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createNode } from "../node/p2p/host.ts";
import { loadModel } from "../node/model/load.ts";
import { startServer, measureThroughput } from "../node/server/server.ts";
import { faultTransform } from "../node/server/faults.ts";
import { Prober } from "../node/verifier/prober.ts";
import { promptsFromModel } from "../node/verifier/prompts.ts";
import { fixedSoftmaxRow, quantize, shares, softmaxRows } from "../node/verifier/softmax.ts";
import { normal } from "../node/model/synth.ts";
import { STORIES_260K } from "../test/helpers/models.ts";

const log = (s: string) => process.stderr.write(s + "\n");
const THETA = 0.9;
const EPOCH_SECONDS = 10;
const DEFAULT_PROBES = 3;

const model = await loadModel(STORIES_260K);
const prompts = await promptsFromModel(STORIES_260K, 8, 24);
const prober = new Prober(model);
const client = await createNode();
const r = (() => {
  let s = 7;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296);
})();
const pickPrompt = () => {
  const p = prompts[Math.floor(r() * prompts.length)];
  return p.slice(0, Math.max(2, Math.ceil(p.length * (0.5 + 0.5 * r()))));
};
const hopOf = (s: Awaited<ReturnType<typeof startServer>>) => ({ peer: s.node.peerId.toString(), addrs: s.addrs(), start: s.runner.start, end: s.runner.end });

// --- honest runs: error distribution and false deactivations -------------------------
const honest = await startServer({ model: STORIES_260K, layers: [2, 4] });
const HONEST_EPOCHS = 60;
const rel: number[] = [];
const cos: number[] = [];
let falseDeactivations = 0;
let probeComputeMs = 0;
for (let e = 0; e < HONEST_EPOCHS; e++) {
  let passed = 0;
  for (let i = 0; i < DEFAULT_PROBES; i++) {
    const res = await prober.probe(client, hopOf(honest), pickPrompt());
    rel.push(res.relativeError ?? Infinity);
    cos.push(res.cosineDistance ?? Infinity);
    probeComputeMs += res.computeMs;
    if (res.pass) passed++;
  }
  if (passed / DEFAULT_PROBES < THETA) falseDeactivations++;
}
const q = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))];
const honestStats = {
  epochs: HONEST_EPOCHS,
  probesPerEpoch: DEFAULT_PROBES,
  falseDeactivations,
  relativeError: { median: q(rel, 0.5), p99: q(rel, 0.99), max: Math.max(...rel) },
  cosineDistance: { median: q(cos, 0.5), p99: q(cos, 0.99), max: Math.max(...cos) },
};
log(`honest: ${JSON.stringify(honestStats)}`);

// --- compute ratio ----------------------------------------------------------------------
const throughput = await measureThroughput(honest.runner, 64); // layer-tokens per second
const perProbeMs = probeComputeMs / (HONEST_EPOCHS * DEFAULT_PROBES);
const serverLayers = honest.runner.end - honest.runner.start;
const computeRatio = [0.1, 0.5, 1].map((load) => {
  const servedLayerTokens = load * throughput * EPOCH_SECONDS; // what the server computes in an epoch at that load
  const serverMs = (servedLayerTokens / throughput) * 1000;
  const verifierMs = DEFAULT_PROBES * perProbeMs;
  return { serverLoad: load, servedTokensPerEpoch: Math.round(servedLayerTokens / serverLayers), verifierMsPerEpoch: Math.round(verifierMs * 10) / 10, ratio: Math.round((verifierMs / serverMs) * 1e4) / 1e4 };
});
log(`compute ratio: ${JSON.stringify(computeRatio)}`);
await honest.stop(100);

// --- detection by noise level and probe rate --------------------------------------------
const detection: { noise: number; perProbeDetection: number; epochDetection: Record<string, number> }[] = [];
for (const sigma of [1e-3, 3e-3, 1e-2, 3e-2]) {
  const faulty = await startServer({ model: STORIES_260K, layers: [2, 4], transform: faultTransform({ kind: "noise", sigma }, 11) });
  const outcomes: boolean[] = [];
  for (let i = 0; i < 100; i++) outcomes.push(!(await prober.probe(client, hopOf(faulty), pickPrompt())).pass);
  await faulty.stop(100);
  const p = outcomes.filter(Boolean).length / outcomes.length;
  const epochDetection: Record<string, number> = {};
  for (const k of [1, 2, 3, 5]) {
    // empirical: consecutive windows of k probes as epochs; deactivated when passed/k < θ
    let caught = 0;
    let epochs = 0;
    for (let i = 0; i + k <= outcomes.length; i += k, epochs++) {
      const failed = outcomes.slice(i, i + k).filter(Boolean).length;
      if ((k - failed) / k < THETA) caught++;
    }
    epochDetection[k] = Math.round((caught / epochs) * 1e4) / 1e4;
  }
  detection.push({ noise: sigma, perProbeDetection: p, epochDetection });
  log(`noise ${sigma}: ${JSON.stringify(detection.at(-1))}`);
}

// --- §4.4 softmax -----------------------------------------------------------------------
const rand = normal(3);
const rows = Array.from({ length: 256 }, () => Array.from({ length: 256 }, () => rand() * 4));
const qrows = rows.map((row) => quantize(row));
const time = (f: () => void, reps = 5) => {
  const t = performance.now();
  for (let i = 0; i < reps; i++) f();
  return (performance.now() - t) / reps;
};
const floatMs = time(() => {
  for (const row of rows) {
    const m = Math.max(...row);
    const e = row.map((v) => Math.exp(v - m));
    const s = e.reduce((a, b) => a + b, 0);
    e.map((v) => v / s);
  }
});
const fixedMs = time(() => {
  for (const row of qrows) fixedSoftmaxRow(row);
});
const perVerifierMs = time(() => {
  const [a, b] = shares(qrows.length, 3)[0];
  softmaxRows(qrows, a, b);
});
const softmax = {
  matrix: "256×256 scores",
  floatMs: Math.round(floatMs * 100) / 100,
  fixedPointMs: Math.round(fixedMs * 100) / 100,
  fixedPointPerVerifierMsOf3: Math.round(perVerifierMs * 100) / 100,
  ratioFixedToFloat: Math.round((fixedMs / floatMs) * 100) / 100,
};
log(`softmax: ${JSON.stringify(softmax)}`);

let gas: unknown;
try {
  gas = JSON.parse(readFileSync("bench/gas.json", "utf8")).submitEpoch;
} catch {
  gas = "run npm run bench:gas";
}
const out = { theta: THETA, epochSeconds: EPOCH_SECONDS, tolerance: { maxRelativeError: 1e-3, maxCosineDistance: 1e-4 }, honest: honestStats, computeRatio, detection, softmax, gasPerServerPerSettledEpoch: gas };
mkdirSync("bench", { recursive: true });
writeFileSync("bench/verify.json", JSON.stringify(out, null, 2) + "\n");
console.log(JSON.stringify(out, null, 2));
await prober.close();
await client.stop();
