// Audit benchmark (a script, not a test). Servers run in this process on loopback; sessions
// are real /efed/infer/2 client sessions with receipts; the verifier re-checks them as its
// daemon does (Rechecker). Writes bench/audits.json:
//   • honest error of the commitment check (calibrates the cpu/cpu tolerance), over ≥ 50 epochs
//   • crude faults and subtle cheaters: caught per audited session
//   • detection probability by lie rate and audit rate: measured (audit draws over real
//     sessions) against the arithmetic 1 − (1 − p·a)^S
//   • verifier compute ÷ served compute; receipt bytes per token per hop; time to sign a step
//   npm run bench:audits
import { mkdirSync, writeFileSync } from "node:fs";
import { generateKeyPair } from "@libp2p/crypto/keys";
import { createNode } from "../node/p2p/host.ts";
import { loadModel } from "../node/model/load.ts";
import { startServer, type RunningServer } from "../node/server/server.ts";
import { parseFault } from "../node/server/faults.ts";
import { generate } from "../node/client/generate.ts";
import { FailoverChain, type SessionRecord } from "../node/client/remote.ts";
import { chooseRoute } from "../node/client/route.ts";
import { openLocalEngine } from "../node/client/local.ts";
import { Rechecker } from "../node/verifier/recheck.ts";
import { planAudit, seededRandom } from "../node/verifier/plan.ts";
import { promptsFromModel } from "../node/verifier/prompts.ts";
import { COMMITMENT_TOLERANCE } from "../node/verifier/tolerance.ts";
import { LOCAL_DOMAIN, ReceiptSigner, ZERO } from "../node/swarm/receipt.ts";
import { makeReceipt, toWire } from "../node/swarm/receipt-chain.ts";
import { normal } from "../node/model/synth.ts";
import { STORIES_260K } from "../test/helpers/models.ts";

const log = (s: string) => process.stderr.write(s + "\n");
const rand = seededRandom("bench-audits");
const model = await loadModel(STORIES_260K);
const engine = await openLocalEngine(STORIES_260K);
const pool = await promptsFromModel(STORIES_260K, 8, 64, 5);
const rechecker = new Rechecker(model);
const client = await createNode();
const head = await startServer({ model: STORIES_260K, layers: [0, 2] });
const tail = await startServer({ model: STORIES_260K, layers: [4, 5] });
const cand = (s: RunningServer) => ({ peer: s.node.peerId.toString(), addrs: s.addrs(), start: s.runner.start, end: s.runner.end, trust: 1, throughput: 1000, rttMs: 1 });

/** One client session through `middle`, as `efed generate` runs it; its record and tokens. */
async function session(middle: RunningServer): Promise<{ record: SessionRecord; tokens: number[] }> {
  const plan = planAudit(pool, model.tokenizer.bos, model.config.contextLength, rand);
  const chain = new FailoverChain(client, model.config.dim, { route: async (ex) => chooseRoute([cand(head), cand(middle), cand(tail)], 5, ex), domain: LOCAL_DOMAIN, maxFailovers: 0 });
  const tokens = [...plan.promptIds];
  await generate(engine.client, chain, { prompt: "", promptIds: plan.promptIds, maxTokens: plan.maxTokens, temperature: plan.temperature, seed: plan.seed, onToken: (id) => tokens.push(id) });
  await chain.close();
  return { record: chain.records[0], tokens };
}

// --- honest sessions: the commitment error, receipts' size, compute ratio --------------
const honest = await startServer({ model: STORIES_260K, layers: [2, 4] });
const HONEST_EPOCHS = 50;
const AUDITS_PER_EPOCH = 1;
let maxError = 0;
let falseFailures = 0;
let recheckMs = 0;
let wireReceiptBytes = 0;
let positions = 0;
let steps = 0;
const servedBefore = [head, honest, tail].reduce((a, s) => a + s.service.stats.computeMs, 0);
for (let e = 0; e < HONEST_EPOCHS; e++) {
  for (let i = 0; i < AUDITS_PER_EPOCH; i++) {
    const s = await session(honest);
    const r = await rechecker.recheck(s.record, s.tokens, LOCAL_DOMAIN);
    recheckMs += r.computeMs;
    if (r.failure !== undefined || r.discarded !== undefined) falseFailures++;
    for (const st of s.record.steps) {
      positions += st.n;
      steps++;
      for (const rc of st.receipts) wireReceiptBytes += JSON.stringify(toWire(rc)).length;
    }
    maxError = Math.max(maxError, r.maxError); // the honest commitment error, every hop-step
    if (!(r.hops.every((h) => h.steps > 0))) falseFailures++; // nothing checked is no pass
  }
}
const servedMs = [head, honest, tail].reduce((a, s) => a + s.service.stats.computeMs, 0) - servedBefore;
const hops = 3;
log(`honest: ${HONEST_EPOCHS * AUDITS_PER_EPOCH} audited sessions, ${falseFailures} false failures, max error ${maxError}`);

// receipt size: the JSON that travels, and the binary minimum (fields + 64-byte signature +
// 4 f32 projections per position; digests a receiver can recompute are not counted there)
const receiptBytesPerTokenPerHop = wireReceiptBytes / (positions * hops);
const binaryPerStep = 2 + 2 + 8 + 32 + 64; // range, epoch, output digest, signature
const receiptBytesPerTokenPerHopBinary = (steps * binaryPerStep + positions * 16) / positions;
const perSessionRatio = recheckMs / servedMs;

// --- signing cost per step -------------------------------------------------------------
const key = await generateKeyPair("secp256k1");
const signer = new ReceiptSigner(key.raw, LOCAL_DOMAIN);
const signMs: Record<string, number> = {};
for (const dim of [64, 768, 4096]) {
  const g = normal(dim);
  const x = Float32Array.from({ length: dim }, () => g());
  const y = Float32Array.from({ length: dim }, () => g());
  const facts = { session: "00112233445566778899aabbccddeeff", start: 0, end: 2, pos: 10, n: 1, dim, epoch: 1n };
  for (let i = 0; i < 50; i++) makeReceipt(signer, facts, x, y, ZERO, ZERO);
  const t = performance.now();
  for (let i = 0; i < 400; i++) makeReceipt(signer, facts, x, y, ZERO, ZERO);
  signMs[String(dim)] = +((performance.now() - t) / 400).toFixed(3);
}
log(`sign a decode step: ${JSON.stringify(signMs)} ms by dim`);

// --- cheaters: caught per audited session ------------------------------------------------
const CHEATS = ["noise:0.003", "noise:0.0005", "skip", "zero", "skip-layer", "lie-when:route", "lie-when:steps", "lie-when:prompt", "lie-when:timing", "lie-when:size"];
const caught: Record<string, { sessions: number; caught: number }> = {};
for (const f of CHEATS) {
  const s = await startServer({ model: STORIES_260K, layers: [2, 4], fault: parseFault(f) });
  caught[f] = { sessions: 0, caught: 0 };
  for (let i = 0; i < 4; i++) {
    try {
      const x = await session(s);
      const r = await rechecker.recheck(x.record, x.tokens, LOCAL_DOMAIN);
      caught[f].sessions++;
      if (r.failure?.hop === 1) caught[f].caught++;
    } catch {
      // a fault that breaks the session is seen by the client at once
    }
  }
  await s.stop(0);
  log(`${f}: caught in ${caught[f].caught}/${caught[f].sessions} audited sessions`);
}

// --- detection by lie rate and audit rate ------------------------------------------------
// Real sessions through a lie-rate:p server are each re-checked (is it caught when audited?);
// then audits are drawn over them at rate a, S sessions an epoch, many times over.
const SESSIONS_PER_EPOCH = 10;
const detection: { lieRate: number; observedLieRate: number; auditRate: number; sessionsPerEpoch: number; measured: number; arithmetic: number; arithmeticAtObserved: number; epochsFor95: number }[] = [];
for (const p of [0.05, 0.2, 1]) {
  const liar = await startServer({ model: STORIES_260K, layers: [2, 4], fault: parseFault(`lie-rate:${p}`) });
  const outcomes: boolean[] = [];
  for (let i = 0; i < 60; i++) {
    const x = await session(liar);
    outcomes.push((await rechecker.recheck(x.record, x.tokens, LOCAL_DOMAIN)).failure !== undefined);
  }
  await liar.stop(0);
  const observed = outcomes.filter(Boolean).length / outcomes.length; // the sessions it really lied on
  for (const a of [0.02, 0.05, 0.2]) {
    let detected = 0;
    const TRIALS = 20_000;
    for (let t = 0; t < TRIALS; t++) {
      let hit = false;
      for (let k = 0; k < SESSIONS_PER_EPOCH && !hit; k++) hit = rand() < a && outcomes[Math.floor(rand() * outcomes.length)];
      if (hit) detected++;
    }
    const arithmetic = 1 - (1 - p * a) ** SESSIONS_PER_EPOCH;
    const atObserved = 1 - (1 - observed * a) ** SESSIONS_PER_EPOCH;
    detection.push({ lieRate: p, observedLieRate: +observed.toFixed(4), auditRate: a, sessionsPerEpoch: SESSIONS_PER_EPOCH, measured: +(detected / TRIALS).toFixed(4), arithmetic: +arithmetic.toFixed(4), arithmeticAtObserved: +atObserved.toFixed(4), epochsFor95: Math.ceil(Math.log(0.05) / Math.log(1 - arithmetic)) });
    log(`lie rate ${p} (observed ${observed.toFixed(3)}), audit rate ${a}: detected within an epoch ${(detected / TRIALS).toFixed(3)} (arithmetic ${arithmetic.toFixed(3)}; at the observed rate ${atObserved.toFixed(3)})`);
  }
}

const DEFAULT_AUDIT_SHARE = 0.05;
const out = {
  model: "stories260K (dim 64, 5 layers), 3 hops",
  tolerance: COMMITMENT_TOLERANCE,
  honest: { epochs: HONEST_EPOCHS, auditsPerEpoch: AUDITS_PER_EPOCH, falseFailures, maxCommitmentError: maxError },
  caught,
  receiptBytesPerTokenPerHop: +receiptBytesPerTokenPerHop.toFixed(1),
  receiptBytesPerTokenPerHopBinary: +receiptBytesPerTokenPerHopBinary.toFixed(1),
  receiptPositionsPerStep: +(positions / steps).toFixed(2),
  signMsPerStep: signMs["64"],
  signMsPerStepByDim: signMs,
  recheckOverServedPerSession: +perSessionRatio.toFixed(3),
  defaultAuditShare: DEFAULT_AUDIT_SHARE,
  verifierOverServed: +(DEFAULT_AUDIT_SHARE * perSessionRatio).toFixed(4),
  detection,
};
mkdirSync("bench", { recursive: true });
writeFileSync("bench/audits.json", JSON.stringify(out, null, 2) + "\n");
log(JSON.stringify({ ...out, detection: undefined, caught: undefined }, null, 2));
for (const s of [head, tail, honest]) await s.stop(0);
await client.stop();
await engine.close();
await rechecker.close();
