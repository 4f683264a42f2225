// Epoch settlement: commit-reveal reports of the committee, stake-weighted medians, the 2/3
// rule, skipping instead of reverting, Eq. 3 and 4 with per-epoch snapshots, and the attacks
// of issue 9 on settlement, each shown to fail.
import { before, beforeEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import { parseEther, ZeroHash } from "ethers";
import type { Contract } from "ethers";
import { commitReport, encodeResults, epochPhase, readCommittee, reportCommitment, settleEpoch } from "../../node/chain/settlement.ts";
import { settledOf } from "../../node/chain/settled.ts";
import { expectRevert } from "../helpers/revert.ts";
import {
  as,
  connect,
  defaultParams,
  deployWorld,
  EPOCH,
  goTo,
  goToCommit,
  goToReveal,
  goToSettle,
  parseLogs,
  registerServer,
  registerVerifiers,
  report,
  runEpoch,
  unanimous,
  type Reports,
  type World,
} from "../helpers/ledger.ts";

const zeros = (n: number) => Array<string>(n).fill(ZeroHash); // salts of reports revealed on chain

describe("TrustLedger settlement", () => {
  let ethers: World["ethers"];
  let helpers: World["helpers"];
  let w: World;
  let s0: string;
  let s1: string;

  async function twoServers() {
    const world = await deployWorld(ethers, helpers);
    await registerServer(world, 0, 0, 3);
    await registerServer(world, 1, 3, 5);
    await registerVerifiers(world);
    return world;
  }

  before(async () => {
    ({ ethers, helpers } = await connect());
  });
  beforeEach(async () => {
    w = await helpers.loadFixture(twoServers);
    s0 = await w.servers[0].getAddress();
    s1 = await w.servers[1].getAddress();
  });

  it("settles an honest epoch from every revealed report: S_i = acc, events, trust stored", async () => {
    const rc = await runEpoch(w, 1, unanimous(5, [s0, s1], 9900, 1000));
    const settled = settledOf(parseLogs(w, rc!));
    assert.equal(settled.length, 2);
    assert.deepEqual(settled[0], { epoch: 1, server: [s0, s1].sort((a, b) => (BigInt(a) < BigInt(b) ? -1 : 1))[0], accBps: 9900, trust: parseEther("0.99"), tokens: 1000, active: true });
    const s = await w.ledger.getServer(s0);
    assert.equal(s.trust, parseEther("0.99"));
    assert.equal(s.lastSettledEpoch, 1n);
    assert.equal(await w.ledger.settled(1, s0), true);
  });

  it("attack: two colluders among five verifiers cannot set an honest server's median (stake-weighted)", async () => {
    const reports: Reports = unanimous(5, [s0, s1]);
    reports.set(0, [{ server: s0, accBps: 0, tokens: 1000 }, { server: s1, accBps: 10_000, tokens: 1000 }]);
    reports.set(1, [{ server: s0, accBps: 0, tokens: 1000 }, { server: s1, accBps: 10_000, tokens: 1000 }]);
    await runEpoch(w, 1, reports);
    const s = await w.ledger.getServer(s0);
    assert.equal(s.trust, parseEther("1"));
    assert.equal(s.status, 1n); // still active, never slashed
    assert.equal(s.stake, parseEther("100"));
    // disagreeing with the median costs the outliers nothing
    assert.equal((await w.ledger.getVerifier(await w.verifiers[0].getAddress())).strikes, 0n);
  });

  it("the median is weighted by stake, not by head count", async () => {
    const world = await deployWorld(ethers, helpers, defaultParams(), { verifiers: 4 });
    await registerServer(world, 0, 0, 5);
    const a = await world.servers[0].getAddress();
    await as(world, world.verifiers[0]).registerVerifier(parseEther("200"), "0x01", []);
    for (const v of world.verifiers.slice(1)) await as(world, v).registerVerifier(parseEther("50"), "0x01", []);
    const reports: Reports = new Map();
    reports.set(0, [{ server: a, accBps: 10_000, tokens: 1000 }]);
    for (const v of [1, 2, 3]) reports.set(v, [{ server: a, accBps: 0, tokens: 1000 }]); // three light liars
    await runEpoch(world, 1, reports);
    assert.equal((await world.ledger.getServer(a)).trust, parseEther("1"));
  });

  it("attack: nobody can settle from a chosen subset of the revealed reports", async () => {
    const reports: Reports = unanimous(5, [s0]);
    reports.set(0, [{ server: s0, accBps: 0, tokens: 1000 }]);
    reports.set(1, [{ server: s0, accBps: 0, tokens: 1000 }]);
    await report(w, 1, reports);
    await goToSettle(w, 1);
    const sorted = [0, 1, 2].map((i) => w.verifiers[i]);
    const addrs = await Promise.all(sorted.map((v) => v.getAddress()));
    const order = addrs.map((a, i) => [a, i] as const).sort((a, b) => (BigInt(a[0]) < BigInt(b[0]) ? -1 : 1));
    const results = order.map(([, i]) => encodeResults(reports.get(i)!));
    const staked = parseEther("50") * 3n;
    await expectRevert(w.ledger.settleEpoch(1, [s0], order.map(([a]) => a), results, zeros(results.length)), w.ledger.interface, "TrustLedgerReportsIncomplete", [1n, staked, parseEther("250")]);
    // and a report cannot be swapped for another text than the one revealed
    const all = await Promise.all(w.verifiers.map((v) => v.getAddress()));
    const byAddr = all.map((a, i) => [a, i] as const).sort((a, b) => (BigInt(a[0]) < BigInt(b[0]) ? -1 : 1));
    const forged = byAddr.map(() => encodeResults([{ server: s0, accBps: 0, tokens: 1000 }]));
    await expectRevert(w.ledger.settleEpoch(1, [s0], byAddr.map(([a]) => a), forged, zeros(forged.length)), w.ledger.interface, "TrustLedgerReportMismatch");
  });

  it("settlement names the whole committee: a member that did not reveal brings an empty report; each revealed report's fee is credited once", async () => {
    const reports: Reports = unanimous(3, [s0]); // verifiers 3 and 4 do not report
    await report(w, 1, reports);
    await goToSettle(w, 1);
    const all = await Promise.all(w.verifiers.map((v) => v.getAddress()));
    const order = all.map((a, i) => [a, i] as const).sort((a, b) => (BigInt(a[0]) < BigInt(b[0]) ? -1 : 1));
    const text = (i: number) => (reports.has(i) ? encodeResults(reports.get(i)!) : "0x");
    const silent = order.find(([, i]) => !reports.has(i))!;
    // a text for a member that revealed nothing is refused
    const padded = order.map(([a, i]) => (a === silent[0] ? encodeResults(reports.get(0)!) : text(i)));
    await expectRevert(w.ledger.settleEpoch(1, [s0], order.map(([a]) => a), padded, zeros(padded.length)), w.ledger.interface, "TrustLedgerReportMismatch", [silent[0], 1n]);
    const pool = await w.ledger.rewardPool();
    await w.ledger.settleEpoch(1, [s0], order.map(([a]) => a), order.map(([, i]) => text(i)), zeros(order.length));
    for (const [a, i] of order) assert.equal((await w.ledger.getVerifier(a)).pendingRewards, reports.has(i) ? parseEther("1") : 0n);
    // a later batch of the same epoch pays no fee again
    await w.ledger.settleEpoch(1, [s1], order.map(([a]) => a), order.map(([, i]) => text(i)), zeros(order.length));
    assert.equal((await w.ledger.getVerifier(order.find(([, i]) => reports.has(i))![0])).pendingRewards, parseEther("1"));
    assert.ok((await w.ledger.rewardPool()) < pool);
  });

  it("attack: a report cannot be copied (commit-reveal: commits close before reveals open; a commitment binds its verifier)", async () => {
    const results = encodeResults([{ server: s0, accBps: 10_000, tokens: 1000 }]);
    await goToCommit(w, 1);
    const salt = await commitReport(as(w, w.verifiers[0]), 1, results);
    // verifier 1 copies verifier 0's commitment: revealing the same text and salt fails, as the commitment names the verifier
    const v0 = await w.verifiers[0].getAddress();
    await as(w, w.verifiers[1]).commitReport(1, reportCommitment(1, v0, results, salt));
    await goToReveal(w, 1);
    await as(w, w.verifiers[0]).revealReport(1, results, salt);
    await expectRevert(as(w, w.verifiers[1]).revealReport(1, results, salt), w.ledger.interface, "TrustLedgerCommitmentMismatch");
    // once reveals are public, nobody can commit any more
    await expectRevert(as(w, w.verifiers[2]).commitReport(1, reportCommitment(1, await w.verifiers[2].getAddress(), results, salt)), w.ledger.interface, "TrustLedgerOutsideWindow");
  });

  it("the committee of an epoch is fixed from stake at its start", async () => {
    // verifier 5 registers during epoch 1: it is not on epoch 1's committee
    const [late] = (await ethers.getSigners()).slice(-1);
    await w.token.transfer(await late.getAddress(), parseEther("1000"));
    await (w.token.connect(late) as Contract).approve(w.ledger.target, parseEther("1000"));
    await goToCommit(w, 0); // now in epoch 1
    await (w.ledger.connect(late) as Contract).registerVerifier(parseEther("500"), "0x01", []);
    assert.equal(await w.ledger.verifierStakeAt(await late.getAddress(), 1), 0n);
    assert.equal(await w.ledger.verifierStakeAt(await late.getAddress(), 2), parseEther("500"));
    assert.equal(await w.ledger.committeeStake(1), parseEther("250"));
    const c = await readCommittee(w.ledger, 1);
    assert.equal(c.members.length, 5);
    assert.equal(c.total, parseEther("250"));
    await goToCommit(w, 1);
    await expectRevert((w.ledger.connect(late) as Contract).commitReport(1, "0x" + "11".repeat(32)), w.ledger.interface, "TrustLedgerNotCommitteeMember", [await late.getAddress(), 1n]);
  });

  it("attack: a server registered after the epoch started is not settled for it; tokens are capped", async () => {
    await w.helpers.time.increaseTo(Number(await w.ledger.genesis()) + EPOCH + 10); // epoch 1 has begun
    await registerServer(w, 2, 0, 5);
    const sybil = await w.servers[2].getAddress();
    const reports: Reports = new Map();
    for (let v = 0; v < 5; v++) reports.set(v, [s0, sybil].map((server) => ({ server, accBps: 10_000, tokens: 0xffffffff })));
    const rc = await runEpoch(w, 1, reports);
    const logs = parseLogs(w, rc!);
    const skipped = logs.find((e) => e.name === "SettlementSkipped");
    assert.equal(skipped.args.server, sybil);
    assert.equal(skipped.args.reason, 1n);
    assert.equal(settledOf(logs)[0].tokens, 1_000_000); // maxTokensPerEpoch
  });

  it("a server needs reports carrying 2/3 of the committee stake, else it is skipped", async () => {
    const rc = await runEpoch(w, 1, unanimous(3, [s0])); // 3 of 5 equal stakes: 60%
    const skipped = parseLogs(w, rc!).find((e) => e.name === "SettlementSkipped");
    assert.equal(skipped.args.reason, 3n);
    assert.equal(await w.ledger.settled(1, s0), false);
  });

  it("attack: front-running one server does not make the batch revert (settled servers are skipped)", async () => {
    const reports = unanimous(5, [s0, s1]);
    await report(w, 1, reports);
    await goToSettle(w, 1);
    const all = await Promise.all(w.verifiers.map((v) => v.getAddress()));
    const order = all.map((a, i) => [a, i] as const).sort((a, b) => (BigInt(a[0]) < BigInt(b[0]) ? -1 : 1));
    const results = order.map(([, i]) => encodeResults(reports.get(i)!));
    const [first, second] = [s0, s1].sort((a, b) => (BigInt(a) < BigInt(b) ? -1 : 1));
    await w.ledger.settleEpoch(1, [first], order.map(([a]) => a), results, zeros(results.length)); // the front-runner
    const rc = await (await w.ledger.settleEpoch(1, [first, second], order.map(([a]) => a), results, zeros(results.length))).wait();
    const logs = parseLogs(w, rc);
    assert.equal(logs.find((e) => e.name === "SettlementSkipped").args.reason, 2n);
    assert.deepEqual(settledOf(logs).map((x) => x.server), [second]);
    assert.equal(await settleEpoch(w.ledger, 1), undefined); // nothing left
  });

  it("settlement happens in epoch e+2 only", async () => {
    await report(w, 1, unanimous(5, [s0]));
    await expectRevert(w.ledger.settleEpoch(1, [], [], [], []), w.ledger.interface, "TrustLedgerOutsideWindow");
    await goToSettle(w, 2); // epoch 4
    await expectRevert(w.ledger.settleEpoch(1, [], [], [], []), w.ledger.interface, "TrustLedgerOutsideWindow");
  });

  it("S_i < θ deactivates (off routes, layers uncovered) but never slashes", async () => {
    const rc = await runEpoch(w, 1, unanimous(5, [s0], 5000));
    const logs = parseLogs(w, rc!);
    assert.ok(logs.some((e) => e.name === "ServerDeactivated"));
    assert.ok(logs.some((e) => e.name === "LayersUncovered"));
    const s = await w.ledger.getServer(s0);
    assert.equal(s.status, 3n);
    assert.equal(s.stake, parseEther("100"));
    assert.equal(await w.ledger.activeServerCount(), 1n);
    assert.deepEqual([...(await w.ledger.coverage())], [0n, 0n, 0n, 1n, 1n]);
  });

  it("attack: updateLayers(0, L) front-run during settlement cannot change the victim's max(l) or range", async () => {
    const world = await deployWorld(ethers, helpers, defaultParams({ sizeNeutralWeights: false, theta: parseEther("0.5") }));
    await registerServer(world, 0, 0, 2);
    await registerServer(world, 1, 2, 4);
    await registerVerifiers(world);
    const [a, b] = await Promise.all([world.servers[0].getAddress(), world.servers[1].getAddress()]);
    await report(world, 1, unanimous(5, [a]));
    await goToSettle(world, 1);
    await as(world, world.servers[1]).updateLayers(0, 5); // max(l) becomes 5 from the next epoch
    assert.equal(await world.ledger.maxLayersAt(1), 2n);
    assert.deepEqual([...(await world.ledger.rangeAt(b, 3))].map(Number), [2, 4]);
    assert.deepEqual([...(await world.ledger.rangeAt(b, 4))].map(Number), [0, 5]);
    await settleEpoch(world.ledger, 1);
    const s = await world.ledger.getServer(a);
    assert.equal(s.trust, parseEther("1")); // 1 · 2/2, not 1 · 2/5 = 0.4 < θ
    assert.equal(s.status, 1n);
  });

  it("rewards: shared ∝ S_i × tokens, credited after the window closes, claimable", async () => {
    const reports: Reports = new Map();
    for (let v = 0; v < 5; v++) reports.set(v, [{ server: s0, accBps: 10_000, tokens: 3000 }, { server: s1, accBps: 10_000, tokens: 1000 }]);
    await runEpoch(w, 1, reports);
    assert.equal((await w.ledger.getServer(s0)).pendingRewards, 0n); // window still open
    await goToSettle(w, 2); // epoch 4: epoch 1 is final
    assert.equal((await w.ledger.getServer(s0)).pendingRewards, parseEther("750"));
    assert.equal((await w.ledger.getServer(s1)).pendingRewards, parseEther("250"));
    const before = await w.token.balanceOf(s0);
    await as(w, w.servers[0]).claim();
    assert.equal((await w.token.balanceOf(s0)) - before, parseEther("750"));
  });

  it("attack: a low pool never makes settlement revert: pays what is there and emits the shortfall", async () => {
    const world = await deployWorld(ethers, helpers, defaultParams({ verifierFee: 0n }), { pool: parseEther("10") });
    await registerServer(world, 0, 0, 5);
    await registerVerifiers(world, 3);
    const a = await world.servers[0].getAddress();
    const rc = await runEpoch(world, 1, unanimous(3, [a]));
    const funded = parseLogs(world, rc!).find((e) => e.name === "EpochFunded");
    assert.equal(funded.args.budget, parseEther("10"));
    assert.equal(funded.args.shortfall, parseEther("990"));
    assert.equal(await world.ledger.rewardPool(), 0n);
    const rc2 = await runEpoch(world, 2, unanimous(3, [a])); // empty pool: still settles
    assert.equal(settledOf(parseLogs(world, rc2!)).length, 1);
  });

  it("verifiers that commit and do not reveal get a strike; strikes decay", async () => {
    const v4 = await w.verifiers[4].getAddress();
    await goToCommit(w, 1);
    await commitReport(as(w, w.verifiers[4]), 1, encodeResults([]));
    await goToSettle(w, 1); // it could still reveal on chain until the middle of epoch 3
    await expectRevert(w.ledger.penalizeUnrevealed(1, [v4]), w.ledger.interface, "TrustLedgerOutsideWindow");
    await goTo(w, 3, EPOCH / 2);
    await w.ledger.penalizeUnrevealed(1, [v4]);
    assert.equal((await w.ledger.getVerifier(v4)).strikes, 1n);
    await w.ledger.penalizeUnrevealed(1, [v4]); // once only
    assert.equal((await w.ledger.getVerifier(v4)).strikes, 1n);
    await goToSettle(w, 1 + 10); // strikeDecayEpochs later
    assert.equal((await w.ledger.getVerifier(v4)).strikes, 0n);
  });

  it("epochPhase says which window of which epoch the chain is in", () => {
    assert.deepEqual(epochPhase(1000 + 250, 1000, 100), { epoch: 2, window: "reveal", reportEpoch: 1, settleEpoch: 0, windowEndsAt: 1300 });
    assert.deepEqual(epochPhase(1000 + 10, 1000, 100), { epoch: 0, window: "commit", reportEpoch: -1, settleEpoch: -1, windowEndsAt: 1050 });
  });
});
