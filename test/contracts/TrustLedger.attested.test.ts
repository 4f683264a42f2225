// The cheap settlement: the committee signs the medians it computed from every committed
// report, and the ledger checks ≥ 2/3 of the stake on that one digest. Each attack is a test
// that fails to attack: a colluding third signing false medians, an outsider picking medians
// or reports, a replayed signature, a signature under another key, a missing commitment,
// the second half of e+2 (when reports may have been left out).
import { before, beforeEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import { keccak256, parseEther, ZeroHash, type Signer } from "ethers";
import { encodeResults, settleEpoch, signCommitment, type ResultEntry } from "../../node/chain/settlement.ts";
import { attestationDigest, prepareAttestation, settleAttested, signAttestation, type Attestation } from "../../node/chain/attested.ts";
import { settledOf } from "../../node/chain/settled.ts";
import { expectRevert } from "../helpers/revert.ts";
import { as, connect, deployWorld, domainOf, EPOCH, goTo, goToCommit, goToSettle, parseLogs, registerServer, registerVerifiers, type World } from "../helpers/ledger.ts";

const byAddr = (a: string, b: string) => (BigInt(a) < BigInt(b) ? -1 : 1);
const addressOf = (s: Signer) => (s as unknown as { address: string }).address;

describe("TrustLedger settleAttested: the committee's signed medians", () => {
  let ethers: World["ethers"];
  let helpers: World["helpers"];
  let w: World;
  let servers: string[]; // increasing
  let signers: Signer[]; // verifiers, by address
  let members: string[];

  before(async () => {
    ({ ethers, helpers } = await connect());
  });

  beforeEach(async () => {
    w = await deployWorld(ethers, helpers);
    for (const i of [0, 1, 2]) await registerServer(w, i, 0, 5);
    await registerVerifiers(w); // five verifiers of 50 each
    servers = (await Promise.all(w.servers.slice(0, 3).map((s) => s.getAddress()))).sort(byAddr);
    signers = [...w.verifiers].sort((a, b) => byAddr(addressOf(a), addressOf(b)));
    members = signers.map(addressOf);
  });

  /** Member i reports `rows[i]` (undefined: commits nothing); all commit in one batch. */
  async function commitAll(epoch: number, rows: (ResultEntry[] | undefined)[]) {
    const texts = rows.map((r) => (r === undefined ? undefined : encodeResults(r)));
    const signed = await Promise.all(texts.map((t, i) => (t === undefined ? undefined : signCommitment(signers[i], domainOf(w), epoch, t))));
    const present = signed.filter((s) => s !== undefined);
    await goToCommit(w, epoch);
    await (await as(w, w.outsider).commitReports(epoch, present.map((s) => s.signed.verifier), present.map((s) => s.signed.commitment), present.map((s) => s.signed.sig))).wait();
    const reveals = new Map<string, { results: string; salt: string }>();
    texts.forEach((t, i) => t !== undefined && reveals.set(members[i].toLowerCase(), { results: t, salt: signed[i]!.salt }));
    return { texts, salts: signed.map((s) => s?.salt ?? ZeroHash), reveals };
  }

  async function sign(a: Attestation, who: number[]): Promise<Map<string, string>> {
    const d = attestationDigest(a);
    return new Map(await Promise.all(who.map(async (i) => [members[i].toLowerCase(), await signAttestation(signers[i], domainOf(w), a.epoch, d)] as [string, string])));
  }

  // reports that disagree: medians decide, one server is reported by too little stake, one member committed nothing
  const rows = () => [
    [{ server: servers[0], accBps: 10_000, tokens: 900 }, { server: servers[1], accBps: 2_000, tokens: 50 }],
    [{ server: servers[0], accBps: 9_000, tokens: 1000 }, { server: servers[1], accBps: 3_000, tokens: 70 }, { server: servers[2], accBps: 10_000, tokens: 5 }],
    [{ server: servers[0], accBps: 4_000, tokens: 1100 }, { server: servers[1], accBps: 10_000, tokens: 60 }],
    [{ server: servers[0], accBps: 9_500, tokens: 1000 }, { server: servers[1], accBps: 2_500, tokens: 65 }],
    undefined,
  ];

  it("settles exactly as settleEpoch would from the same reports: records, trust, rewards, fees and report states, over epochs", async () => {
    const state = async (epoch: number) => ({
      servers: await Promise.all(servers.map(async (s) => { const v = await w.ledger.getServer(s); return [v.trust, v.status, v.lastSettledEpoch, v.pendingRewards]; })),
      verifiers: await Promise.all(members.map(async (m) => [(await w.ledger.getVerifier(m)).pendingRewards, await w.ledger.reportState(epoch, m)])),
      pool: await w.ledger.rewardPool(),
    });
    // epoch 1: a server staying active (the fast path), one deactivated and one under 2/3 (the
    // general path); epoch 2: the active one is credited its epoch-1 reward (the fast path's book read)
    for (const epoch of [1, 2]) {
      const { texts, salts, reveals } = await commitAll(epoch, epoch === 1 ? rows() : rows().map((r) => r?.filter((e) => e.server === servers[0])));
      await goToSettle(w, epoch);
      const snapshot = await helpers.takeSnapshot();
      const rc1 = await (await as(w, w.outsider).settleEpoch(epoch, servers, members, texts.map((t) => t ?? "0x"), salts)).wait();
      const viaReports = settledOf(parseLogs(w, rc1));
      const before = await state(epoch);
      await snapshot.restore();
      const a = (await prepareAttestation(as(w, w.outsider), epoch, reveals))!;
      if (epoch === 1) assert.equal(a.medians.length, 2 + 2 * 26 * 2, "servers[2] is reported by 50 of 250: not in the medians");
      const rc2 = await settleAttested(as(w, w.outsider), a, await sign(a, [0, 1, 2, 4]));
      assert.deepEqual(settledOf(parseLogs(w, rc2)), viaReports);
      assert.deepEqual(viaReports.map((s) => [s.accBps, s.active]), epoch === 1 ? [[9_000, true], [2_500, false]] : [[9_000, true]]); // lower stake-weighted medians
      assert.deepEqual(await state(epoch), before);
      if (epoch === 2) assert.ok((await w.ledger.getServer(servers[0])).pendingRewards > 0n);
      // a second attested settlement settles nothing twice, and the node's settleEpoch knows it
      const again = await settleAttested(as(w, w.outsider), a, await sign(a, [0, 1, 2, 4]));
      assert.deepEqual(settledOf(parseLogs(w, again)), []);
      assert.equal(await settleEpoch(as(w, w.outsider), epoch, { reveals }), undefined);
    }
    await goTo(w, 5);
    const claimed = await w.ledger.getServer(servers[0]);
    assert.ok(claimed.pendingRewards > 0n);
  });

  it("attack: a colluding third signs false medians; under 2/3 of the stake is refused, and a signature must be its member's", async () => {
    const { reveals } = await commitAll(1, rows());
    await goToSettle(w, 1);
    const honest = (await prepareAttestation(as(w, w.outsider), 1, reveals))!;
    // members 0 and 1 (100 of 250) sign medians that give servers[0] accuracy 0
    const lie = { ...honest, medians: "0x" + servers[0].slice(2).toLowerCase() + "0000" + "000003e8" };
    await expectRevert(settleAttested(as(w, w.outsider), lie, await sign(lie, [0, 1])), w.ledger.interface, "TrustLedgerInsufficientSignatures", [parseEther("100"), parseEther("250")]);
    // their signatures on the lie do not count toward the honest digest, nor honest ones toward the lie
    const mixed = new Map([...(await sign(lie, [0, 1])), ...(await sign(honest, [2, 3]))]);
    await expectRevert(settleAttested(as(w, w.outsider), honest, mixed), w.ledger.interface, "TrustLedgerBadSignature");
    await expectRevert(settleAttested(as(w, w.outsider), lie, mixed), w.ledger.interface, "TrustLedgerBadSignature");
    // an honest signature given for another member
    const swapped = await sign(honest, [2, 3, 4]);
    swapped.set(members[0].toLowerCase(), swapped.get(members[2].toLowerCase())!);
    await expectRevert(settleAttested(as(w, w.outsider), honest, swapped), w.ledger.interface, "TrustLedgerBadSignature");
    // honest signatures worth 150 of 250 (< 2/3)
    await expectRevert(settleAttested(as(w, w.outsider), honest, await sign(honest, [2, 3, 4])), w.ledger.interface, "TrustLedgerInsufficientSignatures", [parseEther("150"), parseEther("250")]);
    const rc = await settleAttested(as(w, w.outsider), honest, await sign(honest, [0, 2, 3, 4]));
    assert.equal(settledOf(parseLogs(w, rc))[0].accBps, 9_000);
  });

  it("attack: an outsider cannot drop, swap or invent a report, nor leave out a committee member", async () => {
    const { reveals } = await commitAll(1, rows());
    await goToSettle(w, 1);
    const a = (await prepareAttestation(as(w, w.outsider), 1, reveals))!;
    const sigs = await sign(a, [0, 1, 2, 3, 4]);
    const withMember = (i: number, m: Partial<Attestation["members"][number]>) => ({ ...a, members: a.members.map((x, j) => (j === i ? { ...x, ...m } : x)) });
    // a committed report passed off as none, or opened with another report's hash: the digest changes, and the commitment does not open
    await expectRevert(settleAttested(as(w, w.outsider), withMember(0, { resultsHash: ZeroHash }), sigs), w.ledger.interface, "TrustLedgerCommitmentMismatch", [members[0], 1n]);
    await expectRevert(settleAttested(as(w, w.outsider), withMember(0, { resultsHash: a.members[1].resultsHash }), sigs), w.ledger.interface, "TrustLedgerCommitmentMismatch", [members[0], 1n]);
    // a report for the member that committed none
    const invented = withMember(4, { resultsHash: keccak256("0x00") });
    await expectRevert(settleAttested(as(w, w.outsider), invented, await sign(invented, [0, 1, 2, 3, 4])), w.ledger.interface, "TrustLedgerReportMismatch", [members[4], 1n]);
    // the committee without one member
    const fewer = { ...a, members: a.members.slice(0, 4) };
    await expectRevert(settleAttested(as(w, w.outsider), fewer, await sign(fewer, [0, 1, 2, 3])), w.ledger.interface, "TrustLedgerReportsIncomplete");
    // medians out of order
    const entries = [a.medians.slice(2, 54), a.medians.slice(54)];
    const unsorted = { ...a, medians: "0x" + entries[1] + entries[0] };
    await expectRevert(settleAttested(as(w, w.outsider), unsorted, await sign(unsorted, [0, 1, 2, 3, 4])), w.ledger.interface, "TrustLedgerUnsorted");
  });

  it("attack: a signature is for one epoch and one ledger; and not once reports may have been left out (second half of e+2)", async () => {
    const one = await commitAll(1, rows());
    const a1 = await (async () => { await goToSettle(w, 1); return (await prepareAttestation(as(w, w.outsider), 1, one.reveals))!; })();
    const sigs1 = await sign(a1, [0, 1, 2, 3, 4]);
    // replayed for epoch 2 (same reports committed again)
    const two = await (async () => {
      const texts = one.texts;
      const signed = await Promise.all(texts.map((t, i) => (t === undefined ? undefined : signCommitment(signers[i], domainOf(w), 2, t))));
      const present = signed.filter((s) => s !== undefined);
      await goToCommit(w, 2);
      await (await as(w, w.outsider).commitReports(2, present.map((s) => s.signed.verifier), present.map((s) => s.signed.commitment), present.map((s) => s.signed.sig))).wait();
      return new Map(texts.flatMap((t, i) => (t === undefined ? [] : [[members[i].toLowerCase(), { results: t, salt: signed[i]!.salt }] as [string, { results: string; salt: string }]])));
    })();
    await goToSettle(w, 2);
    const a2 = (await prepareAttestation(as(w, w.outsider), 2, two))!;
    assert.equal(a2.medians, a1.medians);
    await expectRevert(settleAttested(as(w, w.outsider), a2, sigs1), w.ledger.interface, "TrustLedgerBadSignature");
    // epoch 1 is now in its second half of e+2... (epoch 3 started: epoch 1's window has closed)
    await expectRevert(settleAttested(as(w, w.outsider), a1, sigs1), w.ledger.interface, "TrustLedgerOutsideWindow");
    await goTo(w, 4, EPOCH / 2);
    await expectRevert(settleAttested(as(w, w.outsider), a2, await sign(a2, [0, 1, 2, 3, 4])), w.ledger.interface, "TrustLedgerOutsideWindow");
  });

  it("attack: nobody settles an epoch without a committee (no stake to sign: zero signatures are not 2/3 of zero)", async () => {
    const empty = await deployWorld(ethers, helpers);
    await registerServer(empty, 0, 0, 5);
    const server = await empty.servers[0].getAddress();
    await goTo(empty, 3);
    const medians = "0x" + server.slice(2).toLowerCase() + "0000" + "000003e8";
    await expectRevert(as(empty, empty.outsider).settleAttested(1, medians, []), empty.ledger.interface, "TrustLedgerInsufficientSignatures", [0n, 0n]);
    assert.equal((await empty.ledger.getServer(server)).lastSettledEpoch, 2n ** 64n - 1n); // never settled
  });

  it("a report revealed on chain counts by its hash; one an attested settlement revealed is not struck and earns its fee once", async () => {
    const { texts, salts, reveals } = await commitAll(1, rows());
    await goTo(w, 2, EPOCH / 2);
    await as(w, signers[1]).revealReport(1, texts[1]!, salts[1]);
    await goToSettle(w, 1);
    const a = (await prepareAttestation(as(w, w.outsider), 1, reveals))!;
    assert.equal(a.members[1].salt, ZeroHash); // revealed already: no salt needed
    await settleAttested(as(w, w.outsider), a, await sign(a, [0, 1, 2, 3]));
    for (const [i, m] of members.entries()) {
      assert.equal(await w.ledger.reportState(1, m), i === 4 ? 0n : 2n);
      assert.equal((await w.ledger.getVerifier(m)).pendingRewards, i === 4 ? 0n : parseEther("1"));
    }
    await goTo(w, 3, EPOCH / 2);
    await w.ledger.penalizeUnrevealed(1, members);
    for (const m of members) assert.equal((await w.ledger.getVerifier(m)).strikes, 0n);
  });
});
