// Rewards and claims: epoch budgets shared ∝ S_i × work, finality, rounding, reentrancy,
// and the exit-before-slash attack.
import { before, beforeEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import { parseEther, ZeroHash } from "ethers";
import type { Contract } from "ethers";
import { expectRevert } from "../helpers/revert.ts";
import {
  connect,
  defaultParams,
  EPOCH,
  deployWorld,
  goToEpoch,
  peerId,
  registerServer,
  registerVerifiers,
  settle,
  sign,
  type World,
} from "../helpers/ledger.ts";
import { toReports } from "../../node/chain/attestation.ts";

describe("TrustLedger rewards", () => {
  let ethers: World["ethers"];
  let helpers: World["helpers"];
  let w: World;

  async function threeServers() {
    const world = await deployWorld(ethers, helpers);
    await registerServer(world, 0, 0, 2);
    await registerServer(world, 1, 2, 4);
    await registerServer(world, 2, 4, 5);
    await registerVerifiers(world);
    await goToEpoch(world, 1);
    return world;
  }

  before(async () => {
    ({ ethers, helpers } = await connect());
  });
  beforeEach(async () => {
    w = await helpers.loadFixture(threeServers);
  });

  it("shares the epoch budget in proportion to S_i × tokensServed, once the epoch is final", async () => {
    const [a, b] = await Promise.all([w.servers[0].getAddress(), w.servers[1].getAddress()]);
    await settle(w, 0, w.servers[0], [10000, 10000, 10000], 3000n); // points 1.0 × 3000
    await settle(w, 0, w.servers[1], [9000, 9000, 9000], 1000n); //   points 0.9 × 1000
    // epoch 0 can still be settled during epoch 1: nothing is credited yet
    assert.equal(await w.ledger.pendingRewards(a), 0n);
    await expectRevert((w.ledger.connect(w.servers[0]) as Contract).claim(), w.ledger.interface, "TrustLedgerNothingToClaim", [a]);
    await goToEpoch(w, 2);
    const budget = parseEther("1000");
    const expectA = (budget * 3000n) / 3900n;
    const expectB = (budget * 900n) / 3900n;
    assert.equal(await w.ledger.pendingRewards(a), expectA);
    assert.equal(await w.ledger.pendingRewards(b), expectB);
    const before = await w.token.balanceOf(a);
    await (w.ledger.connect(w.servers[0]) as Contract).claim();
    assert.equal(await w.token.balanceOf(a), before + expectA);
    assert.equal(await w.ledger.pendingRewards(a), 0n);
    // claimed once; a second claim has nothing
    await expectRevert((w.ledger.connect(w.servers[0]) as Contract).claim(), w.ledger.interface, "TrustLedgerNothingToClaim", [a]);
  });

  it("credits the previous epoch when the next one is settled, and pays verifier fees", async () => {
    const a = await w.servers[0].getAddress();
    await settle(w, 0, w.servers[0], [10000, 10000, 10000]);
    await goToEpoch(w, 2);
    const tx = await settle(w, 1, w.servers[0], [10000, 10000, 10000]);
    const settled = (await tx.wait()).logs.map((l: never) => w.ledger.interface.parseLog(l)).find((e: { name: string } | null) => e?.name === "EpochSettled");
    assert.equal(settled.args.credited, parseEther("1000"));
    assert.equal((await w.ledger.getServer(a)).pendingRewards, parseEther("1000"));
    const v = w.verifiers[0];
    const vAddr = await v.getAddress();
    assert.equal(await w.ledger.pendingRewards(vAddr), parseEther("2"));
    const before = await w.token.balanceOf(vAddr);
    await (w.ledger.connect(v) as Contract).claim();
    assert.equal(await w.token.balanceOf(vAddr), before + parseEther("2"));
  });

  it("a deactivated server earns nothing for the epoch", async () => {
    const a = await w.servers[0].getAddress();
    await settle(w, 0, w.servers[0], [100, 100, 100]);
    await settle(w, 0, w.servers[1], [10000, 10000, 10000]);
    await goToEpoch(w, 2);
    assert.equal(await w.ledger.pendingRewards(a), 0n);
    assert.equal(await w.ledger.pendingRewards(await w.servers[1].getAddress()), parseEther("1000"));
  });

  it("rounding: what is paid for an epoch never exceeds its budget", async () => {
    await w.ledger.setParams(defaultParams({ rewardPerEpoch: 1000n, verifierFee: 0n }));
    await settle(w, 0, w.servers[0], [10000, 10000, 10000], 1n);
    await settle(w, 0, w.servers[1], [10000, 10000, 10000], 1n);
    await settle(w, 0, w.servers[2], [10000, 10000, 10000], 1n);
    await goToEpoch(w, 2);
    let paid = 0n;
    for (const s of w.servers.slice(0, 3)) {
      const addr = await s.getAddress();
      const before: bigint = await w.token.balanceOf(addr);
      await (w.ledger.connect(s) as Contract).claim();
      const after: bigint = await w.token.balanceOf(addr);
      paid += after - before;
    }
    assert.equal(paid, 999n); // 3 × floor(1000/3)
    assert.ok(paid <= 1000n);
    // the dust stays reserved; the books still balance
    const sum =
      (await w.ledger.totalStaked()) + (await w.ledger.rewardPool()) + (await w.ledger.totalReserved()) + (await w.ledger.totalUnclaimed());
    assert.equal(await w.token.balanceOf(w.ledger.target), sum);
  });

  it("a dry pool pays what it has, and never more", async () => {
    const world = await deployWorld(ethers, helpers, defaultParams({ rewardPerEpoch: parseEther("1000"), verifierFee: 0n }), {
      pool: parseEther("10"),
    });
    await registerServer(world, 0, 0, 5);
    await registerVerifiers(world);
    await goToEpoch(world, 1);
    await settle(world, 0, world.servers[0], [10000, 10000, 10000]);
    await goToEpoch(world, 2);
    assert.equal(await world.ledger.pendingRewards(await world.servers[0].getAddress()), parseEther("10"));
    assert.equal(await world.ledger.rewardPool(), 0n);
  });

  it("unbonding cannot escape a slash for the epoch under way", async () => {
    const server = w.servers[0];
    const a = await server.getAddress();
    // epoch 1: the server misbehaves, then asks for all its stake back
    await (w.ledger.connect(server) as Contract).requestUnbond(parseEther("100"));
    const readyAt = Number(await w.ledger.epochEnd(1)) + 2 * EPOCH;
    // it cannot leave during the settlement window of epoch 1
    await goToEpoch(w, 2);
    await expectRevert((w.ledger.connect(server) as Contract).withdraw(), w.ledger.interface, "TrustLedgerUnbondingNotReady", [a, BigInt(readyAt)]);
    await settle(w, 1, server, [0, 0, 0]);
    await helpers.time.increaseTo(readyAt);
    const before = await w.token.balanceOf(a);
    await (w.ledger.connect(server) as Contract).withdraw();
    assert.equal((await w.token.balanceOf(a)) - before, parseEther("50")); // half was slashed
  });

  it("reentrant claim through a token hook is refused", async () => {
    const world = await reentrantWorld();
    const { actor, token, ledger } = world;
    await actor.setAttack(1); // re-enter claim()
    const before = await token.balanceOf(actor.target);
    await expectRevert(actor.claim(), ledger.interface, "ReentrancyGuardReentrantCall");
    assert.equal(await token.balanceOf(actor.target), before);
    await actor.setAttack(0);
    await actor.claim();
    assert.equal(await token.balanceOf(actor.target), before + parseEther("1000"));
  });

  it("reentrant withdraw through a token hook is refused", async () => {
    const { actor, ledger, token } = await reentrantWorld();
    await actor.requestUnbond(parseEther("100"));
    await goToEpoch(world(ledger, token), 10);
    await actor.setAttack(2); // re-enter withdraw()
    await expectRevert(actor.withdraw(), ledger.interface, "ReentrancyGuardReentrantCall");
    await actor.setAttack(0);
    await actor.withdraw();
  });

  function world(ledger: Contract, token: Contract): World {
    return { ...w, ledger, token };
  }

  /** A ledger over a hook token, with a malicious contract registered as a server that earned rewards. */
  async function reentrantWorld() {
    const [admin] = await ethers.getSigners();
    const token = await ethers.deployContract("HookToken", [admin.address, parseEther("1000000000")]);
    const ledger = await ethers.deployContract("TrustLedger", [token.target, admin.address, ZeroHash, 5, EPOCH, defaultParams()]);
    const actor = await ethers.deployContract("ReentrantActor", [ledger.target, token.target]);
    await token.setHooked(actor.target, true);
    await token.transfer(actor.target, parseEther("1000"));
    await token.approve(ledger.target, parseEther("1000000"));
    await ledger.fundRewards(parseEther("100000"));
    await actor.register(parseEther("100"), 0, 5, peerId(1));
    const ws = world(ledger, token);
    for (const v of w.verifiers.slice(0, 3)) {
      await token.transfer(await v.getAddress(), parseEther("100"));
      await (token.connect(v) as Contract).approve(ledger.target, parseEther("100"));
      await (ledger.connect(v) as Contract).registerVerifier(parseEther("50"));
    }
    await ledger.setParams(defaultParams({ verifierFee: 0n }));
    await goToEpoch(ws, 1);
    const atts = await sign(ws, w.verifiers.slice(0, 3), 0, actor.target as string, [10000, 10000, 10000]);
    await ledger.submitEpoch(0, actor.target, toReports(atts));
    await goToEpoch(ws, 2);
    return { actor, token, ledger };
  }
});
