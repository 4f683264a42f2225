// The committee's report duties against a recording port: who batches the commitments, who
// falls back to its own transaction, what is gossiped, when a report is revealed on chain,
// and that gossip cannot overwrite a member's report with junk.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { reportCommitment, ReportsMissingError } from "../../../node/chain/settlement.ts";
import { aggregatorFor } from "../../../node/verifier/plan.ts";
import { EpochReports, type ReportGossip, type ReportingPort, type SignedCommitment } from "../../../node/verifier/reporting.ts";

const MEMBERS = ["0x00000000000000000000000000000000000000a1", "0x00000000000000000000000000000000000000b2", "0x00000000000000000000000000000000000000c3"];
const SALT = "0x" + "11".repeat(32);
const text = (acc: number) => "0x" + "00".repeat(19) + "01" + acc.toString(16).padStart(4, "0") + "000003e8";

/** A port for member `me`: signatures are "sig:<verifier>", the chain is a map of states. */
function fakePort(me: string) {
  const calls: string[] = [];
  const state = new Map<string, number>();
  const settledWith: Map<string, { results: string; salt: string }>[] = [];
  let settleFails = 0;
  const port: ReportingPort = {
    address: me,
    committee: async () => ({ members: new Map(MEMBERS.map((m) => [m, 1n])) }),
    signCommitment: async (epoch) => {
      const t = text(10_000);
      return { signed: { verifier: me, commitment: reportCommitment(epoch, me, t, SALT), sig: `sig:${me}` }, salt: SALT, text: t };
    },
    checkCommitment: (_e, c: SignedCommitment) => c.sig === `sig:${c.verifier}`,
    commitBatch: async (_e, signed) => {
      calls.push(`batch:${signed.map((s) => s.verifier.slice(-2)).sort().join(",")}`);
      for (const s of signed) state.set(s.verifier, 1);
    },
    commitOwn: async () => {
      calls.push("own");
      state.set(me, 1);
    },
    reportState: async (_e, v) => ({ confirmed: state.get(v) ?? 0, head: state.get(v) ?? 0 }), // no confirmations here: see ledger-port.test.ts
    revealOnChain: async () => {
      calls.push("reveal");
      state.set(me, 2);
    },
    settle: async (_e, reveals) => {
      if (settleFails > 0) {
        settleFails--;
        throw new Error("a report is missing");
      }
      settledWith.push(new Map(reveals));
      calls.push("settle");
      return 2;
    },
  };
  return { port, calls, state, settledWith, failSettles: (n: number) => (settleFails = n) };
}

function daemon(me: string) {
  const f = fakePort(me);
  const sent: ReportGossip[] = [];
  const r = new EpochReports(f.port, { say: () => {}, publish: async (g) => void sent.push(g) });
  return { ...f, r, sent };
}

const EPOCH = 4;
/** What a member found this epoch: one server audited (an empty report is never committed). */
const audited = () => [{ server: "0x0000000000000000000000000000000000000001", accBps: 10_000, tokens: 1000 }];
const aggregator = aggregatorFor(EPOCH, MEMBERS)!;
const other = MEMBERS.find((m) => m !== aggregator)!;

describe("EpochReports: one signed batch, reveals by gossip, fallbacks on chain", () => {
  it("the aggregator puts every member's signed commitment on chain in one transaction; the others send nothing", async () => {
    const agg = daemon(aggregator);
    const mem = daemon(other);
    await mem.r.report(EPOCH, 0.05, audited);
    assert.equal(mem.sent[0].kind, "commitment");
    agg.r.onGossip(mem.sent[0]);
    agg.r.onGossip({ kind: "commitment", epoch: EPOCH, verifier: MEMBERS[2], commitment: "0x" + "22".repeat(32), sig: "forged" }); // refused
    await agg.r.report(EPOCH, 0.05, audited);
    await agg.r.report(EPOCH, 0.25, audited);
    assert.deepEqual(agg.calls, [`batch:${[aggregator, other].map((a) => a.slice(-2)).sort().join(",")}`]);
    mem.state.set(other, 1); // the batch landed
    await mem.r.report(EPOCH, 0.4, audited);
    assert.equal(mem.calls.length, 0);
    assert.equal(mem.r.stats.commits, 1);
  });

  it("a member with nothing to report commits nothing (no transaction, nothing to reveal or be struck for); an aggregator with nothing still batches the others", async () => {
    const agg = daemon(aggregator);
    const mem = daemon(other);
    for (const into of [0.1, 0.36, 0.6]) await mem.r.report(EPOCH, into, () => []);
    assert.deepEqual(mem.calls, []);
    assert.deepEqual(mem.sent, []);
    await mem.r.settle(EPOCH, 0.3); // e+2: no own report to reveal on chain
    assert.equal(mem.calls.length, 0);
    const third = MEMBERS.find((m) => m !== aggregator && m !== other)!;
    const withReport = daemon(third);
    await withReport.r.report(EPOCH, 0.1, audited);
    agg.r.onGossip(withReport.sent[0]);
    await agg.r.report(EPOCH, 0.1, () => []);
    await agg.r.report(EPOCH, 0.25, () => []);
    assert.deepEqual(agg.calls, [`batch:${third.slice(-2)}`]); // the others' commitments, not an empty one of its own
  });

  it("a member missing from the batch by 35% of the epoch commits by its own transaction", async () => {
    const mem = daemon(other);
    await mem.r.report(EPOCH, 0.1, audited);
    await mem.r.report(EPOCH, 0.36, audited);
    assert.deepEqual(mem.calls, ["own"]);
  });

  it("reports are gossiped after the commit window; the aggregator settles with them; nobody reveals on chain", async () => {
    const agg = daemon(aggregator);
    const mem = daemon(other);
    await mem.r.report(EPOCH, 0.1, audited);
    agg.r.onGossip(mem.sent[0]);
    await mem.r.report(EPOCH, 0.6, audited);
    const reveal = mem.sent.find((g) => g.kind === "reveal")!;
    assert.ok(reveal !== undefined);
    // junk for the same member cannot replace it once its commitment is known
    agg.r.onGossip(reveal);
    agg.r.onGossip({ ...reveal, results: text(0) });
    await agg.r.report(EPOCH, 0.1, audited);
    await agg.r.settle(EPOCH, 0.15);
    assert.deepEqual(agg.calls.filter((c) => c === "settle"), ["settle"]);
    assert.equal(agg.settledWith[0].get(other)?.results, text(10_000));
    assert.ok(!agg.calls.includes("reveal"));
  });

  it("a settlement that fails (a report still missing) is tried again, not given up", async () => {
    const agg = daemon(aggregator);
    agg.failSettles(1);
    await agg.r.report(EPOCH, 0.1, audited);
    await assert.rejects(agg.r.settle(EPOCH, 0.15), /missing/);
    await agg.r.settle(EPOCH, 0.16); // too soon: waits
    assert.deepEqual(agg.calls.filter((c) => c === "settle"), []);
    await new Promise((r) => setTimeout(r, 4_100));
    await agg.r.settle(EPOCH, 0.3);
    assert.deepEqual(agg.calls.filter((c) => c === "settle"), ["settle"]);
  });

  it("a settlement waiting for a committed member's reveal is said once, not as a failure on every try", async () => {
    const f = fakePort(aggregator);
    const lines: string[] = [];
    const r = new EpochReports(f.port, { say: (l) => lines.push(l), publish: async () => {} });
    let tries = 0;
    f.port.settle = async () => {
      tries++;
      throw new ReportsMissingError(EPOCH, [MEMBERS[2]]);
    };
    await r.report(EPOCH, 0.1, audited);
    await r.settle(EPOCH, 0.15); // resolves: waiting is not a failure
    await new Promise((res) => setTimeout(res, 4_100));
    await r.settle(EPOCH, 0.3);
    assert.equal(tries, 2);
    assert.equal(lines.filter((l) => l.includes("waiting for the reveals of 1 member(s)")).length, 1, lines.join("\n"));
    assert.equal(r.stats.settlements, 0);
  });

  it("an aggregator with no report to settle with yet keeps trying, and still reveals its own on chain", async () => {
    const agg = daemon(aggregator);
    await agg.r.report(EPOCH, 0.1, audited);
    agg.state.set(aggregator, 1);
    agg.port.settle = async () => 0; // nothing usable yet
    await agg.r.settle(EPOCH, 0.1);
    await agg.r.settle(EPOCH, 0.3);
    assert.deepEqual(agg.calls, ["reveal"]);
    let tries = 0;
    agg.port.settle = async () => (++tries, 2);
    await new Promise((r) => setTimeout(r, 4_100));
    await agg.r.settle(EPOCH, 0.35);
    assert.equal(tries, 1);
    assert.equal(agg.r.stats.settlements, 1);
  });

  it("with confirmations a settlement counts once the head it was made at is confirmed; one a reorg dropped is made again", async () => {
    const agg = daemon(aggregator);
    await agg.r.report(EPOCH, 0.1, audited);
    let head = 100;
    const confirmations = 3;
    agg.port.blocks = async () => ({ head, confirmed: head - confirmations });
    let onChain = false; // whether the chain's head holds the settlement
    agg.port.settle = async () => (onChain ? -1 : ((onChain = true), 2));
    const retry = () => new Promise((r) => setTimeout(r, 4_100));
    await agg.r.settle(EPOCH, 0.15);
    assert.equal(agg.r.stats.settlements, 1);
    // the block is dropped before it is confirmed: the next look settles again
    onChain = false;
    head += 1;
    await retry();
    await agg.r.settle(EPOCH, 0.2);
    assert.equal(agg.r.stats.settlements, 2);
    // confirmed once the head of then (101) is below the confirmations
    head += 2;
    await retry();
    await agg.r.settle(EPOCH, 0.25);
    let looks = 0;
    agg.port.settle = async () => (looks++, -1);
    head += 1;
    await retry();
    await agg.r.settle(EPOCH, 0.3); // confirmed: 104 − 3 ≥ 101, settled for good
    await retry();
    await agg.r.settle(EPOCH, 0.35);
    assert.equal(looks, 1, "kept looking after the settlement was confirmed");
    assert.equal(agg.r.stats.settlements, 2);
  });

  it("a member whose report no settlement carried by 25% of epoch e+2 reveals it on chain; others settle only past the middle", async () => {
    const mem = daemon(other);
    await mem.r.report(EPOCH, 0.1, audited);
    mem.state.set(other, 1);
    await mem.r.settle(EPOCH, 0.2);
    assert.equal(mem.calls.length, 0);
    await mem.r.settle(EPOCH, 0.3);
    assert.deepEqual(mem.calls, ["reveal"]);
    await mem.r.settle(EPOCH, 0.55);
    assert.ok(!mem.calls.includes("settle"));
    await mem.r.settle(EPOCH, 0.65);
    assert.deepEqual(mem.calls, ["reveal", "settle"]);
  });
});
