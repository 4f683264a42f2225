// The committee's reports the usual way: signed commitments in one batch anyone submits, and
// one settlement that carries (and so reveals) every report. Each attack is a test that
// fails to attack: an outsider choosing which reports count, replaying an old signature,
// a member withholding its reveal, a report left out then slipped back in.
import { before, beforeEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import { parseEther, ZeroHash } from "ethers";
import { encodeResults, readRevealed, ReportsMissingError, revealReport, settleEpoch, signCommitment, type ResultEntry } from "../../node/chain/settlement.ts";
import { settledOf } from "../../node/chain/settled.ts";
import { expectRevert } from "../helpers/revert.ts";
import {
  as,
  connect,
  deployWorld,
  domainOf,
  EPOCH,
  goTo,
  goToCommit,
  goToSettle,
  parseLogs,
  registerServer,
  registerVerifiers,
  type World,
} from "../helpers/ledger.ts";

const byAddr = (a: string, b: string) => (BigInt(a) < BigInt(b) ? -1 : 1);

describe("TrustLedger reports: one signed batch, revealed by the settlement", () => {
  let ethers: World["ethers"];
  let helpers: World["helpers"];
  let w: World;
  let s0: string;
  let members: string[]; // verifier addresses, increasing

  before(async () => {
    ({ ethers, helpers } = await connect());
  });

  beforeEach(async () => {
    w = await deployWorld(ethers, helpers);
    await registerServer(w, 0, 0, 5);
    await registerVerifiers(w); // five verifiers of 50 each
    s0 = await w.servers[0].getAddress();
    members = (await Promise.all(w.verifiers.map((v) => v.getAddress()))).sort(byAddr);
  });

  /** Each member (by address order) signs a report giving s0 `accs[i]`; the batch is submitted by an outsider. */
  async function commitAll(epoch: number, accs: number[]) {
    const signers = [...w.verifiers].sort((a, b) => byAddr((a as unknown as { address: string }).address, (b as unknown as { address: string }).address));
    const texts = accs.map((accBps) => encodeResults([{ server: s0, accBps, tokens: 1000 } satisfies ResultEntry]));
    const signed = await Promise.all(signers.map((v, i) => signCommitment(v, domainOf(w), epoch, texts[i])));
    await goToCommit(w, epoch);
    const rc = await (await as(w, w.outsider).commitReports(epoch, signed.map((s) => s.signed.verifier), signed.map((s) => s.signed.commitment), signed.map((s) => s.signed.sig))).wait();
    return { texts, salts: signed.map((s) => s.salt), signed, rc };
  }

  it("one batch commits the whole committee; one settlement reveals and counts every report and credits each fee once", async () => {
    const { texts, salts, rc } = await commitAll(1, [10_000, 10_000, 10_000, 10_000, 10_000]);
    assert.equal(parseLogs(w, rc).filter((e) => e.name === "ReportCommitted").length, 5);
    for (const m of members) assert.equal(await w.ledger.reportState(1, m), 1n);
    await goToSettle(w, 1);
    const settled = await (await as(w, w.outsider).settleEpoch(1, [s0], members, texts, salts)).wait();
    assert.equal(settledOf(parseLogs(w, settled))[0].trust, parseEther("1"));
    for (const m of members) {
      assert.equal(await w.ledger.reportState(1, m), 2n);
      assert.equal((await w.ledger.getVerifier(m)).pendingRewards, parseEther("1"));
    }
  });

  it("attack: an outsider cannot choose which reports count, nor swap a text or salt", async () => {
    // honest reports [10000, 10000, 10000, 6667, 6667]: the median is 10000
    const { texts, salts } = await commitAll(1, [10_000, 10_000, 10_000, 6_667, 6_667]);
    await goToSettle(w, 1);
    const subset = texts.map((t, i) => (i === 0 || i === 1 ? "0x" : t)); // leaves out two 10000s
    const subsetSalts = salts.map((x, i) => (i === 0 || i === 1 ? ZeroHash : x));
    await expectRevert(as(w, w.outsider).settleEpoch(1, [s0], members, subset, subsetSalts), w.ledger.interface, "TrustLedgerReportMismatch", [members[0], 1n]);
    // nor pass a report off as empty
    await expectRevert(as(w, w.outsider).settleEpoch(1, [s0], members, subset, salts), w.ledger.interface, "TrustLedgerCommitmentMismatch", [members[0], 1n]);
    const swapped = texts.map((t, i) => (i === 0 ? texts[3] : t));
    await expectRevert(as(w, w.outsider).settleEpoch(1, [s0], members, swapped, salts), w.ledger.interface, "TrustLedgerCommitmentMismatch", [members[0], 1n]);
    const badSalt = salts.map((s, i) => (i === 2 ? ZeroHash : s));
    await expectRevert(as(w, w.outsider).settleEpoch(1, [s0], members, texts, badSalt), w.ledger.interface, "TrustLedgerCommitmentMismatch", [members[2], 1n]);
    await as(w, w.outsider).settleEpoch(1, [s0], members, texts, salts);
    assert.equal((await w.ledger.getServer(s0)).trust, parseEther("1"));
  });

  it("attack: a replayed or forged signature cannot replace a commitment; a bad one does not sink the batch", async () => {
    const old = await signCommitment(w.verifiers[0], domainOf(w), 1, encodeResults([{ server: s0, accBps: 0, tokens: 1 }]));
    const current = await signCommitment(w.verifiers[0], domainOf(w), 1, encodeResults([{ server: s0, accBps: 10_000, tokens: 1 }]));
    const other = await signCommitment(w.verifiers[1], domainOf(w), 1, encodeResults([]));
    await goToCommit(w, 1);
    const v0 = current.signed.verifier;
    // a signature by another key for v0 is skipped, and the rest of the batch stands
    const rc1 = await (await as(w, w.outsider).commitReports(1, [v0, other.signed.verifier], [current.signed.commitment, other.signed.commitment], [other.signed.sig, other.signed.sig])).wait();
    assert.deepEqual(parseLogs(w, rc1).filter((e) => e.name === "ReportCommitted").map((e) => e.args.verifier), [other.signed.verifier]);
    await as(w, w.outsider).commitReports(1, [v0], [current.signed.commitment], [current.signed.sig]);
    const rc2 = await (await as(w, w.outsider).commitReports(1, [v0], [old.signed.commitment], [old.signed.sig])).wait(); // replay of an older signature
    assert.equal(parseLogs(w, rc2).filter((e) => e.name === "ReportCommitted").length, 0);
    await goTo(w, 2, EPOCH / 2);
    await revealReport(as(w, w.verifiers[0]), 1, encodeResults([{ server: s0, accBps: 10_000, tokens: 1 }]), current.salt); // the newer one stands
    await expectRevert(as(w, w.outsider).commitReports(2, [v0], [current.signed.commitment], [current.signed.sig]), w.ledger.interface, "TrustLedgerOutsideWindow");
  });

  it("attack: a member that withholds its reveal stalls nobody: left out in the second half of epoch e+2, it can no longer reveal and is struck", async () => {
    const { texts, salts } = await commitAll(1, [10_000, 10_000, 10_000, 10_000, 10_000]);
    const withheld = texts.map((t, i) => (i === 4 ? "0x" : t));
    const noSalt = salts.map((x, i) => (i === 4 ? ZeroHash : x)); // not given: empty and no salt
    await goToSettle(w, 1);
    await expectRevert(as(w, w.outsider).settleEpoch(1, [s0], members, withheld, noSalt), w.ledger.interface, "TrustLedgerReportMismatch", [members[4], 1n]);
    await goTo(w, 3, EPOCH / 2);
    const rc = await (await as(w, w.outsider).settleEpoch(1, [s0], members, withheld, noSalt)).wait();
    assert.equal(settledOf(parseLogs(w, rc))[0].trust, parseEther("1"));
    assert.equal(await w.ledger.reportState(1, members[4]), 1n); // committed, never revealed
    const late = w.verifiers.find((v) => (v as unknown as { address: string }).address === members[4])!;
    await expectRevert(revealReport(as(w, late), 1, texts[4], salts[4]), w.ledger.interface, "TrustLedgerOutsideWindow"); // too late to reveal
    await w.ledger.penalizeUnrevealed(1, [members[4]]);
    assert.equal((await w.ledger.getVerifier(members[4])).strikes, 1n);
    assert.equal((await w.ledger.getVerifier(members[4])).pendingRewards, 0n);
  });

  it("the node's settleEpoch sends nothing while a committed report is missing in the first half of e+2, then leaves it out", async () => {
    const { texts, salts } = await commitAll(1, [10_000, 10_000, 10_000, 10_000, 10_000]);
    const reveals = new Map(members.slice(0, 4).map((m, i) => [m, { results: texts[i], salt: salts[i] }]));
    await goToSettle(w, 1);
    const settler = as(w, w.outsider);
    const nonce = await w.outsider.getNonce();
    const err = await settleEpoch(settler, 1, { reveals }).then(() => undefined, (e: unknown) => e);
    assert.ok(err instanceof ReportsMissingError, String(err));
    assert.deepEqual(err.members, [members[4]]);
    assert.equal(await w.outsider.getNonce(), nonce, "a transaction was sent");
    await goTo(w, 3, EPOCH / 2);
    const rc = (await settleEpoch(settler, 1, { reveals }))!;
    assert.equal(settledOf(parseLogs(w, rc))[0].trust, parseEther("1"));
    assert.equal(await w.ledger.reportState(1, members[4]), 1n); // left out, still only committed
  });

  it("attack: once a report is left out it cannot be slipped into a later batch of the same epoch", async () => {
    await registerServer(w, 1, 0, 5);
    const s1 = await w.servers[1].getAddress();
    const signers = [...w.verifiers].sort((a, b) => byAddr((a as unknown as { address: string }).address, (b as unknown as { address: string }).address));
    const texts = members.map((_, i) => encodeResults([{ server: s0, accBps: i === 4 ? 0 : 10_000, tokens: 1000 }, { server: s1, accBps: i === 4 ? 0 : 10_000, tokens: 1000 }]));
    const signed = await Promise.all(signers.map((v, i) => signCommitment(v, domainOf(w), 2, texts[i])));
    await goToCommit(w, 2);
    await as(w, w.outsider).commitReports(2, signed.map((s) => s.signed.verifier), signed.map((s) => s.signed.commitment), signed.map((s) => s.signed.sig));
    await goTo(w, 4, EPOCH / 2);
    const salts = signed.map((s) => s.salt);
    const [first] = [s0, s1].sort(byAddr);
    await as(w, w.outsider).settleEpoch(2, [first], members, texts.map((t, i) => (i === 4 ? "0x" : t)), salts.map((x, i) => (i === 4 ? ZeroHash : x)));
    await expectRevert(as(w, w.outsider).settleEpoch(2, [s0, s1].sort(byAddr), members, texts, salts), w.ledger.interface, "TrustLedgerReportMismatch", [members[4], 2n]);
  });

  it("an empty report given with its salt is revealed, not left out, and earns no fee", async () => {
    const signers = [...w.verifiers].sort((a, b) => byAddr((a as unknown as { address: string }).address, (b as unknown as { address: string }).address));
    const texts = members.map((_, i) => (i === 0 ? "0x" : encodeResults([{ server: s0, accBps: 10_000, tokens: 1000 }])));
    const signed = await Promise.all(signers.map((v, i) => signCommitment(v, domainOf(w), 1, texts[i])));
    await goToCommit(w, 1);
    await as(w, w.outsider).commitReports(1, signed.map((s) => s.signed.verifier), signed.map((s) => s.signed.commitment), signed.map((s) => s.signed.sig));
    await goToSettle(w, 1);
    await as(w, w.outsider).settleEpoch(1, [s0], members, texts, signed.map((s) => s.salt));
    assert.equal(await w.ledger.reportState(1, members[0]), 2n);
    assert.equal((await w.ledger.getVerifier(members[0])).pendingRewards, 0n);
    assert.equal((await w.ledger.getVerifier(members[1])).pendingRewards, parseEther("1"));
    await goTo(w, 3, EPOCH / 2);
    await w.ledger.penalizeUnrevealed(1, [members[0]]);
    assert.equal((await w.ledger.getVerifier(members[0])).strikes, 0n);
  });

  it("the node's settleEpoch reveals off-chain reports it holds and reads back those an earlier batch carried", async () => {
    const { texts, salts } = await commitAll(1, [10_000, 10_000, 10_000, 10_000, 10_000]);
    await goToSettle(w, 1);
    const reveals = new Map(members.map((m, i) => [m, { results: texts[i], salt: salts[i] }]));
    reveals.set(members[0], { results: texts[0], salt: ZeroHash }); // a bad reveal is dropped, not sent: it would revert the batch
    const nonce = await w.outsider.getNonce();
    const err = await settleEpoch(as(w, w.outsider), 1, { reveals }).then(() => undefined, (e: unknown) => e);
    assert.ok(err instanceof ReportsMissingError && err.members[0] === members[0], String(err)); // and, its report missing, nothing is sent
    assert.equal(await w.outsider.getNonce(), nonce);
    reveals.set(members[0], { results: texts[0], salt: salts[0] });
    const rc = await settleEpoch(as(w, w.outsider), 1, { reveals });
    assert.equal(settledOf(parseLogs(w, rc!)).length, 1);
    // the reports are read back from the settlement's own input: nothing is left to settle
    assert.deepEqual((await readRevealed(w.ledger, 1)).map((r) => r.results), members.map((_, i) => texts[i]));
    assert.equal(await settleEpoch(as(w, w.outsider), 1), undefined);
  });

  it("a report mentions only the servers it lists: entries of a server the batch does not settle, left below another, are not that server's", async () => {
    await registerServer(w, 1, 0, 5);
    const [lo, hi] = [s0, await w.servers[1].getAddress()].sort(byAddr);
    const entry = (server: string, accBps: number) => server.slice(2).toLowerCase() + accBps.toString(16).padStart(4, "0") + (1000).toString(16).padStart(8, "0");
    // two members (100 of 250) give hi 0; the other three audited lo only, and found it bad
    const texts = ["0x" + entry(lo, 0) + entry(hi, 0), "0x" + entry(lo, 0) + entry(hi, 0), "0x" + entry(lo, 0), "0x" + entry(lo, 0), "0x" + entry(lo, 0)];
    const signers = [...w.verifiers].sort((a, b) => byAddr((a as unknown as { address: string }).address, (b as unknown as { address: string }).address));
    const signed = await Promise.all(signers.map((v, i) => signCommitment(v, domainOf(w), 1, texts[i])));
    await goToCommit(w, 1);
    await (await as(w, w.outsider).commitReports(1, signed.map((s) => s.signed.verifier), signed.map((s) => s.signed.commitment), signed.map((s) => s.signed.sig))).wait();
    await goToSettle(w, 1);
    // a batch that settles hi alone (lo settled by another, or left for later): the three
    // reports that end on lo do not mention hi, so hi is reported by 2/5 of the stake: skipped
    const rc = await (await as(w, w.outsider).settleEpoch(1, [hi], members, texts, signed.map((s) => s.salt))).wait();
    assert.deepEqual(settledOf(parseLogs(w, rc)), []);
    const skipped = parseLogs(w, rc).filter((e) => e.name === "SettlementSkipped");
    assert.deepEqual(skipped.map((e) => [e.args.server, Number(e.args.reason)]), [[hi, 3]]);
    assert.equal(Number((await w.ledger.getServer(hi)).status), 1, "an honest server deactivated by another server's entries");
  });

  it("attack: a report out of order, or claiming accuracy over 100%, gains nothing", async () => {
    await registerServer(w, 1, 0, 5);
    const [lo, hi] = [s0, await w.servers[1].getAddress()].sort(byAddr);
    const entry = (server: string, accBps: number) => server.slice(2).toLowerCase() + accBps.toString(16).padStart(4, "0") + (1000).toString(16).padStart(8, "0");
    // member 0 lists hi before lo (its lo entry is passed by); members 0-2 claim 655.35% for hi
    const texts = [
      "0x" + entry(hi, 0xffff) + entry(lo, 10_000),
      "0x" + entry(lo, 2000) + entry(hi, 0xffff),
      "0x" + entry(lo, 4000) + entry(hi, 0xffff),
      "0x" + entry(lo, 6000) + entry(hi, 9000),
      "0x" + entry(lo, 8000) + entry(hi, 9000),
    ];
    const signers = [...w.verifiers].sort((a, b) => byAddr((a as unknown as { address: string }).address, (b as unknown as { address: string }).address));
    const signed = await Promise.all(signers.map((v, i) => signCommitment(v, domainOf(w), 1, texts[i])));
    await goToCommit(w, 1);
    await (await as(w, w.outsider).commitReports(1, signed.map((s) => s.signed.verifier), signed.map((s) => s.signed.commitment), signed.map((s) => s.signed.sig))).wait();
    await goToSettle(w, 1);
    const rc = await (await as(w, w.outsider).settleEpoch(1, [lo, hi], members, texts, signed.map((s) => s.salt))).wait();
    const [a, b] = settledOf(parseLogs(w, rc));
    // lo from the four ordered reports only: lower median of 20/40/60/80% (with the misordered 100%: 60%)
    assert.deepEqual([a.server, a.accBps], [lo, 4000]);
    // hi: the median 655.35% counts as 100%, and S_i stays ≤ 1
    assert.deepEqual([b.server, b.accBps, b.trust], [hi, 10_000, parseEther("1")]);
    assert.equal((await w.ledger.getServer(hi)).trust, parseEther("1"));
  });
});
