// Audit benchmark (a script, not a test). Servers run in this process on loopback; sessions
// are real /efed/infer/3 client sessions with receipts; the verifier re-checks them as its
// daemon does (Rechecker). Writes bench/audits.json:
//   • honest error of the commitment check (calibrates the cpu/cpu tolerance), over ≥ 50 epochs,
//     and over sessions run 4 at a time, whose steps every server batches (continuous batching);
//     on a synthetic model whose servers and verifier run the fused graph, the same, and how
//     far the plain graph's decoding is from the fused re-check (an older server's)
//   • crude faults and subtle cheaters: caught per audited session
//   • detection probability by lie rate and audit rate: measured (audit draws over real
//     sessions) against the arithmetic 1 − (1 − p·a)^S
//   • verifier compute ÷ served compute; receipt bytes per token per hop; receipt time per step
//   npm run bench:audits        (EFED_BENCH_ONLY=batched: only the batched and fused sessions'
//                                errors, kept with the other figures of bench/audits.json)
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { generateKeyPair } from "@libp2p/crypto/keys";
import { createNode } from "../node/p2p/host.ts";
import { loadModel } from "../node/model/load.ts";
import { startServer, type RunningServer } from "../node/server/server.ts";
import { parseFault } from "../node/server/faults.ts";
import { generate } from "../node/client/generate.ts";
import { FailoverChain, SEAL_EVERY, type SessionRecord } from "../node/client/remote.ts";
import { chooseRoute } from "../node/client/route.ts";
import { openLocalEngine } from "../node/client/local.ts";
import { Rechecker } from "../node/verifier/recheck.ts";
import { planAudit, seededRandom } from "../node/verifier/plan.ts";
import { promptsFromModel } from "../node/verifier/prompts.ts";
import { COMMITMENT_TOLERANCE } from "../node/verifier/tolerance.ts";
import { LOCAL_DOMAIN, ReceiptSigner, ZERO } from "../node/swarm/receipt.ts";
import { makeReceipt } from "../node/swarm/receipt-chain.ts";
import { sealNonce } from "../node/swarm/commitment.ts";
import { hopReceiptBytes, UPSTREAM_RECEIPT_BYTES } from "../node/swarm/receipt-wire.ts";
import { StepWindow } from "../node/swarm/window.ts";
import { normal } from "../node/model/random.ts";
import { honestFused } from "./audit-fused.ts";
import { STORIES_260K } from "../test/helpers/models.ts";

const log = (s: string) => process.stderr.write(s + "\n");
const only = process.env.EFED_BENCH_ONLY;
if (only !== undefined && only !== "batched") throw new Error(`EFED_BENCH_ONLY must be "batched" (or unset), got "${only}"`);
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

// --- honest sessions run together: rows of one onnxruntime run on every server ------------
/** Sessions `together` at a time through `middle`, each re-checked as an audit re-checks it:
 * a row of a batched run equals its session alone only within the last bits (batched MatMuls
 * sum in another order), so the honest error of batched sessions is measured apart. */
async function honestBatched(middle: RunningServer, rounds: number, together: number) {
  const servers = [head, middle, tail];
  const counts = (s: RunningServer) => s.runner.batches ?? { steps: 0, batched: 0 }; // none before a first step
  const before = servers.map((s) => ({ ...counts(s) }));
  let max = 0;
  let failures = 0;
  for (let r = 0; r < rounds; r++) {
    const ss = await Promise.all(Array.from({ length: together }, () => session(middle)));
    for (const s of ss) {
      const v = await rechecker.recheck(s.record, s.tokens, LOCAL_DOMAIN);
      if (v.failure !== undefined || v.discarded !== undefined || !v.hops.every((h) => h.windows > 0)) failures++;
      max = Math.max(max, v.maxError);
    }
  }
  // of the sessions' steps, the share each server computed in runs with other sessions' steps
  const batchedShare = servers.map((s, i) => +((counts(s).batched - before[i].batched) / (counts(s).steps - before[i].steps)).toFixed(3));
  log(`honest, ${together} sessions at a time: ${rounds * together} audited sessions, ${failures} false failures, max error ${max}, batched share by hop ${batchedShare}`);
  return { rounds, sessionsAtOnce: together, sessions: rounds * together, falseFailures: failures, maxCommitmentError: max, batchedShareByHop: batchedShare };
}

// --- honest sessions: the commitment error, receipts' size, compute ratio --------------
const honest = await startServer({ model: STORIES_260K, layers: [2, 4] });
const BATCHED_ROUNDS = 20;
const AT_ONCE = 4;
if (only === "batched") {
  const kept = JSON.parse(readFileSync("bench/audits.json", "utf8")) as Record<string, unknown>;
  kept.honestBatched = await honestBatched(honest, BATCHED_ROUNDS, AT_ONCE);
  kept.honestFused = await honestFused(client, rand, log, BATCHED_ROUNDS, AT_ONCE);
  writeFileSync("bench/audits.json", JSON.stringify(kept, null, 2) + "\n");
  for (const s of [head, tail, honest]) await s.stop(0);
  await client.stop();
  await engine.close();
  await rechecker.close();
  process.exit(0);
}
const HONEST_EPOCHS = 50;
const AUDITS_PER_EPOCH = 1;
let maxError = 0;
let falseFailures = 0;
let recheckMs = 0;
let toClientBytes = 0; // the receipts that reach the client, as they travel (binary)
let forwardBytes = 0; // the receipts each hop sends the next with a seal
let positions = 0;
let steps = 0;
let windows = 0;
const servedBefore = [head, honest, tail].reduce((a, s) => a + s.service.stats.computeMs, 0);
for (let e = 0; e < HONEST_EPOCHS; e++) {
  for (let i = 0; i < AUDITS_PER_EPOCH; i++) {
    const s = await session(honest);
    const r = await rechecker.recheck(s.record, s.tokens, LOCAL_DOMAIN);
    recheckMs += r.computeMs;
    if (r.failure !== undefined || r.discarded !== undefined) falseFailures++;
    for (const st of s.record.steps) {
      positions += st.n;
      if (st.n > 0) steps++;
      if (st.receipts.length === 0) continue;
      windows++;
      toClientBytes += st.receipts.length * hopReceiptBytes(st.receipts[0].n);
      forwardBytes += (st.receipts.length - 1) * UPSTREAM_RECEIPT_BYTES;
    }
    maxError = Math.max(maxError, r.maxError); // the honest commitment error, every hop and window
    if (!(r.hops.every((h) => h.windows > 0))) falseFailures++; // nothing checked is no pass
  }
}
const servedMs = [head, honest, tail].reduce((a, s) => a + s.service.stats.computeMs, 0) - servedBefore;
const batched = await honestBatched(honest, BATCHED_ROUNDS, AT_ONCE);
const fusedHonest = await honestFused(client, rand, log, BATCHED_ROUNDS, AT_ONCE);
const hops = 3;
log(`honest: ${HONEST_EPOCHS * AUDITS_PER_EPOCH} audited sessions, ${falseFailures} false failures, max error ${maxError}`);

// receipt size: the bytes that travel on /efed/infer/3, per position and hop — what reaches
// the client, and with the hop-to-hop receipts added; and for decoding alone (a window of
// SEAL_EVERY one-token steps), the case that dominates real use
const receiptBytesPerTokenPerHop = toClientBytes / (positions * hops);
const receiptBytesPerTokenPerHopWithForwarding = (toClientBytes + forwardBytes) / (positions * hops);
const decodeToClient = hopReceiptBytes(SEAL_EVERY) / SEAL_EVERY;
const decodeWithForwarding = (hopReceiptBytes(SEAL_EVERY) + ((hops - 1) / hops) * UPSTREAM_RECEIPT_BYTES) / SEAL_EVERY;
const perSessionRatio = recheckMs / servedMs;
log(`receipts: ${receiptBytesPerTokenPerHop.toFixed(1)} B/token/hop to the client (${receiptBytesPerTokenPerHopWithForwarding.toFixed(1)} with forwarding); decoding ${decodeToClient} (${decodeWithForwarding.toFixed(1)}); re-check ÷ served ${perSessionRatio.toFixed(3)}`);

// --- receipt cost per decode step: digests every step, projections and a signature a window
const key = await generateKeyPair("secp256k1");
const signer = new ReceiptSigner(key.raw, LOCAL_DOMAIN);
const signMs: Record<string, number> = {};
for (const dim of [64, 768, 4096]) {
  const g = normal(dim);
  const x = Float32Array.from({ length: dim }, () => g());
  const y = Float32Array.from({ length: dim }, () => g());
  const facts = { session: "00112233445566778899aabbccddeeff", start: 0, end: 2, pos: 10, n: SEAL_EVERY, dim, epoch: 1n };
  const seal = () => {
    const w = new StepWindow(10, true);
    for (let i = 0; i < SEAL_EVERY; i++) w.add(x, y, 1);
    makeReceipt(signer, facts, w.inputDigest(), w.outputDigest(), w.outputs(), sealNonce(), ZERO, ZERO);
  };
  for (let i = 0; i < 20; i++) seal();
  const t = performance.now();
  for (let i = 0; i < 100; i++) seal();
  signMs[String(dim)] = +((performance.now() - t) / (100 * SEAL_EVERY)).toFixed(3);
}
log(`receipt time per decode step: ${JSON.stringify(signMs)} ms by dim`);

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
  for (let i = 0; i < 100; i++) {
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
  honestBatched: batched,
  honestFused: fusedHonest,
  caught,
  receiptBytesPerTokenPerHop: +receiptBytesPerTokenPerHop.toFixed(1),
  receiptBytesPerTokenPerHopWithForwarding: +receiptBytesPerTokenPerHopWithForwarding.toFixed(1),
  receiptBytesPerDecodeTokenPerHop: +decodeToClient.toFixed(1),
  receiptBytesPerDecodeTokenPerHopWithForwarding: +decodeWithForwarding.toFixed(1),
  sealEvery: SEAL_EVERY,
  positionsPerStep: +(positions / steps).toFixed(2),
  stepsPerWindow: +(steps / windows).toFixed(2),
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
