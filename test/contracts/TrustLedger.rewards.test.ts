// Rewards, fees and the books: verifier fees credited by settlement, the money invariant through a whole
// life (settle, credit, claim, slash to the treasury), unbonding verifiers still struck, and
// reentrancy through a token hook refused.
import { before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { parseEther, ZeroHash } from "ethers";
import type { Contract } from "ethers";
import { commitReport, encodeResults, reportCommitment } from "../../node/chain/settlement.ts";
import { expectRevert } from "../helpers/revert.ts";
import {
  as,
  connect,
  defaultParams,
  deployLedger,
  deployWorld,
  EPOCH,
  goTo,
  goToCommit,
  goToEpoch,
  goToReveal,
  goToSettle,
  LAYERS,
  registerServer,
  registerVerifiers,
  runEpoch,
  unanimous,
  type World,
} from "../helpers/ledger.ts";

describe("TrustLedger rewards and books", () => {
  let ethers: World["ethers"];
  let helpers: World["helpers"];

  before(async () => {
    ({ ethers, helpers } = await connect());
  });

  async function books(w: World) {
    const [bal, staked, pool, reserved, unclaimed] = await Promise.all([
      w.token.balanceOf(w.ledger.target),
      w.ledger.totalStaked(),
      w.ledger.rewardPool(),
      w.ledger.totalReserved(),
      w.ledger.totalUnclaimed(),
    ]);
    assert.equal(bal, staked + pool + reserved + unclaimed, "balance == staked + pool + reserved + unclaimed");
  }

  it("keeps balance == staked + pool + reserved + unclaimed through settle, credit, claim and fees", async () => {
    const w = await deployWorld(ethers, helpers);
    await registerServer(w, 0, 0, 5);
    await registerVerifiers(w, 3);
    const s0 = await w.servers[0].getAddress();
    await runEpoch(w, 1, unanimous(3, [s0]));
    await books(w);
    // revealing verifiers were credited the fee by the settlement
    assert.equal((await w.ledger.getVerifier(await w.verifiers[0].getAddress())).pendingRewards, parseEther("1"));
    await runEpoch(w, 2, unanimous(3, [s0]));
    await books(w);
    await goToSettle(w, 3);
    await as(w, w.servers[0]).claim();
    await as(w, w.verifiers[0]).claim();
    await books(w);
    await expectRevert(as(w, w.verifiers[0]).claim(), w.ledger.interface, "TrustLedgerNothingToClaim");
  });

  it("a deactivated server earns nothing for the epoch", async () => {
    const w = await deployWorld(ethers, helpers);
    await registerServer(w, 0, 0, 5);
    await registerServer(w, 1, 0, 5);
    await registerVerifiers(w, 3);
    const [a, b] = await Promise.all([w.servers[0].getAddress(), w.servers[1].getAddress()]);
    const reports = unanimous(3, [a, b]);
    for (const v of reports.values()) v[v.findIndex((e) => e.server === b)].accBps = 1000;
    await runEpoch(w, 1, reports);
    await goToEpoch(w, 4);
    assert.equal((await w.ledger.getServer(a)).pendingRewards, parseEther("1000"));
    assert.equal((await w.ledger.getServer(b)).pendingRewards, 0n);
  });

  it("attack: a verifier unbonding right after committing still takes its strike on its unbonding stake", async () => {
    const w = await deployWorld(ethers, helpers, defaultParams({ strikeLimit: 2 }));
    await registerServer(w, 0, 0, 5);
    await registerVerifiers(w, 3);
    const v0 = await w.verifiers[0].getAddress();
    for (const e of [1, 2]) {
      await goToCommit(w, e);
      await commitReport(as(w, w.verifiers[0]), e, encodeResults([]));
    }
    await as(w, w.verifiers[0]).requestUnbond(parseEther("50")); // leaves at once
    await goTo(w, 4, EPOCH / 2); // both reveal windows closed
    const before = await w.token.balanceOf(w.treasury);
    await w.ledger.penalizeUnrevealed(1, [v0]);
    await w.ledger.penalizeUnrevealed(2, [v0]);
    assert.equal((await w.token.balanceOf(w.treasury)) - before, parseEther("25"));
    await goToEpoch(w, 20);
    const b0 = await w.token.balanceOf(v0);
    await as(w, w.verifiers[0]).withdraw();
    assert.equal((await w.token.balanceOf(v0)) - b0, parseEther("25"));
    await books(w);
  });

  describe("reentrancy through a token hook", () => {
    /** A ledger over a hook token, with a malicious verifier that earned a fee (credited by settlement). */
    async function reentrantWorld() {
      const [admin, treasury] = await ethers.getSigners();
      const token: Contract = await ethers.deployContract("HookToken", [admin.address, parseEther("1000000000")]);
      const ledger: Contract = await deployLedger(ethers, [token.target, admin.address, treasury.address, ZeroHash, LAYERS, EPOCH, defaultParams()]);
      const actor: Contract = await ethers.deployContract("ReentrantActor", [ledger.target, token.target]);
      await token.setHooked(actor.target, true);
      await token.transfer(actor.target, parseEther("1000"));
      await token.approve(ledger.target, parseEther("1000000"));
      await ledger.fundRewards(parseEther("100000"));
      await actor.register(parseEther("100"));
      const w = { ledger, helpers } as unknown as World;
      await goToCommit(w, 1);
      const results = encodeResults([{ server: admin.address, accBps: 10_000, tokens: 1 }]); // an empty report earns no fee
      const salt = ZeroHash.replace(/0$/, "1");
      await actor.commit(1, reportCommitment(1, actor.target as string, results, salt));
      await goToReveal(w, 1);
      await actor.reveal(1, results, salt);
      await goToSettle(w, 1); // the fee of a revealed report is credited by its epoch's settlement
      await ledger.settleEpoch(1, [], [actor.target], [results], [ZeroHash]);
      return { actor, token, ledger, w };
    }

    it("a reentrant claim is refused", async () => {
      const { actor, token, ledger } = await reentrantWorld();
      await actor.setAttack(1);
      const before = await token.balanceOf(actor.target);
      await expectRevert(actor.claim(), ledger.interface, "ReentrancyGuardReentrantCall");
      await actor.setAttack(0);
      await actor.claim();
      assert.equal(await token.balanceOf(actor.target), before + parseEther("1"));
    });

    it("a reentrant withdraw is refused", async () => {
      const { actor, ledger, w } = await reentrantWorld();
      await actor.requestUnbond(parseEther("100"));
      await goToEpoch(w, 12);
      await actor.setAttack(2);
      await expectRevert(actor.withdraw(), ledger.interface, "ReentrancyGuardReentrantCall");
      await actor.setAttack(0);
      await actor.withdraw();
    });
  });
});
