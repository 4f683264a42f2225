// Audits as mystery shoppers, in process over real libp2p and real onnxruntime: an audit is
// a client session and looks like one to every server, signal by signal; the re-check finds
// no fault in honest servers (error far under the tolerance) and names the lying hop for every cheater,
// including those that lie only when a session does not look like a check.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { loadModel, type LoadedModel } from "../../../node/model/load.ts";
import { startServer, type RunningServer } from "../../../node/server/server.ts";
import type { StepContext } from "../../../node/server/infer-service.ts";
import { parseFault } from "../../../node/server/faults.ts";
import { chooseRoute, type Candidate } from "../../../node/client/route.ts";
import { Auditor, type RouteSource } from "../../../node/verifier/auditor.ts";
import { Rechecker } from "../../../node/verifier/recheck.ts";
import { toleranceFor } from "../../../node/verifier/tolerance.ts";
import { planAudit, seededRandom } from "../../../node/verifier/plan.ts";
import { accusedReceipt, buildEvidence, confirmEvidence, parseEvidence, recordHash } from "../../../node/verifier/evidence.ts";
import { promptsFromModel } from "../../../node/verifier/prompts.ts";
import { LOCAL_DOMAIN } from "../../../node/swarm/receipt.ts";
import { STORIES_260K } from "../../helpers/models.ts";

const CHEATS = ["lie-when:route", "lie-when:caller", "lie-when:steps", "lie-when:prompt", "lie-when:timing", "lie-when:size", "skip-layer", "noise:0.0005"];

describe("audits", () => {
  let model: LoadedModel;
  let rechecker: Rechecker;
  let auditor: Auditor;
  let pool: number[][];
  const seen = new Map<string, StepContext[]>(); // what the middle server saw, per session
  const servers: Record<string, RunningServer> = {};
  const cand = (s: RunningServer): Candidate => ({ peer: s.node.peerId.toString(), addrs: s.addrs(), start: s.runner.start, end: s.runner.end, trust: 1, throughput: 1000, rttMs: 1 });
  const through = (middle: RunningServer): RouteSource => (_node, rand) => async (exclude) => chooseRoute([cand(servers.head), cand(middle), cand(servers.tail)], 5, exclude, rand);

  before(async () => {
    model = await loadModel(STORIES_260K);
    servers.head = await startServer({ model: STORIES_260K, layers: [0, 2] });
    servers.tail = await startServer({ model: STORIES_260K, layers: [4, 5] });
    servers.middle = await startServer({
      model: STORIES_260K,
      layers: [2, 4],
      transform: (out, _input, ctx) => {
        seen.set(ctx.session, [...(seen.get(ctx.session) ?? []), ctx]);
        return out;
      },
    });
    for (const f of CHEATS) servers[f] = await startServer({ model: STORIES_260K, layers: [2, 4], fault: parseFault(f) });
    rechecker = new Rechecker(model);
    pool = await promptsFromModel(STORIES_260K, 4, 32, 11);
  });
  after(async () => {
    await Promise.all(Object.values(servers).map((s) => s.stop(100)));
    await auditor?.close();
    await rechecker?.close();
  });

  const auditThrough = async (middle: RunningServer, seed: string) => {
    auditor = new Auditor({ model, routes: through(middle), domain: LOCAL_DOMAIN, rechecker });
    const rand = seededRandom(seed);
    return auditor.audit(planAudit(pool, model.tokenizer.bos, model.config.contextLength, rand), rand);
  };

  it("finds honest servers within a fifth of the tolerance, over prefill and decode windows", async () => {
    const a = await auditThrough(servers.middle, "honest");
    assert.equal(a.error, undefined);
    assert.equal(a.results.length, 1);
    const r = a.results[0];
    assert.equal(r.failure, undefined);
    assert.equal(r.discarded, undefined);
    // the verifier's one teacher-forced run per hop sums in another order than decoding did
    assert.ok(r.maxError > 0 && r.maxError < toleranceFor("cpu/cpu") / 5, `honest error ${r.maxError}`);
    const sealed = a.records[0].steps.filter((s) => s.receipts.length > 0).length;
    assert.ok(sealed >= 2, `windows sealed: ${sealed}`);
    assert.ok(r.hops.every((h) => h.windows === sealed), `windows checked: ${r.hops.map((h) => h.windows)} of ${sealed}`);
    assert.equal(r.hops[0].positions, a.records[0].steps.reduce((x, s) => x + s.n, 0));
  });

  it("finds honest servers within a fifth of the tolerance when sessions run together and every server batches their steps", async () => {
    // rows of a batched run equal each session alone only within the last bits: an honest,
    // busy server must still pass (bench:audits "honestBatched" measures the error over 80)
    const batched = () => [servers.head, servers.middle, servers.tail].reduce((x, s) => x + (s.runner.batches?.batched ?? 0), 0);
    const before = batched();
    const checkers = [0, 1, 2, 3].map(() => new Rechecker(model));
    const auditors = checkers.map((rc) => new Auditor({ model, routes: through(servers.middle), domain: LOCAL_DOMAIN, rechecker: rc }));
    try {
      const outcomes = await Promise.all(auditors.map((au, i) => {
        const rand = seededRandom(`together ${i}`);
        return au.audit(planAudit(pool, model.tokenizer.bos, model.config.contextLength, rand), rand);
      }));
      assert.ok(batched() - before >= 4, `steps of the sessions shared runs (${batched() - before} batched steps)`);
      for (const a of outcomes) {
        assert.equal(a.error, undefined);
        const r = a.results[0];
        assert.equal(r.failure, undefined);
        assert.equal(r.discarded, undefined);
        assert.ok(r.maxError > 0 && r.maxError < toleranceFor("cpu/cpu") / 5, `honest error ${r.maxError}`);
        assert.ok(r.hops.every((h) => h.windows > 0), `windows checked: ${r.hops.map((h) => h.windows)}`);
      }
    } finally {
      for (const au of auditors) await au.close();
      for (const rc of checkers) await rc.close();
    }
  });

  for (const f of CHEATS) {
    it(`catches ${f} at its hop`, async () => {
      // lie-when:caller lies to callers it has seen: its hop's caller is the head server
      let a = await auditThrough(servers[f], f);
      // lie-when:caller lies to callers it has seen before: in real use every session after
      // the first through the same upstream server; here, the second audit
      if (f === "lie-when:caller") a = await auditThrough(servers[f], f + "2");
      const failures = a.results.filter((r) => r.failure !== undefined);
      assert.equal(failures.length, 1, `results: ${JSON.stringify(a.results.map((r) => ({ f: r.failure, d: r.discarded })))}`);
      assert.equal(failures[0].failure!.hop, 1, "blamed the wrong hop");
      assert.ok(failures[0].failure!.error > failures[0].failure!.tolerance);
      const upTo = a.records[a.results.indexOf(failures[0])].steps.slice(0, failures[0].failure!.step + 1).filter((s) => s.receipts.length > 0).length;
      assert.equal(failures[0].hops[0].windows, upTo, "the hop before was judged right up to the lie");
    });
  }

  it("a failure becomes evidence another verifier confirms; a forged or honest record is refused", async () => {
    const a = await auditThrough(servers["lie-when:steps"], "evidence");
    const i = a.results.findIndex((r) => r.failure !== undefined);
    const ev = buildEvidence(LOCAL_DOMAIN, a.records[i], a.tokens, a.results[i].failure!);
    const wire = parseEvidence(JSON.parse(JSON.stringify(ev)));
    assert.equal(recordHash(wire), recordHash(ev));
    assert.equal(accusedReceipt(wire).start, 2);
    const other = new Rechecker(model); // a second verifier with its own reference copy
    try {
      assert.deepEqual((await confirmEvidence(other, LOCAL_DOMAIN, wire)).confirmed, true);
      // blaming the honest hop before the liar does not hold
      const framed = { ...wire, failure: { ...wire.failure, hop: 0 } };
      assert.equal((await confirmEvidence(other, LOCAL_DOMAIN, framed)).confirmed, false);
      // nor does a record whose receipts were edited, nor one for another ledger
      const edited = structuredClone(wire);
      edited.steps.find((st) => st.receipts.length > 0)!.receipts[1].outputDigest = "0x" + "00".repeat(32);
      assert.equal((await confirmEvidence(other, LOCAL_DOMAIN, edited)).confirmed, false);
      assert.equal((await confirmEvidence(other, { ...LOCAL_DOMAIN, chainId: 1n }, wire)).confirmed, false);
      // an honest session cannot be turned into evidence
      const h = await auditThrough(servers.middle, "evidence-honest");
      const firstSeal = h.records[0].steps.findIndex((st) => st.receipts.length > 0);
      const forged = buildEvidence(LOCAL_DOMAIN, h.records[0], h.tokens, { step: firstSeal, hop: 1, error: 1, position: 0, tolerance: 1e-6 });
      assert.equal((await confirmEvidence(other, LOCAL_DOMAIN, forged)).confirmed, false);
      assert.throws(() => parseEvidence({ ...wire, failure: { ...wire.failure, step: 0 } }), /malformed/);
    } finally {
      await other.close();
    }
  });

  it("an audit and a client's session look the same to a server, signal by signal", async () => {
    const before = new Set(seen.keys());
    await auditThrough(servers.middle, "signals-audit");
    const auditSession = [...seen.keys()].find((k) => !before.has(k))!;
    const { createNode } = await import("../../../node/p2p/host.ts");
    const { FailoverChain } = await import("../../../node/client/remote.ts");
    const { generate } = await import("../../../node/client/generate.ts");
    const { openLocalEngine } = await import("../../../node/client/local.ts");
    const engine = await openLocalEngine(STORIES_260K);
    const node = await createNode();
    const chain = new FailoverChain(node, model.config.dim, { route: through(servers.middle)(node, Math.random), domain: LOCAL_DOMAIN });
    const seenBefore = new Set(seen.keys());
    await generate(engine.client, chain, { prompt: "Once upon a time there was a dog", maxTokens: 30, temperature: 0.8, seed: 3 });
    await chain.close();
    await node.stop();
    await engine.close();
    const clientSession = [...seen.keys()].find((k) => !seenBefore.has(k))!;
    // seals come at the same points of both (after the prompt, then every 8 decode steps)
    const sealsAt = (xs: StepContext[]) => xs.flatMap((x, i) => (x.seal ? [i - xs.slice(0, i).filter((y) => y.seal).length] : []));
    const [sa, sc] = [sealsAt(seen.get(auditSession)!), sealsAt(seen.get(clientSession)!)];
    const k = Math.min(sa.length, sc.length) - 1; // each one's last seal is where it ended
    assert.ok(k >= 1, `seals ${sa} / ${sc}`);
    assert.deepEqual(sa.slice(0, k), sc.slice(0, k));
    const a = seen.get(auditSession)!.filter((x) => !x.seal);
    const c = seen.get(clientSession)!.filter((x) => !x.seal);
    // caller: the middle hop is called by the head server in both; route position: same
    assert.equal(a[0].caller, c[0].caller);
    assert.deepEqual([a[0].hasNext, a[0].fromServer], [c[0].hasNext, c[0].fromServer]);
    // step pattern: a multi-position prefill, then single-token decode steps
    assert.ok(a[0].n > 1 && c[0].n > 1);
    assert.ok(a.slice(1).every((x) => x.n === 1) && c.slice(1).every((x) => x.n === 1));
    assert.ok(a.length > 4 && c.length > 4);
    // prompt: the audit's first input was never seen by the server before
    const earlier = [...seen.entries()].filter(([k]) => k !== auditSession && !before.has(k) === false).map(([, v]) => v[0].firstInput);
    assert.ok(!earlier.includes(a[0].firstInput));
    // timing: decode steps come at the same pace (the same loop runs both)
    const median = (xs: number[]) => [...xs].sort((p, q) => p - q)[Math.floor(xs.length / 2)];
    const ga = median(a.slice(1).map((x) => x.gapMs!));
    const gc = median(c.slice(1).map((x) => x.gapMs!));
    assert.ok(ga < 10 * gc + 50 && gc < 10 * ga + 50, `audit gap ${ga} ms, client gap ${gc} ms: ${a.map((x) => x.gapMs?.toFixed(1))} / ${c.map((x) => x.gapMs?.toFixed(1))}`);
    // frame sizes: n × dim floats in both
    assert.equal(a[1].frameBytes, c[1].frameBytes);
  });
});
