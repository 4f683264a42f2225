// Registration, layer ranges, stake and unbonding, governance: every external function
// of the registry side and every custom error it can raise.
import { before, beforeEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import { parseEther, ZeroHash } from "ethers";
import type { Contract, Signer } from "ethers";
import { expectRevert } from "../helpers/revert.ts";
import {
  connect,
  defaultParams,
  deployWorld,
  EPOCH,
  goToEpoch,
  HW,
  peerId,
  registerServer,
  registerVerifiers,
  type World,
} from "../helpers/ledger.ts";

const as = (w: World, s: Signer) => w.ledger.connect(s) as Contract;

describe("TrustLedger registry", () => {
  let w: World;
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
  });

  describe("registerServer", () => {
    it("registers, pulls stake, activates and covers the range", async () => {
      const addr = await w.servers[0].getAddress();
      const before = await w.token.balanceOf(addr);
      await assert.doesNotReject(registerServer(w, 0, 0, 2));
      assert.equal(await w.token.balanceOf(addr), before - parseEther("100"));
      const s = await w.ledger.getServer(addr);
      assert.equal(s.status, 1n);
      assert.equal(s.start, 0n);
      assert.equal(s.end, 2n);
      assert.equal(s.stake, parseEther("100"));
      assert.equal(s.trust, parseEther("1"));
      assert.equal(s.peerId, "0x" + Buffer.from(peerId(0)).toString("hex"));
      assert.deepEqual([...s.addrs], ["/ip4/127.0.0.1/tcp/4000"]);
      assert.equal(s.lastSettledEpoch, 2n ** 64n - 1n);
      assert.deepEqual([...(await w.ledger.coverage())], [1n, 1n, 0n, 0n, 0n]);
      assert.equal(await w.ledger.maxActiveLayers(), 2n);
      assert.deepEqual([...(await w.ledger.allServers())], [addr]);
      assert.equal((await w.ledger.activeServers()).length, 1);
      assert.equal(await w.ledger.totalStaked(), parseEther("100"));
    });

    it("emits ServerRegistered", async () => {
      const tx = await registerServer(w, 0, 1, 3);
      const receipt = await tx.wait();
      const ev = receipt.logs.map((l: never) => w.ledger.interface.parseLog(l)).find((e: { name: string } | null) => e?.name === "ServerRegistered");
      assert.equal(ev.args.server, await w.servers[0].getAddress());
      assert.equal(ev.args.start, 1n);
      assert.equal(ev.args.end, 3n);
      assert.equal(ev.args.stake, parseEther("100"));
    });

    it("rejects stake below the minimum", async () => {
      const addr = await w.servers[0].getAddress();
      await expectRevert(registerServer(w, 0, 0, 2, parseEther("99")), w.ledger.interface, "TrustLedgerInsufficientStake", [
        addr,
        parseEther("99"),
        parseEther("100"),
      ]);
    });

    it("rejects hardware under the admission threshold", async () => {
      const addr = await w.servers[0].getAddress();
      const lowMem = as(w, w.servers[0]).registerServer(parseEther("100"), 0, 1, peerId(0), [], { memoryMiB: 1023, throughput: 100 });
      await expectRevert(lowMem, w.ledger.interface, "TrustLedgerInsufficientHardware", [addr, 1023n, 100n]);
      const slow = as(w, w.servers[0]).registerServer(parseEther("100"), 0, 1, peerId(0), [], { memoryMiB: 4096, throughput: 9 });
      await expectRevert(slow, w.ledger.interface, "TrustLedgerInsufficientHardware", [addr, 4096n, 9n]);
    });

    it("rejects empty and out-of-model layer ranges", async () => {
      await expectRevert(registerServer(w, 0, 2, 2), w.ledger.interface, "TrustLedgerInvalidLayerRange", [2n, 2n, 5n]);
      await expectRevert(registerServer(w, 0, 3, 1), w.ledger.interface, "TrustLedgerInvalidLayerRange", [3n, 1n, 5n]);
      await expectRevert(registerServer(w, 0, 4, 6), w.ledger.interface, "TrustLedgerInvalidLayerRange", [4n, 6n, 5n]);
    });

    it("rejects empty, oversized and taken peer ids", async () => {
      const reg = (id: Uint8Array, i = 0) => as(w, w.servers[i]).registerServer(parseEther("100"), 0, 1, id, [], HW);
      await expectRevert(reg(new Uint8Array(0)), w.ledger.interface, "TrustLedgerInvalidPeerId", [0n]);
      await expectRevert(reg(new Uint8Array(65)), w.ledger.interface, "TrustLedgerInvalidPeerId", [65n]);
      await reg(peerId(7), 0);
      await expectRevert(reg(peerId(7), 1), w.ledger.interface, "TrustLedgerPeerIdTaken");
    });

    it("rejects too many or empty multiaddrs", async () => {
      const reg = (addrs: string[]) => as(w, w.servers[0]).registerServer(parseEther("100"), 0, 1, peerId(0), addrs, HW);
      await expectRevert(reg(Array(9).fill("/ip4/127.0.0.1/tcp/1")), w.ledger.interface, "TrustLedgerInvalidAddrs", [9n]);
      await expectRevert(reg([""]), w.ledger.interface, "TrustLedgerInvalidAddrs", [1n]);
      await expectRevert(reg(["x".repeat(257)]), w.ledger.interface, "TrustLedgerInvalidAddrs", [1n]);
    });

    it("rejects a second registration in either role", async () => {
      const addr = await w.servers[0].getAddress();
      await registerServer(w, 0, 0, 1);
      await expectRevert(registerServer(w, 0, 1, 2), w.ledger.interface, "TrustLedgerAlreadyRegistered", [addr]);
      await expectRevert(as(w, w.servers[0]).registerVerifier(parseEther("50")), w.ledger.interface, "TrustLedgerAlreadyRegistered", [addr]);
      await registerVerifiers(w, 1);
      const vAddr = await w.verifiers[0].getAddress();
      await expectRevert(
        as(w, w.verifiers[0]).registerServer(parseEther("100"), 0, 1, peerId(9), [], HW),
        w.ledger.interface,
        "TrustLedgerAlreadyRegistered",
        [vAddr],
      );
    });
  });

  describe("registerVerifier", () => {
    it("registers with stake and lists the verifier", async () => {
      const addr = await w.verifiers[0].getAddress();
      await as(w, w.verifiers[0]).registerVerifier(parseEther("60"));
      const v = await w.ledger.getVerifier(addr);
      assert.equal(v.status, 1n);
      assert.equal(v.stake, parseEther("60"));
      assert.deepEqual([...(await w.ledger.allVerifiers())], [addr]);
    });

    it("rejects stake below the minimum", async () => {
      const addr = await w.verifiers[0].getAddress();
      await expectRevert(as(w, w.verifiers[0]).registerVerifier(parseEther("49")), w.ledger.interface, "TrustLedgerInsufficientStake", [
        addr,
        parseEther("49"),
        parseEther("50"),
      ]);
    });
  });

  describe("updateLayers / updateAddrs", () => {
    it("moves a range and keeps max(l) right", async () => {
      await registerServer(w, 0, 0, 3);
      await registerServer(w, 1, 3, 5);
      assert.equal(await w.ledger.maxActiveLayers(), 3n);
      await as(w, w.servers[0]).updateLayers(0, 1);
      assert.equal(await w.ledger.maxActiveLayers(), 2n);
      assert.deepEqual([...(await w.ledger.coverage())], [1n, 0n, 0n, 1n, 1n]);
      await expectRevert(as(w, w.servers[0]).updateLayers(0, 9), w.ledger.interface, "TrustLedgerInvalidLayerRange", [0n, 9n, 5n]);
      const outsider = await w.outsider.getAddress();
      await expectRevert(as(w, w.outsider).updateLayers(0, 1), w.ledger.interface, "TrustLedgerNotActive", [outsider]);
    });

    it("replaces addrs, and refuses strangers and bad addrs", async () => {
      await registerServer(w, 0, 0, 1);
      await as(w, w.servers[0]).updateAddrs(["/ip4/127.0.0.1/tcp/9", "/ip4/127.0.0.1/tcp/10"]);
      const s = await w.ledger.getServer(await w.servers[0].getAddress());
      assert.deepEqual([...s.addrs], ["/ip4/127.0.0.1/tcp/9", "/ip4/127.0.0.1/tcp/10"]);
      await expectRevert(as(w, w.servers[0]).updateAddrs([""]), w.ledger.interface, "TrustLedgerInvalidAddrs", [1n]);
      const outsider = await w.outsider.getAddress();
      await expectRevert(as(w, w.outsider).updateAddrs([]), w.ledger.interface, "TrustLedgerNotRegistered", [outsider]);
    });
  });

  describe("addStake / requestUnbond / withdraw", () => {
    it("adds stake for both roles and refuses zero and strangers", async () => {
      await registerServer(w, 0, 0, 1);
      await registerVerifiers(w, 1);
      await as(w, w.servers[0]).addStake(parseEther("5"));
      await as(w, w.verifiers[0]).addStake(parseEther("7"));
      assert.equal((await w.ledger.getServer(await w.servers[0].getAddress())).stake, parseEther("105"));
      assert.equal((await w.ledger.getVerifier(await w.verifiers[0].getAddress())).stake, parseEther("57"));
      await expectRevert(as(w, w.servers[0]).addStake(0), w.ledger.interface, "TrustLedgerZeroAmount");
      await expectRevert(as(w, w.outsider).addStake(1), w.ledger.interface, "TrustLedgerNotActive", [await w.outsider.getAddress()]);
    });

    it("partial unbond keeps the minimum; full unbond exits and uncovers the layers", async () => {
      const addr = await w.servers[0].getAddress();
      await registerServer(w, 0, 0, 2, parseEther("150"));
      await expectRevert(as(w, w.servers[0]).requestUnbond(parseEther("60")), w.ledger.interface, "TrustLedgerInsufficientStake", [
        addr,
        parseEther("90"),
        parseEther("100"),
      ]);
      await expectRevert(as(w, w.servers[0]).requestUnbond(parseEther("151")), w.ledger.interface, "TrustLedgerUnbondTooLarge", [
        addr,
        parseEther("151"),
        parseEther("150"),
      ]);
      await expectRevert(as(w, w.servers[0]).requestUnbond(0), w.ledger.interface, "TrustLedgerZeroAmount");
      await as(w, w.servers[0]).requestUnbond(parseEther("50"));
      let s = await w.ledger.getServer(addr);
      assert.equal(s.status, 1n);
      assert.equal(s.unbonding, parseEther("50"));
      const tx = await as(w, w.servers[0]).requestUnbond(parseEther("100"));
      const names = (await tx.wait()).logs.map((l: never) => w.ledger.interface.parseLog(l)?.name);
      assert.ok(names.includes("LayersUncovered"));
      s = await w.ledger.getServer(addr);
      assert.equal(s.status, 2n); // Exiting
      assert.equal(s.unbonding, parseEther("150"));
      assert.equal((await w.ledger.activeServers()).length, 0);
      assert.equal(await w.ledger.maxActiveLayers(), 0n);
      await expectRevert(as(w, w.outsider).requestUnbond(1), w.ledger.interface, "TrustLedgerNotRegistered", [await w.outsider.getAddress()]);
    });

    it("withdraws only after the end of the unbond epoch plus the delay, then frees the peer id", async () => {
      const addr = await w.servers[0].getAddress();
      await registerServer(w, 0, 0, 2);
      await expectRevert(as(w, w.servers[0]).withdraw(), w.ledger.interface, "TrustLedgerNothingUnbonding", [addr]);
      await as(w, w.servers[0]).requestUnbond(parseEther("100"));
      const epoch = Number(await w.ledger.currentEpoch());
      const readyAt = Number(await w.ledger.epochEnd(epoch)) + 2 * EPOCH;
      await expectRevert(as(w, w.servers[0]).withdraw(), w.ledger.interface, "TrustLedgerUnbondingNotReady", [addr, BigInt(readyAt)]);
      await w.helpers.time.setNextBlockTimestamp(readyAt - 1);
      await expectRevert(as(w, w.servers[0]).withdraw(), w.ledger.interface, "TrustLedgerUnbondingNotReady", [addr, BigInt(readyAt)]);
      const before = await w.token.balanceOf(addr);
      await w.helpers.time.setNextBlockTimestamp(readyAt);
      await as(w, w.servers[0]).withdraw();
      assert.equal(await w.token.balanceOf(addr), before + parseEther("100"));
      assert.equal((await w.ledger.getServer(addr)).status, 0n);
      assert.equal(await w.ledger.totalStaked(), 0n);
      // the peer id is free again: another server may take it
      await assert.doesNotReject(as(w, w.servers[1]).registerServer(parseEther("100"), 0, 1, peerId(0), [], HW));
    });

    it("verifiers unbond and withdraw by the same rules", async () => {
      await registerVerifiers(w, 1);
      const addr = await w.verifiers[0].getAddress();
      await as(w, w.verifiers[0]).requestUnbond(parseEther("50"));
      assert.equal((await w.ledger.getVerifier(addr)).status, 2n);
      await expectRevert(as(w, w.verifiers[0]).withdraw(), w.ledger.interface, "TrustLedgerUnbondingNotReady");
      await goToEpoch(w, Number(await w.ledger.currentEpoch()) + 3);
      await as(w, w.verifiers[0]).withdraw();
      assert.equal((await w.ledger.getVerifier(addr)).status, 0n);
      await expectRevert(as(w, w.outsider).withdraw(), w.ledger.interface, "TrustLedgerNotRegistered", [await w.outsider.getAddress()]);
    });
  });

  describe("governance", () => {
    it("only the governor changes parameters, and bad values are refused", async () => {
      const p = defaultParams({ quorum: 5 });
      const outsider = await w.outsider.getAddress();
      await expectRevert(as(w, w.outsider).setParams(p), w.ledger.interface, "AccessControlUnauthorizedAccount", [
        outsider,
        await w.ledger.GOVERNOR_ROLE(),
      ]);
      await w.ledger.setParams(p);
      assert.equal((await w.ledger.params()).quorum, 5n);
      const bad: [string, Partial<ReturnType<typeof defaultParams>>][] = [
        ["quorum", { quorum: 0 }],
        ["theta", { theta: parseEther("1.01") }],
        ["slashShareBps", { slashShareBps: 10001 }],
        ["deviationBps", { deviationBps: 10001 }],
        ["strikeLimit", { strikeLimit: 0 }],
        ["unbondingDelay", { unbondingDelay: EPOCH - 1 }],
        ["verifierFee", { verifierFee: 2n ** 96n }],
        ["minStake", { minServerStake: 2n ** 128n }],
      ];
      for (const [reason, o] of bad) {
        await expectRevert(w.ledger.setParams(defaultParams(o)), w.ledger.interface, "TrustLedgerInvalidParams", [reason]);
      }
    });

    it("changes the model only when no server is active", async () => {
      const hash = "0x" + "11".repeat(32);
      await registerServer(w, 0, 0, 1);
      await expectRevert(w.ledger.setModel(hash, 8), w.ledger.interface, "TrustLedgerModelInUse", [1n]);
      await as(w, w.servers[0]).requestUnbond(parseEther("100"));
      await expectRevert(w.ledger.setModel(hash, 0), w.ledger.interface, "TrustLedgerInvalidParams", ["numLayers"]);
      await w.ledger.setModel(hash, 8);
      const [h, n] = await w.ledger.model();
      assert.equal(h, hash);
      assert.equal(n, 8n);
      await expectRevert(as(w, w.outsider).setModel(ZeroHash, 5), w.ledger.interface, "AccessControlUnauthorizedAccount");
    });

    it("sets per-server weights within (0, 1]", async () => {
      const addr = await w.servers[0].getAddress();
      await expectRevert(w.ledger.setServerWeight(addr, parseEther("0.5")), w.ledger.interface, "TrustLedgerNotRegistered", [addr]);
      await registerServer(w, 0, 0, 1);
      await expectRevert(w.ledger.setServerWeight(addr, 0), w.ledger.interface, "TrustLedgerInvalidWeight", [0n]);
      await expectRevert(w.ledger.setServerWeight(addr, parseEther("1.5")), w.ledger.interface, "TrustLedgerInvalidWeight", [
        parseEther("1.5"),
      ]);
      await w.ledger.setServerWeight(addr, parseEther("0.5"));
      assert.equal((await w.ledger.getServer(addr)).weight, parseEther("0.5"));
      await expectRevert(as(w, w.outsider).setServerWeight(addr, 1), w.ledger.interface, "AccessControlUnauthorizedAccount");
    });

    it("refuses a zero epoch length or zero layers at deployment", async () => {
      const factory = await w.ethers.getContractFactory("TrustLedger");
      const args = (layers: number, epoch: number) => [w.token.target, w.admin, ZeroHash, layers, epoch, defaultParams()];
      await expectRevert(factory.deploy(...args(5, 0)), w.ledger.interface, "TrustLedgerInvalidParams", ["epochLength"]);
      await expectRevert(factory.deploy(...args(0, 100)), w.ledger.interface, "TrustLedgerInvalidParams", ["numLayers"]);
    });
  });

  describe("fundRewards", () => {
    it("adds to the pool and refuses zero", async () => {
      const before = await w.ledger.rewardPool();
      await w.ledger.fundRewards(parseEther("3"));
      assert.equal(await w.ledger.rewardPool(), before + parseEther("3"));
      await expectRevert(w.ledger.fundRewards(0), w.ledger.interface, "TrustLedgerZeroAmount");
    });
  });
});
