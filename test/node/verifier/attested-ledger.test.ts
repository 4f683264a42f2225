// The committee's duties end to end on the in-process ledger, through LedgerPort: one signed
// batch of commitments, reveals and signed medians by gossip, and the aggregator's settlement
// from the signed medians (settleAttested), which reveals every report by its hash — no
// reveal on chain, no report carried — and which later looks at the epoch recognise.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { parseEther } from "ethers";
import { as, connect, deployWorld, domainOf, EPOCH, goTo, registerServer, registerVerifiers } from "../../helpers/ledger.ts";
import { ConfirmedReader } from "../../../node/chain/confirmed.ts";
import { settledByAttestation } from "../../../node/chain/settlement.ts";
import { EpochAttestations, type AttestationGossip } from "../../../node/verifier/attesting.ts";
import { LedgerPort } from "../../../node/verifier/ledger-port.ts";
import { aggregatorFor } from "../../../node/verifier/plan.ts";
import { EpochReports, type ReportGossip } from "../../../node/verifier/reporting.ts";

describe("attested settlement through LedgerPort", () => {
  it("three members commit in one batch, gossip reveals and signed medians; the aggregator settles from 2/3 of the signatures", async () => {
    const { ethers, helpers } = await connect();
    const w = await deployWorld(ethers, helpers);
    await registerServer(w, 0, 0, 5);
    await registerVerifiers(w, 3);
    const server = await w.servers[0].getAddress();
    const bus: (ReportGossip | AttestationGossip)[] = [];
    const members = await Promise.all(
      w.verifiers.slice(0, 3).map(async (signer, i) => {
        const address = (await signer.getAddress()).toLowerCase();
        const port = new LedgerPort({ ledger: as(w, signer), signer, address, domain: domainOf(w), confirmed: new ConfirmedReader(ethers.provider, 0), maxAgeMs: 0 });
        const said: string[] = [];
        const attestations = new EpochAttestations(port, async (g) => void bus.push(g));
        const r = new EpochReports(port, { say: (l) => said.push(l), publish: async (g) => void bus.push(g), attestations });
        const results = () => [{ server, accBps: 9_000 + 500 * i, tokens: 1000 }];
        return { address, r, attestations, said, results };
      }),
    );
    /** Delivers what was gossiped to every member (as gossipsub would). */
    const deliver = () => {
      for (const g of bus.splice(0)) {
        for (const m of members) {
          if (g.kind === "attestation") m.attestations.onGossip(g);
          else m.r.onGossip(g);
        }
      }
    };
    const aggregator = members.find((m) => m.address === aggregatorFor(1, members.map((x) => x.address)))!;
    const at = async (epoch: number, into: number, duty: (m: (typeof members)[number]) => Promise<void>) => {
      await goTo(w, epoch, into * EPOCH);
      for (const m of members) await duty(m);
      deliver();
    };
    await at(2, 0.05, (m) => m.r.report(1, 0.05, m.results)); // commitments gossiped
    await at(2, 0.25, (m) => m.r.report(1, 0.25, m.results)); // the aggregator's batch
    await at(2, 0.6, (m) => m.r.report(1, 0.6, m.results)); // reveals gossiped (the first attests with its own only: too early)
    await at(2, 0.7, (m) => m.r.report(1, 0.7, m.results)); // every report at hand: signed medians gossiped
    for (const m of members) assert.equal(m.attestations.stats.attested, 1, `${m.address} did not attest`);
    await at(3, 0.1, (m) => m.r.settle(1, 0.1));
    assert.match(aggregator.said.join("\n"), /settled epoch 1 for 1 server\(s\) from signed medians/);
    assert.ok(await settledByAttestation(w.ledger, 1));
    const s = await w.ledger.getServer(server);
    assert.equal(s.trust, parseEther("0.95")); // the median of 9000, 9500, 10000
    for (const m of members) {
      assert.equal(await w.ledger.reportState(1, m.address), 2n); // revealed by their hashes
      assert.equal((await w.ledger.getVerifier(m.address)).pendingRewards, parseEther("1"));
    }
    // later looks: nothing is revealed on chain, nothing settled again
    await goTo(w, 3, 0.3 * EPOCH);
    const blockBefore = await ethers.provider.getBlockNumber();
    await at(3, 0.3, (m) => m.r.settle(1, 0.3));
    assert.equal(await ethers.provider.getBlockNumber(), blockBefore, "a transaction was sent after the attested settlement");
    for (const m of members) assert.equal(m.r.stats.onChainReveals, 0);
  });
});
