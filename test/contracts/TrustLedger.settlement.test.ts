// Epoch settlement: quorum checks, the attacks on signatures (replay across epochs,
// chain ids and deployments; duplicate, unsorted and non-verifier signers), Eq. 3 and
// Eq. 4 against hand-computed numbers, slashing, verifier strikes.
import { before, beforeEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import { parseEther } from "ethers";
import type { Contract, Signer } from "ethers";
import { ledgerDomain, signAttestation, toReports } from "../../node/chain/attestation.ts";
import { expectRevert } from "../helpers/revert.ts";
import {
  connect,
  defaultParams,
  deployWorld,
  goToEpoch,
  registerServer,
  registerVerifiers,
  settle,
  sign,
  type World,
} from "../helpers/ledger.ts";

const E18 = 10n ** 18n;

describe("TrustLedger settlement", () => {
  let ethers: World["ethers"];
  let helpers: World["helpers"];
  let w: World;
  let s0: string;

  async function twoServers() {
    const world = await deployWorld(ethers, helpers);
    await registerServer(world, 0, 0, 3);
    await registerServer(world, 1, 3, 5);
    await registerVerifiers(world);
    await goToEpoch(world, 1);
    return world;
  }

  before(async () => {
    ({ ethers, helpers } = await connect());
  });
  beforeEach(async () => {
    w = await helpers.loadFixture(twoServers);
    s0 = await w.servers[0].getAddress();
  });

  it("settles an honest epoch: S_i = acc (size-neutral), event, trust stored", async () => {
    const tx = await settle(w, 0, w.servers[0], [10000, 9900, 9800]);
    const logs = (await tx.wait()).logs.map((l: never) => w.ledger.interface.parseLog(l)).filter(Boolean);
    const ev = logs.find((e: { name: string }) => e.name === "EpochSettled");
    assert.equal(ev.args.epoch, 0n);
    assert.equal(ev.args.accBps, 9900n);
    assert.equal(ev.args.trust, parseEther("0.99"));
    assert.equal(ev.args.tokensServed, 1000n);
    assert.equal(ev.args.active, true);
    const s = await w.ledger.getServer(s0);
    assert.equal(s.trust, parseEther("0.99"));
    assert.equal(s.lastSettledEpoch, 0n);
  });

  it("needs at least q reports", async () => {
    await expectRevert(settle(w, 0, w.servers[0], [10000, 10000]), w.ledger.interface, "TrustLedgerQuorumNotReached", [2n, 3n]);
  });

  it("rejects a duplicate signer", async () => {
    const atts = await sign(w, [w.verifiers[0], w.verifiers[1], w.verifiers[1]], 0, s0, [10000, 10000, 10000]);
    const reports = toReports(atts);
    const dup = await w.verifiers[1].getAddress();
    await expectRevert(w.ledger.submitEpoch(0, s0, reports), w.ledger.interface, "TrustLedgerDuplicateSigner", [dup]);
  });

  it("rejects signers out of order", async () => {
    const atts = await sign(w, w.verifiers.slice(0, 3), 0, s0, [10000, 10000, 10000]);
    const reports = toReports(atts).reverse();
    await expectRevert(w.ledger.submitEpoch(0, s0, reports), w.ledger.interface, "TrustLedgerUnsortedSigners");
  });

  it("a report from a non-verifier does not count toward the quorum", async () => {
    const atts = await sign(w, [w.verifiers[0], w.verifiers[1], w.outsider], 0, s0, [10000, 10000, 10000]);
    await expectRevert(w.ledger.submitEpoch(0, s0, toReports(atts)), w.ledger.interface, "TrustLedgerQuorumNotReached", [2n, 3n]);
    // with a third real verifier the outsider's report is simply ignored
    const more = await sign(w, [w.verifiers[0], w.verifiers[1], w.verifiers[2], w.outsider], 0, s0, [10000, 10000, 9000, 0]);
    await w.ledger.submitEpoch(0, s0, toReports(more));
    assert.equal((await w.ledger.getServer(s0)).trust, parseEther("1")); // median of the three that count
  });

  it("a server signing for itself does not count (servers are not verifiers)", async () => {
    const atts = await sign(w, [w.verifiers[0], w.verifiers[1], w.servers[0]], 0, s0, [10000, 10000, 10000]);
    await expectRevert(w.ledger.submitEpoch(0, s0, toReports(atts)), w.ledger.interface, "TrustLedgerQuorumNotReached", [2n, 3n]);
  });

  it("a verifier whose stake is under the current minimum does not count", async () => {
    await w.ledger.setParams(defaultParams({ minVerifierStake: parseEther("60") }));
    const v0 = await w.verifiers[0].getAddress();
    await expectRevert(settle(w, 0, w.servers[0], [10000, 10000, 10000]), w.ledger.interface, "TrustLedgerQuorumNotReached", [0n, 3n]);
    await (w.ledger.connect(w.verifiers[0]) as Contract).addStake(parseEther("10"));
    assert.ok((await w.ledger.getVerifier(v0)).stake >= parseEther("60"));
  });

  it("a verifier slashed in the middle of a batch stops counting; the batch still settles", async () => {
    await w.ledger.setParams(defaultParams({ strikeLimit: 1 }));
    const liar = w.verifiers[0];
    const s1 = await w.servers[1].getAddress();
    const four = w.verifiers.slice(0, 4);
    const r0 = toReports(await sign(w, four, 0, s0, [0, 10000, 10000, 10000]));
    const r1 = toReports(await sign(w, four, 0, s1, [0, 10000, 10000, 10000]));
    const tx = await w.ledger.submitEpochs(0, [s0, s1], [r0, r1]);
    const names = (await tx.wait()).logs.map((l: never) => w.ledger.interface.parseLog(l)?.name);
    assert.equal(names.filter((n: string) => n === "VerifierSlashed").length, 1); // struck and slashed at s0, not counted at s1
    assert.equal((await w.ledger.getVerifier(await liar.getAddress())).stake, parseEther("25"));
    assert.equal((await w.ledger.getServer(s1)).trust, parseEther("1"));
  });

  it("rejects a malformed signature and an accuracy above 100%", async () => {
    const reports = toReports(await sign(w, w.verifiers.slice(0, 3), 0, s0, [10000, 10000, 10000]));
    const zero = "0x" + "00".repeat(32);
    const broken = reports.map((r, i) => (i === 0 ? { ...r, r: zero, vs: zero } : r));
    await expectRevert(w.ledger.submitEpoch(0, s0, broken), w.ledger.interface, "ECDSAInvalidSignature");
    // a high-s (malleable) signature is refused too
    const highS = reports.map((r, i) => (i === 0 ? { ...r, vs: "0x" + "7f" + "ff".repeat(31) } : r));
    await expectRevert(w.ledger.submitEpoch(0, s0, highS), w.ledger.interface, "ECDSAInvalidSignatureS");
    const over = toReports(await sign(w, w.verifiers.slice(0, 3), 0, s0, [10001, 10000, 10000]));
    await expectRevert(w.ledger.submitEpoch(0, s0, over), w.ledger.interface, "TrustLedgerInvalidAccuracy", [10001n]);
  });

  it("replay across epochs: epoch 0's signatures do not settle epoch 1", async () => {
    const reports = toReports(await sign(w, w.verifiers.slice(0, 3), 0, s0, [10000, 10000, 10000]));
    await w.ledger.submitEpoch(0, s0, reports);
    await expectRevert(w.ledger.submitEpoch(0, s0, reports), w.ledger.interface, "TrustLedgerAlreadySettled", [s0, 0n]);
    await goToEpoch(w, 2);
    // signatures over epoch 0 recover to unrelated addresses when presented for epoch 1: none count
    await expectRevert(w.ledger.submitEpoch(1, s0, reports), w.ledger.interface, "TrustLedgerQuorumNotReached", [0n, 3n]);
  });

  it("replay across chain ids: a signature for another chain does not verify", async () => {
    const foreign = ledgerDomain(w.chainId + 1n, w.ledger.target as string);
    const atts = await sign(w, w.verifiers.slice(0, 3), 0, s0, [10000, 10000, 10000], 1000n, foreign);
    await expectRevert(w.ledger.submitEpoch(0, s0, toReports(atts)), w.ledger.interface, "TrustLedgerQuorumNotReached", [0n, 3n]);
  });

  it("replay across deployments: a signature for another ledger does not verify", async () => {
    const other = await ethers.deployContract("TrustLedger", [w.token.target, w.admin, ethers.ZeroHash, 5, 100, defaultParams()]);
    const foreign = ledgerDomain(w.chainId, other.target as string);
    const atts = await sign(w, w.verifiers.slice(0, 3), 0, s0, [10000, 10000, 10000], 1000n, foreign);
    await expectRevert(w.ledger.submitEpoch(0, s0, toReports(atts)), w.ledger.interface, "TrustLedgerQuorumNotReached", [0n, 3n]);
  });

  it("the contract's digest equals the off-chain EIP-712 digest", async () => {
    const domain = ledgerDomain(w.chainId, w.ledger.target as string);
    const att = { epoch: 7n, server: s0, accBps: 9876, probes: 12, tokensServed: 3456n };
    const signed = await signAttestation(w.verifiers[0], domain, att);
    const digest = await w.ledger.attestationDigest(7, s0, 9876, 12, 3456);
    assert.equal(ethers.recoverAddress(digest, signed.signature), await w.verifiers[0].getAddress());
  });

  it("an epoch settles only during the next epoch", async () => {
    await expectRevert(settle(w, 1, w.servers[0], [10000, 10000, 10000]), w.ledger.interface, "TrustLedgerEpochNotEnded", [1n, 1n]);
    await goToEpoch(w, 3);
    await expectRevert(settle(w, 1, w.servers[0], [10000, 10000, 10000]), w.ledger.interface, "TrustLedgerSettlementClosed", [1n, 3n]);
    await assert.doesNotReject(settle(w, 2, w.servers[0], [10000, 10000, 10000]));
  });

  it("Eq. 3 with fixed weights: hand-computed S_i", async () => {
    // paper mode: w_i = 1 unless governance sets it; servers hold 3 and 2 layers, max(l) = 3
    await w.ledger.setParams(defaultParams({ sizeNeutralWeights: false, theta: 0n }));
    const s1 = await w.servers[1].getAddress();
    await w.ledger.setServerWeight(s1, parseEther("0.8"));
    await settle(w, 0, w.servers[0], [9500, 9500, 9500]);
    await settle(w, 0, w.servers[1], [9000, 9000, 9000]);
    // S_0 = 0.95 · 3/3 · 1 = 0.95
    assert.equal((await w.ledger.getServer(s0)).trust, parseEther("0.95"));
    // S_1 = 0.90 · 2/3 · 0.8 = 0.48
    assert.equal((await w.ledger.getServer(s1)).trust, parseEther("0.48"));
  });

  it("Eq. 3 rounds down in 1e18 fixed point", async () => {
    await w.ledger.setParams(defaultParams({ sizeNeutralWeights: false, theta: 0n }));
    const s1 = await w.servers[1].getAddress();
    await settle(w, 0, w.servers[1], [10000, 10000, 10000]);
    // 1.0 · 2/3 · 1 = 0.666…, floored
    assert.equal((await w.ledger.getServer(s1)).trust, (2n * E18) / 3n);
  });

  it("the paper's formula deactivates an honest small server; size-neutral weights do not", async () => {
    // paper mode, θ = 0.9: an honest server with 2 of max 3 layers scores 0.667 < θ
    await w.ledger.setParams(defaultParams({ sizeNeutralWeights: false }));
    const s1 = await w.servers[1].getAddress();
    await settle(w, 0, w.servers[1], [10000, 10000, 10000]);
    assert.equal((await w.ledger.getServer(s1)).status, 3n); // Deactivated
    // the default deployment (size-neutral weights): the same honest server keeps S = acc = 1
    const fresh = await helpers.loadFixture(twoServers);
    await settle(fresh, 0, fresh.servers[1], [10000, 10000, 10000]);
    const s = await fresh.ledger.getServer(s1);
    assert.equal(s.status, 1n);
    assert.equal(s.trust, E18);
  });

  it("Eq. 4: S = θ stays active, S just under θ is deactivated, slashed and uncovered", async () => {
    await settle(w, 0, w.servers[0], [9000, 9000, 9000]); // S = 0.90 = θ
    assert.equal((await w.ledger.getServer(s0)).status, 1n);
    await goToEpoch(w, 2);
    const poolBefore = await w.ledger.rewardPool();
    const tx = await settle(w, 1, w.servers[0], [8999, 8999, 8999]);
    const logs = (await tx.wait()).logs.map((l: never) => w.ledger.interface.parseLog(l)).filter(Boolean);
    const names = logs.map((e: { name: string }) => e.name);
    assert.ok(names.includes("LayersUncovered"));
    const deact = logs.find((e: { name: string }) => e.name === "ServerDeactivated");
    assert.equal(deact.args.trust, parseEther("0.8999"));
    assert.equal(deact.args.slashed, parseEther("50")); // 50% of 100
    const s = await w.ledger.getServer(s0);
    assert.equal(s.status, 3n);
    assert.equal(s.stake, parseEther("50"));
    // the pool gained the slash and lost three verifier fees of 1
    assert.equal(await w.ledger.rewardPool(), poolBefore + parseEther("50") - parseEther("3"));
    assert.deepEqual([...(await w.ledger.coverage())], [0n, 0n, 0n, 1n, 1n]);
    assert.equal(await w.ledger.maxActiveLayers(), 2n);
    // a deactivated server is settled no more, and cannot add stake to come back
    await goToEpoch(w, 3);
    await expectRevert(settle(w, 2, w.servers[0], [10000, 10000, 10000]), w.ledger.interface, "TrustLedgerServerNotSettleable", [s0, 3n]);
    await expectRevert((w.ledger.connect(w.servers[0]) as Contract).addStake(1), w.ledger.interface, "TrustLedgerNotActive");
  });

  it("the median holds against one lying verifier, who gets a strike and no fee", async () => {
    const liar = await w.verifiers[0].getAddress();
    const honest = await w.verifiers[1].getAddress();
    // verifier 0 claims the server is bad; the other two say it is fine
    await settle(w, 0, w.servers[0], [0, 10000, 9990]);
    assert.equal((await w.ledger.getServer(s0)).status, 1n);
    assert.equal((await w.ledger.getServer(s0)).trust, parseEther("0.999"));
    assert.equal((await w.ledger.getVerifier(liar)).strikes, 1n);
    assert.equal((await w.ledger.getVerifier(liar)).pendingRewards, 0n);
    assert.equal((await w.ledger.getVerifier(honest)).pendingRewards, parseEther("1"));
  });

  it("a verifier at the strike limit is slashed and its strikes reset", async () => {
    const liar = await w.verifiers[0].getAddress();
    for (let e = 0; e < 3; e++) {
      await goToEpoch(w, e + 1);
      await settle(w, e, w.servers[0], [0, 10000, 10000]);
    }
    const v = await w.ledger.getVerifier(liar);
    assert.equal(v.strikes, 0n);
    assert.equal(v.stake, parseEther("25"));
    // now under the minimum: its reports no longer count
    await goToEpoch(w, 4);
    await expectRevert(settle(w, 3, w.servers[0], [10000, 10000, 10000]), w.ledger.interface, "TrustLedgerQuorumNotReached", [2n, 3n]);
  });

  it("settles several servers in one transaction", async () => {
    const s1 = await w.servers[1].getAddress();
    const r0 = toReports(await sign(w, w.verifiers.slice(0, 3), 0, s0, [10000, 10000, 10000]));
    const r1 = toReports(await sign(w, w.verifiers.slice(0, 3), 0, s1, [9500, 9500, 9500]));
    await w.ledger.submitEpochs(0, [s0, s1], [r0, r1]);
    assert.equal((await w.ledger.getServer(s1)).trust, parseEther("0.95"));
    await expectRevert(w.ledger.submitEpochs(0, [s0, s1], [r0]), w.ledger.interface, "TrustLedgerLengthMismatch", [2n, 1n]);
  });

  it("an exiting server is still settled (and slashed) for the epoch it left in", async () => {
    const server = w.servers[0] as Signer;
    await (w.ledger.connect(server) as Contract).requestUnbond(parseEther("100"));
    const unbondEpoch = Number(await w.ledger.currentEpoch());
    await goToEpoch(w, unbondEpoch + 1);
    await settle(w, unbondEpoch, server, [0, 0, 0]);
    const s = await w.ledger.getServer(s0);
    assert.equal(s.status, 3n);
    assert.equal(s.unbonding, parseEther("50"));
    // nothing later than the exit epoch can be settled for it
    await goToEpoch(w, unbondEpoch + 2);
    await expectRevert(settle(w, unbondEpoch + 1, server, [10000, 10000, 10000]), w.ledger.interface, "TrustLedgerServerNotSettleable");
  });
});
