// A verifier with --confirmations N reads what decides its duties N blocks below the head, on
// the in-process chain: a verifier's registration joins the committee only N blocks later, a
// reorg deeper than N that drops it is noticed and forgotten, and a report committed only at
// the head is waited for — and committed again by the verifier's own transaction when a
// reorg drops it — before its commit duty counts as done.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { getBytes, keccak256, parseEther, toUtf8Bytes } from "ethers";
import { as, connect, deployWorld, domainOf, goTo, registerVerifiers, type World } from "../../helpers/ledger.ts";
import { ConfirmedReader } from "../../../node/chain/confirmed.ts";
import { peerIdOfKey } from "../../../node/chain/peer-binding.ts";
import { commitReports } from "../../../node/chain/settlement.ts";
import { LedgerPort } from "../../../node/verifier/ledger-port.ts";
import { aggregatorFor } from "../../../node/verifier/plan.ts";
import { EpochReports, type ReportGossip } from "../../../node/verifier/reporting.ts";

const N = 3;
const audited = () => [{ server: "0x0000000000000000000000000000000000000001", accBps: 10_000, tokens: 1000 }];

async function portOf(w: World, i: number, lines: string[] = []) {
  const signer = w.verifiers[i];
  const confirmed = new ConfirmedReader(w.ethers.provider, N);
  return new LedgerPort({ ledger: as(w, signer), signer, address: await signer.getAddress(), domain: domainOf(w), confirmed, log: (l) => lines.push(l), maxAgeMs: 0 });
}

describe("LedgerPort with --confirmations", () => {
  it("a verifier joins the committee N blocks after its registration; a reorg that drops the registration is noticed and forgotten", async () => {
    const { ethers, helpers } = await connect();
    const w = await deployWorld(ethers, helpers);
    await registerVerifiers(w, 2);
    const lines: string[] = [];
    const port = await portOf(w, 0, lines);
    await helpers.mine(N);
    const late = (await w.verifiers[2].getAddress()).toLowerCase();
    const before = await helpers.takeSnapshot();
    await (await as(w, w.verifiers[2]).registerVerifier(parseEther("50"), peerIdOfKey(getBytes(keccak256(toUtf8Bytes("efed verifier 2")))), ["/ip4/127.0.0.1/tcp/5002"])).wait();
    assert.ok((await w.ledger.verifierStakeAt(late, 1)) > 0n, "at the head it is on epoch 1's committee");
    for (let on = 0; on < N; on++) {
      assert.ok(!(await port.committee(1)).members.has(late), `counted with only ${on} block(s) on top`);
      await helpers.mine(1);
    }
    assert.ok((await port.committee(1)).members.has(late), `not counted with ${N} blocks on top`);
    // epoch 1 begins: its committee is final, and kept
    await goTo(w, 1);
    await helpers.mine(N + 1);
    assert.deepEqual([...(await port.committee(1)).members.keys()].length, 3);
    assert.equal(port.reorgs, 0);

    // the chain reorganises from before the registration, deeper than N: other blocks, epoch 1 again
    await before.restore();
    await goTo(w, 1);
    await helpers.mine(N + 4);
    const after = await port.committee(1);
    assert.ok(!after.members.has(late), "the committee kept a member whose registration the reorg dropped");
    assert.equal(after.members.size, 2);
    assert.equal(port.reorgs, 1);
    assert.match(lines.join("\n"), new RegExp(`the chain reorganised from block \\d+, deeper than --confirmations ${N}`));
  });

  it("a report committed only at the head is waited for, and committed by the verifier's own transaction when a reorg drops it", async () => {
    const { ethers, helpers } = await connect();
    const w = await deployWorld(ethers, helpers);
    await registerVerifiers(w, 3);
    await goTo(w, 2); // the commit window of the report on epoch 1
    await helpers.mine(N);
    const members = [...(await (await portOf(w, 0)).committee(1)).members.keys()];
    const me = members.findIndex((m) => m !== aggregatorFor(1, members)); // not the batch's maker
    const port = await portOf(w, me);
    const own: string[] = [];
    const commitOwn = port.commitOwn.bind(port);
    port.commitOwn = async (epoch, c) => (own.push(c), commitOwn(epoch, c));
    const sent: ReportGossip[] = [];
    const lines: string[] = [];
    const reports = new EpochReports(port, { say: (l) => lines.push(l), publish: async (g) => void sent.push(g) });
    await reports.report(1, 0.1, audited);
    const signed = sent.find((g) => g.kind === "commitment")!;
    assert.ok(signed !== undefined, "no signed commitment gossiped");

    // another member's batch puts it on chain, at the head
    const before = await helpers.takeSnapshot();
    await commitReports(as(w, w.verifiers[(me + 1) % 3]), 1, [{ verifier: signed.verifier, commitment: signed.commitment, sig: signed.sig }]);
    for (let on = 0; on < N; on++) {
      await reports.report(1, 0.4, audited);
      assert.equal(reports.stats.commits, 0, `counted as committed with ${on} block(s) on top`);
      assert.deepEqual(own, [], "committed again while the batch's commitment waited for its confirmations");
      if (on < N - 1) await helpers.mine(1);
    }

    // a reorg drops the batch before it had N blocks on top (a shallow one: nothing confirmed is lost)
    await before.restore();
    await helpers.mine(N + 1);
    await reports.report(1, 0.4, audited);
    assert.deepEqual(own, [signed.commitment], "the verifier did not commit by its own transaction");
    assert.equal(Number(await w.ledger.reportState(1, signed.verifier)), 1);
    assert.match(lines.join("\n"), /committed by our own transaction/);
    await reports.report(1, 0.41, audited);
    assert.equal(own.length, 1, "committed twice");
    assert.equal(reports.stats.commits, 0);
    await helpers.mine(N);
    await reports.report(1, 0.42, audited);
    assert.equal(reports.stats.commits, 1, "not counted once confirmed");
    assert.equal(port.reorgs, 0);
  });
});
