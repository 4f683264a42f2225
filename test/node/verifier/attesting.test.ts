// The committee's signed medians against recording ports: a member signs only once every
// committed report is at hand, the aggregator settles with signatures worth 2/3 of the stake
// on its own digest (no reports carried), a minority's signatures on other medians do not
// count, and when signatures do not come or the ledger refuses them the reports are carried.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { ZeroHash } from "ethers";
import type { Attestation, AttestationDigest } from "../../../node/chain/attested.ts";
import { EpochAttestations, type AttestationGossip, type AttestingPort } from "../../../node/verifier/attesting.ts";
import { aggregatorFor } from "../../../node/verifier/plan.ts";
import { EpochReports, type ReportingPort } from "../../../node/verifier/reporting.ts";

const MEMBERS = ["0x00000000000000000000000000000000000000a1", "0x00000000000000000000000000000000000000b2", "0x00000000000000000000000000000000000000c3"];
const EPOCH = 4;
const REVEAL = { results: "0x", salt: ZeroHash };
const attestation = (medians: string): Attestation => ({ epoch: EPOCH, medians, members: MEMBERS.map((verifier) => ({ verifier, stake: 1n, resultsHash: ZeroHash, salt: ZeroHash })), committeeStake: 3n });

/** Member `me`: its attestation has `medians` once reports of every member are at hand. */
function member(me: string, medians = "0x01", refuse = false) {
  const calls: string[] = [];
  const port: ReportingPort & AttestingPort = {
    address: me,
    committee: async () => ({ members: new Map(MEMBERS.map((m) => [m, 1n])), total: 3n }),
    signCommitment: async () => { throw new Error("not here"); },
    checkCommitment: () => false,
    commitBatch: async () => {},
    commitOwn: async () => {},
    reportState: async () => ({ confirmed: 0, head: 0 }),
    revealOnChain: async () => {},
    settle: async () => {
      calls.push("carry the reports");
      return 1;
    },
    prepareAttestation: async (_e, reveals) => (MEMBERS.every((m) => reveals.has(m)) ? attestation(medians) : undefined),
    signAttestation: async (_e, d: AttestationDigest) => `sig:${me}:${d.medians}`,
    checkAttestation: (_e, d, verifier, sig) => sig === `sig:${verifier}:${d.medians}`,
    settleAttested: async (_e, _a, sigs) => {
      if (refuse) throw new Error("TrustLedgerBadSignature");
      calls.push(`signed medians:${[...sigs.keys()].map((k) => k.slice(-2)).sort().join(",")}`);
      return 2;
    },
  };
  const sent: AttestationGossip[] = [];
  const said: string[] = [];
  const attestations = new EpochAttestations(port, async (g) => void sent.push(g));
  const r = new EpochReports(port, { say: (l) => said.push(l), publish: async () => {}, attestations });
  return { r, attestations, calls, sent, said };
}

const aggregator = aggregatorFor(EPOCH, MEMBERS)!;
const others = MEMBERS.filter((m) => m !== aggregator);

/** Every member holds every report (gossiped) and attests; their signatures reach `to`. */
async function attestAll(members: ReturnType<typeof member>[], to: ReturnType<typeof member>, reveals = new Map(MEMBERS.map((m) => [m, REVEAL]))) {
  for (const m of members) {
    await m.attestations.attest(EPOCH, reveals);
    for (const g of m.sent) to.attestations.onGossip(g);
  }
}

describe("EpochAttestations: the committee's signed medians", () => {
  it("nobody signs while a committed report is missing; with 2/3 of the stake signed the aggregator settles with the fewest signatures and carries no report", async () => {
    const agg = member(aggregator);
    const rest = others.map((m) => member(m));
    await attestAll([agg, ...rest], agg, new Map([[MEMBERS[0], REVEAL]]));
    assert.equal(agg.sent.length + rest[0].sent.length, 0); // nothing to sign yet
    await attestAll([agg, ...rest], agg);
    await agg.r.settle(EPOCH, 0.1);
    assert.equal(agg.calls.length, 1);
    assert.match(agg.calls[0], /^signed medians:..,..$/); // 2 of 3 reach 2/3: the third costs gas for nothing
    assert.ok(agg.calls[0].includes(aggregator.slice(-2)));
    await agg.r.settle(EPOCH, 0.2); // seen settled: not signed again
    assert.match(agg.said.join("\n"), /settled epoch 4 for 2 server\(s\) from signed medians/);
  });

  it("attack: a member signing other medians does not count; short of 2/3 the aggregator waits, then carries the reports", async () => {
    const agg = member(aggregator);
    const liar = member(others[0], "0x02"); // signs medians of its own making
    const forged: AttestationGossip = { kind: "attestation", epoch: EPOCH, verifier: others[1], medians: "0x01", reports: "0x", sig: `sig:${others[0]}:0x01` }; // another's signature
    await attestAll([agg, liar], agg);
    agg.attestations.onGossip(forged);
    await agg.r.settle(EPOCH, 0.1);
    assert.deepEqual(agg.calls, []); // waiting for signatures
    await agg.r.settle(EPOCH, 0.3);
    assert.deepEqual(agg.calls, ["carry the reports"]);
    assert.match(agg.said.join("\n"), /too few signed medians for epoch 4/);
  });

  it("a settlement the ledger refuses is said once and the reports are carried at once", async () => {
    const agg = member(aggregator, "0x01", true);
    await attestAll([agg, ...others.map((m) => member(m))], agg);
    await agg.r.settle(EPOCH, 0.1);
    assert.deepEqual(agg.calls, ["carry the reports"]);
    assert.match(agg.said.join("\n"), /refused \(TrustLedgerBadSignature\)/);
  });
});
