// Registration (with the peer-key proof), layer ranges effective next epoch, hardware
// re-checks, pagination, coverage, stake in and out, and history across re-registration.
import { before, beforeEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import { getBytes, keccak256, parseEther, toUtf8Bytes } from "ethers";
import type { Contract } from "ethers";
import { peerIdOfKey, peerSignerOf, signPeerBinding } from "../../node/chain/peer-binding.ts";
import { expectRevert } from "../helpers/revert.ts";
import {
  as,
  connect,
  defaultParams,
  deployWorld,
  domainOf,
  EPOCH,
  goToEpoch,
  HW,
  peerId,
  peerKey,
  registerServer,
  registerVerifiers,
  runEpoch,
  unanimous,
  type World,
} from "../helpers/ledger.ts";

describe("TrustLedger registry", () => {
  let w: World;
  let s0: string;
  let fixture: () => Promise<World>;
  let loadFixture: (f: () => Promise<World>) => Promise<World>;

  before(async () => {
    const { ethers, helpers } = await connect();
    fixture = async function registryWorld() {
      return deployWorld(ethers, helpers);
    };
    loadFixture = helpers.loadFixture;
  });
  beforeEach(async () => {
    w = await loadFixture(fixture);
    s0 = await w.servers[0].getAddress();
  });

  const reg = (i: number, id: Uint8Array, proof: string, start = 0, end = 1, hw = HW) =>
    as(w, w.servers[i]).registerServer(parseEther("100"), start, end, id, [], hw, proof);

  describe("registerServer", () => {
    it("registers with a proof of the peer key: stake pulled, active from the next epoch, peer signer stored", async () => {
      const before = await w.token.balanceOf(s0);
      await registerServer(w, 0, 0, 2);
      assert.equal(await w.token.balanceOf(s0), before - parseEther("100"));
      const s = await w.ledger.getServer(s0);
      assert.equal(s.status, 1n);
      assert.equal(s.stake, parseEther("100"));
      assert.equal(s.trust, parseEther("1"));
      assert.equal(s.sinceEpoch, 1n);
      assert.equal(s.peerSigner, peerSignerOf(peerId(0)));
      assert.equal(s.peerId, "0x" + Buffer.from(peerId(0)).toString("hex"));
      assert.equal(await w.ledger.serverOfPeerSigner(peerSignerOf(peerId(0))), s0);
      assert.deepEqual([...(await w.ledger.coverage())], [1n, 1n, 0n, 0n, 0n]);
      assert.equal(await w.ledger.maxLayersAt(1), 2n);
      assert.equal(await w.ledger.totalStaked(), parseEther("100"));
    });

    it("attack: a peer id cannot be registered without its key (nor with a proof made for another server)", async () => {
      const other = signPeerBinding(peerKey(5), domainOf(w), s0); // the wrong key
      await expectRevert(reg(0, peerId(0), other), w.ledger.interface, "TrustLedgerPeerBindingInvalid");
      const forServer1 = signPeerBinding(peerKey(0), domainOf(w), await w.servers[1].getAddress()); // copied from server 1's tx
      await expectRevert(reg(0, peerId(0), forServer1), w.ledger.interface, "TrustLedgerPeerBindingInvalid");
      const otherChain = signPeerBinding(peerKey(0), { ...domainOf(w), chainId: 1n }, s0);
      await expectRevert(reg(0, peerId(0), otherChain), w.ledger.interface, "TrustLedgerPeerBindingInvalid");
    });

    it("refuses other peer id formats and points off the curve", async () => {
      const ed25519 = Uint8Array.from([0x00, 0x24, 0x08, 0x01, 0x12, 0x20, ...new Uint8Array(32).fill(7)]);
      await expectRevert(reg(0, ed25519, "0x"), w.ledger.interface, "TrustLedgerUnsupportedPeerId");
      const badParity = peerId(0).slice();
      badParity[6] = 0x04;
      await expectRevert(reg(0, badParity, "0x"), w.ledger.interface, "TrustLedgerUnsupportedPeerId");
      const offCurve = peerId(0).slice();
      offCurve.fill(0xff, 7); // x ≥ p
      await expectRevert(reg(0, offCurve, "0x"), w.ledger.interface, "TrustLedgerInvalidPeerKey");
      const noRoot = peerId(0).slice();
      noRoot.fill(0, 7);
      noRoot[38] = 5; // x = 5: 5³ + 7 = 132 is not a square mod p
      await expectRevert(reg(0, noRoot, "0x"), w.ledger.interface, "TrustLedgerInvalidPeerKey");
    });

    it("refuses a peer key bound to another server", async () => {
      await registerServer(w, 0, 0, 1);
      const proof = signPeerBinding(peerKey(0), domainOf(w), await w.servers[1].getAddress());
      await expectRevert(reg(1, peerId(0), proof), w.ledger.interface, "TrustLedgerPeerIdTaken", [peerSignerOf(peerId(0)), s0]);
    });

    it("refuses low stake, low hardware, bad ranges, bad addrs, a second role", async () => {
      await expectRevert(registerServer(w, 0, 0, 2, parseEther("99")), w.ledger.interface, "TrustLedgerInsufficientStake", [s0, parseEther("99"), parseEther("100")]);
      const proof = signPeerBinding(peerKey(0), domainOf(w), s0);
      await expectRevert(reg(0, peerId(0), proof, 0, 1, { memoryMiB: 1023, throughput: 100 }), w.ledger.interface, "TrustLedgerInsufficientHardware", [s0, 1023n, 100n]);
      await expectRevert(registerServer(w, 0, 4, 6), w.ledger.interface, "TrustLedgerInvalidLayerRange", [4n, 6n, 5n]);
      await expectRevert(as(w, w.servers[0]).registerServer(parseEther("100"), 0, 1, peerId(0), Array(9).fill("/x"), HW, proof), w.ledger.interface, "TrustLedgerInvalidAddrs", [9n]);
      await registerServer(w, 0, 0, 1);
      await expectRevert(as(w, w.servers[0]).registerVerifier(parseEther("50"), "0x01", []), w.ledger.interface, "TrustLedgerAlreadyRegistered", [s0]);
    });
  });

  describe("updateLayers", () => {
    it("takes effect from the next epoch; this epoch keeps the old range", async () => {
      await registerServer(w, 0, 0, 2);
      await goToEpoch(w, 2);
      await as(w, w.servers[0]).updateLayers(1, 5);
      assert.deepEqual([...(await w.ledger.rangeAt(s0, 2))].map(Number), [0, 2]);
      assert.deepEqual([...(await w.ledger.rangeAt(s0, 3))].map(Number), [1, 5]);
      assert.equal(await w.ledger.maxLayersAt(2), 2n);
      assert.equal(await w.ledger.maxLayersAt(3), 4n);
      await as(w, w.servers[0]).updateLayers(0, 1); // again in the same epoch: replaces
      assert.deepEqual([...(await w.ledger.rangeAt(s0, 3))].map(Number), [0, 1]);
      assert.deepEqual([...(await w.ledger.coverage())], [1n, 0n, 0n, 0n, 0n]);
    });

    it("attack: self-declared hardware is re-checked on updateLayers against the threshold in effect", async () => {
      await registerServer(w, 0, 0, 2);
      await w.ledger.scheduleParams(defaultParams({ minMemoryMiB: 8192 }));
      await goToEpoch(w, 3);
      await expectRevert(as(w, w.servers[0]).updateLayers(0, 3), w.ledger.interface, "TrustLedgerInsufficientHardware", [s0, 4096n, 100n]);
    });
  });

  describe("pages", () => {
    it("active servers, servers and verifiers come in pages", async () => {
      for (let i = 0; i < 4; i++) await registerServer(w, i, i, i + 1);
      await registerVerifiers(w, 3);
      assert.equal(await w.ledger.activeServerCount(), 4n);
      const p1 = await w.ledger.activeServersPage(0, 3);
      const p2 = await w.ledger.activeServersPage(3, 3);
      assert.equal(p1.length, 3);
      assert.equal(p2.length, 1);
      assert.equal((await w.ledger.activeServersPage(10, 3)).length, 0);
      assert.equal(await w.ledger.serverCount(), 4n);
      assert.equal((await w.ledger.serversPage(1, 100)).length, 3);
      assert.equal(await w.ledger.verifierCount(), 3n);
      assert.equal((await w.ledger.verifiersPage(0, 2)).length, 2);
      const [members, stakes] = await w.ledger.committee(1, 0, 10);
      assert.equal(members.length, 3);
      assert.equal(stakes[0], parseEther("50"));
    });
  });

  describe("stake", () => {
    it("partial unbond keeps the minimum; full unbond exits and uncovers the layers", async () => {
      await registerServer(w, 0, 0, 2, parseEther("150"));
      await expectRevert(as(w, w.servers[0]).requestUnbond(parseEther("60")), w.ledger.interface, "TrustLedgerInsufficientStake", [s0, parseEther("90"), parseEther("100")]);
      await as(w, w.servers[0]).requestUnbond(parseEther("50"));
      const rc = await (await as(w, w.servers[0]).requestUnbond(parseEther("100"))).wait();
      const names = rc.logs.map((l: never) => w.ledger.interface.parseLog(l)?.name);
      assert.ok(names.includes("LayersUncovered"));
      const s = await w.ledger.getServer(s0);
      assert.equal(s.status, 2n);
      assert.equal(s.unbonding, parseEther("150"));
      assert.equal(await w.ledger.activeServerCount(), 0n);
    });

    it("withdraws after the end of the unbond epoch plus the delay in effect when asked", async () => {
      await registerServer(w, 0, 0, 2);
      await as(w, w.servers[0]).requestUnbond(parseEther("100"));
      const readyAt = Number(await w.ledger.genesis()) + EPOCH + 7 * EPOCH;
      await expectRevert(as(w, w.servers[0]).withdraw(), w.ledger.interface, "TrustLedgerUnbondingNotReady", [s0, BigInt(readyAt)]);
      await w.helpers.time.increaseTo(readyAt);
      const before = await w.token.balanceOf(s0);
      await as(w, w.servers[0]).withdraw();
      assert.equal((await w.token.balanceOf(s0)) - before, parseEther("100"));
      await expectRevert(as(w, w.servers[0]).withdraw(), w.ledger.interface, "TrustLedgerNothingUnbonding", [s0]);
    });

    it("history survives re-registration: rewards, settlement record and the peer key stay with the address", async () => {
      await registerServer(w, 0, 0, 5);
      await registerVerifiers(w, 3);
      await runEpoch(w, 1, unanimous(3, [s0]));
      await as(w, w.servers[0]).requestUnbond(parseEther("100"));
      await goToEpoch(w, 12);
      await as(w, w.servers[0]).withdraw();
      const pending = (await w.ledger.getServer(s0)).pendingRewards;
      assert.ok(pending > 0n);
      await registerServer(w, 0, 1, 2);
      const s = await w.ledger.getServer(s0);
      assert.equal(s.pendingRewards, pending);
      assert.equal(s.lastSettledEpoch, 1n);
      assert.equal(s.sinceEpoch, 13n);
      // someone else still cannot take the key
      const proof = signPeerBinding(peerKey(0), domainOf(w), await w.servers[1].getAddress());
      await expectRevert(reg(1, peerId(0), proof), w.ledger.interface, "TrustLedgerPeerIdTaken");
    });

    it("verifiers: stake changes count for committees from the next epoch", async () => {
      await registerVerifiers(w, 2);
      const v0 = await w.verifiers[0].getAddress();
      await goToEpoch(w, 2);
      await as(w, w.verifiers[0]).addStake(parseEther("25"));
      assert.equal(await w.ledger.verifierStakeAt(v0, 2), parseEther("50"));
      assert.equal(await w.ledger.verifierStakeAt(v0, 3), parseEther("75"));
      assert.equal(await w.ledger.committeeStake(3), parseEther("125"));
      await as(w, w.verifiers[0]).requestUnbond(parseEther("75"));
      assert.equal(await w.ledger.verifierStakeAt(v0, 3), 0n);
      assert.equal((await w.ledger.getVerifier(v0)).status, 2n);
    });

    it("strike limit slashes a verifier to the treasury", async () => {
      await registerServer(w, 0, 0, 5);
      await registerVerifiers(w, 3);
      const v0 = await w.verifiers[0].getAddress();
      for (const e of [1, 2, 3]) {
        await goToEpoch(w, e + 1);
        await as(w, w.verifiers[0]).commitReport(e, keccak256(toUtf8Bytes(`c${e}`)));
      }
      await goToEpoch(w, 6);
      const before = await w.token.balanceOf(w.treasury);
      for (const e of [1, 2, 3]) await w.ledger.penalizeUnrevealed(e, [v0]);
      assert.equal((await w.token.balanceOf(w.treasury)) - before, parseEther("25"));
      const v = await w.ledger.getVerifier(v0);
      assert.equal(v.stake, parseEther("25"));
      assert.equal(v.strikes, 0n);
    });
  });

  it("peerIdOfKey / peerSignerOf agree with the contract for many keys", async () => {
    for (let i = 0; i < 4; i++) {
      const key = getBytes(keccak256(toUtf8Bytes(`k${i}`)));
      await (w.ledger.connect(w.servers[i]) as Contract).registerServer(parseEther("100"), 0, 1, peerIdOfKey(key), [], HW, signPeerBinding(key, domainOf(w), await w.servers[i].getAddress()));
      assert.equal((await w.ledger.getServer(await w.servers[i].getAddress())).peerSigner, peerSignerOf(peerIdOfKey(key)));
    }
  });
});
