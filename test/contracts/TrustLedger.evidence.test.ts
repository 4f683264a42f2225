// Slashing on evidence only: committee-signed evidence over a server-signed receipt opens a
// pending slash (server off routes, withdrawals blocked), refutable by a later committee
// (evidence signers struck), executable after the challenge window (stake and rewards to the
// treasury); equivocation is slashable by anyone from two receipts.
import { before, beforeEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import { hexlify, keccak256, parseEther, toUtf8Bytes, ZeroHash } from "ethers";
import type { Signer } from "ethers";
import type { Receipt } from "../../node/chain/domain.ts";
import { executeSlash, receiptHash, receiptSigningHash, refuteSlash, signEvidence, signReceipt, signRefutation, submitEvidence } from "../../node/chain/settlement.ts";
import { expectRevert } from "../helpers/revert.ts";
import {
  as,
  connect,
  deployWorld,
  domainOf,
  goToEpoch,
  goToSettle,
  peerKey,
  registerServer,
  registerVerifiers,
  runEpoch,
  unanimous,
  type World,
} from "../helpers/ledger.ts";

const h = (s: string) => keccak256(toUtf8Bytes(s));

function receipt(epoch: number, output = "out"): Receipt {
  return {
    session: h("session"),
    start: 0,
    end: 3,
    pos: 7,
    n: 1,
    epoch: BigInt(epoch),
    inputDigest: h("in"),
    outputDigest: h(output),
    commitDigest: h("commit " + output),
    prev: ZeroHash,
    upstream: ZeroHash,
  };
}

describe("TrustLedger evidence and slashing", () => {
  let ethers: World["ethers"];
  let helpers: World["helpers"];
  let w: World;
  let s0: string;
  const record = h("record");

  async function world() {
    const x = await deployWorld(ethers, helpers);
    await registerServer(x, 0, 0, 3);
    await registerServer(x, 1, 3, 5);
    await registerVerifiers(x);
    return x;
  }

  async function evidence(epoch: number, signers: Signer[], r = receipt(epoch)) {
    const sig = signReceipt(peerKey(0), domainOf(w), r);
    const sigs = await Promise.all(signers.map((v) => signEvidence(v, domainOf(w), { server: s0, receiptHash: receiptHash(r), recordHash: record })));
    return { r, sig, sigs };
  }

  before(async () => {
    ({ ethers, helpers } = await connect());
  });
  beforeEach(async () => {
    w = await helpers.loadFixture(world);
    s0 = await w.servers[0].getAddress();
  });

  it("receipt hashes and signing hashes match the ledger's", async () => {
    const r = receipt(1);
    assert.equal(await w.ledger.receiptHash(r), receiptHash(r));
    assert.equal(await w.ledger.receiptSigningHash(r), receiptSigningHash(domainOf(w), r));
  });

  it("evidence from 2/3 of the epoch's committee opens a pending slash: off routes at once, withdrawals blocked", async () => {
    await goToEpoch(w, 2);
    const { r, sig, sigs } = await evidence(1, w.verifiers.slice(0, 4));
    const id = await submitEvidence(w.ledger, r, sig, record, sigs);
    assert.equal(id, keccak256(ethers.AbiCoder.defaultAbiCoder().encode(["address", "bytes32"], [s0, receiptHash(r)])));
    const s = await w.ledger.getServer(s0);
    assert.equal(s.status, 3n);
    assert.equal(s.pendingSlash, 1n);
    assert.equal(await w.ledger.activeServerCount(), 1n);
    await expectRevert(submitEvidence(w.ledger, r, sig, record, sigs), w.ledger.interface, "TrustLedgerSlashExists", [id]);
  });

  it("several lies caught before the first slash executes cut the stake once", async () => {
    await goToEpoch(w, 2);
    const stake = (await w.ledger.getServer(s0)).stake;
    const first = await evidence(1, w.verifiers.slice(0, 4), receipt(1));
    const second = await evidence(1, w.verifiers.slice(0, 4), { ...receipt(1), pos: 8 });
    const a = await submitEvidence(w.ledger, first.r, first.sig, record, first.sigs);
    const b = await submitEvidence(w.ledger, second.r, second.sig, record, second.sigs);
    assert.notEqual(a, b);
    await goToEpoch(w, 10);
    await executeSlash(w.ledger, a);
    const once = (await w.ledger.getServer(s0)).stake;
    assert.ok(once < stake);
    await executeSlash(w.ledger, b);
    assert.equal((await w.ledger.getServer(s0)).stake, once, "slashed twice for one registration");
  });

  it("attack: unbonding does not escape a pending slash", async () => {
    await goToEpoch(w, 2);
    await as(w, w.servers[0]).requestUnbond(parseEther("100"));
    const { r, sig, sigs } = await evidence(1, w.verifiers.slice(0, 4));
    const id = await submitEvidence(w.ledger, r, sig, record, sigs);
    await goToEpoch(w, 30); // long past the unbonding delay
    await expectRevert(as(w, w.servers[0]).withdraw(), w.ledger.interface, "TrustLedgerSlashPending", [s0, 1n]);
    await executeSlash(w.ledger, id);
    const before = await w.token.balanceOf(s0);
    await as(w, w.servers[0]).withdraw();
    assert.equal((await w.token.balanceOf(s0)) - before, parseEther("50"));
  });

  it("needs 2/3 of the committee stake of the receipt's epoch, from members only, sorted", async () => {
    await goToEpoch(w, 2);
    const few = await evidence(1, w.verifiers.slice(0, 3));
    await expectRevert(submitEvidence(w.ledger, few.r, few.sig, record, few.sigs), w.ledger.interface, "TrustLedgerInsufficientSignatures", [parseEther("150"), parseEther("250")]);
    const outsider = await evidence(1, [...w.verifiers.slice(0, 4), w.outsider]);
    await expectRevert(submitEvidence(w.ledger, outsider.r, outsider.sig, record, outsider.sigs), w.ledger.interface, "TrustLedgerNotCommitteeMember");
    const { r, sig, sigs } = await evidence(1, w.verifiers.slice(0, 4));
    const reversed = [...sigs].sort((a, b) => (BigInt(a.signer) > BigInt(b.signer) ? -1 : 1));
    await expectRevert(w.ledger.submitEvidence(r, sig, record, reversed.map((x) => x.signer), reversed.map((x) => x.signature)), w.ledger.interface, "TrustLedgerUnsorted");
  });

  it("evidence only within its window, on ended epochs, over a registered peer key", async () => {
    await goToEpoch(w, 1);
    const now = await evidence(1, w.verifiers.slice(0, 4));
    await expectRevert(submitEvidence(w.ledger, now.r, now.sig, record, now.sigs), w.ledger.interface, "TrustLedgerEvidenceExpired", [1n, 1n]);
    await goToEpoch(w, 4); // 1 + evidenceWindowEpochs (2) < 4
    await expectRevert(submitEvidence(w.ledger, now.r, now.sig, record, now.sigs), w.ledger.interface, "TrustLedgerEvidenceExpired", [1n, 4n]);
    const stranger = signReceipt(peerKey(99), domainOf(w), receipt(3));
    await expectRevert(submitEvidence(w.ledger, receipt(3), stranger, record, now.sigs), w.ledger.interface, "TrustLedgerUnknownPeerSigner");
  });

  it("executed after the challenge window: slashShareBps of stake and all unclaimed rewards go to the treasury, not the pool", async () => {
    const s1 = await w.servers[1].getAddress();
    await runEpoch(w, 1, unanimous(5, [s0, s1]));
    await goToSettle(w, 2); // epoch 4: epoch 1's rewards are final
    const { r, sig, sigs } = await evidence(3, w.verifiers.slice(0, 4));
    const id = await submitEvidence(w.ledger, r, sig, record, sigs);
    await expectRevert(executeSlash(w.ledger, id), w.ledger.interface, "TrustLedgerChallengeOpen", [id, 6n]);
    await goToEpoch(w, 6);
    // read by name, as the verifiers do before executing (the ledger's ABI delegates getSlash)
    const pending = await w.ledger.getSlash(id);
    assert.deepEqual([pending.server, pending.state, pending.executableFrom], [s0, 1n, 6n]);
    const pool = await w.ledger.rewardPool();
    const before = await w.token.balanceOf(w.treasury);
    const rc = await executeSlash(w.ledger, id);
    const ev = rc.logs.map((l) => w.ledger.interface.parseLog(l)).find((e) => e?.name === "ServerSlashed")!;
    assert.equal(ev.args.stakeSlashed, parseEther("50"));
    assert.equal(ev.args.rewardsForfeited, parseEther("500"));
    assert.equal((await w.token.balanceOf(w.treasury)) - before, parseEther("550"));
    assert.equal(await w.ledger.rewardPool(), pool);
    const s = await w.ledger.getServer(s0);
    assert.equal(s.status, 4n);
    assert.equal(s.pendingRewards, 0n);
    await expectRevert(executeSlash(w.ledger, id), w.ledger.interface, "TrustLedgerSlashNotPending", [id, 3n]);
  });

  it("refuted by 2/3 of a later committee: slash cancelled, server back next epoch, each evidence signer struck", async () => {
    await goToEpoch(w, 2);
    const { r, sig, sigs } = await evidence(1, w.verifiers.slice(0, 4));
    const id = await submitEvidence(w.ledger, r, sig, record, sigs);
    await goToEpoch(w, 3);
    const refutes = await Promise.all(w.verifiers.slice(1, 5).map((v) => signRefutation(v, domainOf(w), id)));
    await refuteSlash(w.ledger, id, refutes);
    const s = await w.ledger.getServer(s0);
    assert.equal(s.status, 1n);
    assert.equal(s.pendingSlash, 0n);
    assert.equal(s.sinceEpoch, 4n);
    assert.equal(s.stake, parseEther("100"));
    for (const v of w.verifiers.slice(0, 4)) assert.equal((await w.ledger.getVerifier(await v.getAddress())).strikes, 1n);
    assert.equal((await w.ledger.getVerifier(await w.verifiers[4].getAddress())).strikes, 0n);
    await goToEpoch(w, 5);
    await expectRevert(executeSlash(w.ledger, id), w.ledger.interface, "TrustLedgerSlashNotPending", [id, 2n]);
  });

  it("a refutation after the challenge window is refused", async () => {
    await goToEpoch(w, 2);
    const { r, sig, sigs } = await evidence(1, w.verifiers.slice(0, 4));
    const id = await submitEvidence(w.ledger, r, sig, record, sigs);
    await goToEpoch(w, 4);
    const refutes = await Promise.all(w.verifiers.slice(0, 4).map((v) => signRefutation(v, domainOf(w), id)));
    await expectRevert(refuteSlash(w.ledger, id, refutes), w.ledger.interface, "TrustLedgerChallengeClosed", [id, 4n]);
  });

  it("equivocation: two receipts for one step with different outputs slash at once, once per pair, by anyone", async () => {
    const a = receipt(1, "one");
    const b = receipt(1, "two");
    const sa = signReceipt(peerKey(0), domainOf(w), a);
    const sb = signReceipt(peerKey(0), domainOf(w), b);
    const before = await w.token.balanceOf(w.treasury);
    await as(w, w.outsider).slashEquivocation(a, sa, b, sb);
    assert.equal((await w.token.balanceOf(w.treasury)) - before, parseEther("50"));
    assert.equal((await w.ledger.getServer(s0)).status, 4n);
    await expectRevert(as(w, w.outsider).slashEquivocation(b, sb, a, sa), w.ledger.interface, "TrustLedgerEquivocationUsed");
    // same output, or another step, or another key: no proof
    await expectRevert(w.ledger.slashEquivocation(a, sa, a, sa), w.ledger.interface, "TrustLedgerNotEquivocation");
    const c = { ...receipt(1, "three"), pos: 8 };
    await expectRevert(w.ledger.slashEquivocation(a, sa, c, signReceipt(peerKey(0), domainOf(w), c)), w.ledger.interface, "TrustLedgerNotEquivocation");
    await expectRevert(w.ledger.slashEquivocation(a, sa, b, signReceipt(peerKey(1), domainOf(w), b)), w.ledger.interface, "TrustLedgerNotEquivocation");
  });

  it("receipts are signed over sha256 of the EIP-712 digest (a plain digest signature is refused)", async () => {
    const a = receipt(1, "one");
    const b = receipt(1, "two");
    const { SigningKey, TypedDataEncoder } = ethers;
    const { RECEIPT_TYPES } = await import("../../node/chain/domain.ts");
    const plain = (r: Receipt) => new SigningKey(hexlify(peerKey(0))).sign(TypedDataEncoder.hash(domainOf(w), RECEIPT_TYPES, r)).serialized;
    await expectRevert(w.ledger.slashEquivocation(a, plain(a), b, plain(b)), w.ledger.interface, "TrustLedgerUnknownPeerSigner");
  });
});
