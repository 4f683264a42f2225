// Governance: a TimelockController governs; every parameter has a floor and a cap; changes
// apply from a future epoch, never to epochs already started; the attacks of issue 9 on
// governance (take everything in one block, freeze withdrawals, slash by weight) fail.
import { before, beforeEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import { parseEther, ZeroAddress, ZeroHash } from "ethers";
import type { Contract } from "ethers";
import type { LedgerParams } from "../../node/chain/params.ts";
import { expectRevert } from "../helpers/revert.ts";
import {
  as,
  connect,
  defaultParams,
  deployLedger,
  deployWorld,
  EPOCH,
  goToEpoch,
  LAYERS,
  registerServer,
  registerVerifiers,
  runEpoch,
  unanimous,
  type World,
} from "../helpers/ledger.ts";

describe("TrustLedger governance", () => {
  let ethers: World["ethers"];
  let helpers: World["helpers"];
  let w: World;

  before(async () => {
    ({ ethers, helpers } = await connect());
  });
  beforeEach(async () => {
    w = await helpers.loadFixture(async function governed() {
      return deployWorld(ethers, helpers);
    });
  });

  const refused = async (overrides: Partial<LedgerParams>, field: string) =>
    expectRevert(w.ledger.scheduleParams(defaultParams(overrides)), w.ledger.interface, "TrustLedgerInvalidParams", undefined).then(async () => {
      try {
        await w.ledger.scheduleParams.staticCall(defaultParams(overrides));
      } catch (err) {
        const data = (err as { data?: string }).data!;
        assert.equal(w.ledger.interface.parseError(data)!.args[0], field);
      }
    });

  it("attack: 'take everything in one block' parameters are refused by floors and caps", async () => {
    await refused({ slashShareBps: 10_000, minVerifierStake: parseEther("100") }, "slashShareBps");
    await refused({ minServerStake: 0n }, "minServerStake");
    await refused({ theta: parseEther("1") }, "theta");
    await refused({ rewardPerEpoch: parseEther("1000000000") }, "rewardPerEpoch");
    await refused({ verifierFee: parseEther("100000") }, "verifierFee");
    await refused({ strikeLimit: 1 }, "strikeLimit");
    // the minimum verifier stake is sized against what one false evidence can slash
    await refused({ minVerifierStake: parseEther("49") }, "minVerifierStake");
  });

  it("attack: withdrawals cannot be frozen (unbonding delay capped; an existing unbond keeps its date)", async () => {
    await refused({ unbondingDelay: 2 ** 32 - 1 }, "unbondingDelay");
    await refused({ unbondingDelay: 6 * EPOCH }, "unbondingDelay"); // under the evidence floor
    await registerServer(w, 0, 0, 1);
    await as(w, w.servers[0]).requestUnbond(parseEther("100"));
    await w.ledger.scheduleParams(defaultParams({ unbondingDelay: 60 * 86400 }));
    await w.helpers.time.increaseTo(Number(await w.ledger.genesis()) + 8 * EPOCH);
    await as(w, w.servers[0]).withdraw();
  });

  it("attack: a change applies from currentEpoch + 3, never to epochs already started or being settled", async () => {
    const s0 = await w.servers[0].getAddress();
    await registerServer(w, 0, 0, LAYERS);
    await registerVerifiers(w, 3);
    await goToEpoch(w, 3); // epoch 1 is being settled now
    await w.ledger.scheduleParams(defaultParams({ theta: parseEther("0.95"), rewardPerEpoch: 0n }));
    assert.equal((await w.ledger.paramsAt(5)).theta, parseEther("0.9"));
    assert.equal((await w.ledger.paramsAt(6)).theta, parseEther("0.95"));
    assert.equal((await w.ledger.params()).theta, parseEther("0.9"));
    // epoch 3's reports of acc 0.92 are judged by θ = 0.9
    await runEpoch(w, 3, unanimous(3, [s0], 9200));
    assert.equal((await w.ledger.getServer(s0)).status, 1n);
    // a second change before the first is in effect replaces it
    await w.ledger.scheduleParams(defaultParams({ theta: parseEther("0.5") }));
    assert.equal((await w.ledger.paramsAt(8)).theta, parseEther("0.5"));
  });

  it("attack: there is no way to slash or weight a server by decree", async () => {
    assert.equal(w.ledger.interface.getFunction("setServerWeight"), null);
    assert.equal(w.ledger.interface.getFunction("setParams"), null);
  });

  it("only the governor schedules parameters, treasury and model", async () => {
    const outsider = as(w, w.outsider);
    await expectRevert(outsider.scheduleParams(defaultParams()), w.ledger.interface, "AccessControlUnauthorizedAccount");
    await expectRevert(outsider.setTreasury(await w.outsider.getAddress()), w.ledger.interface, "AccessControlUnauthorizedAccount");
    await expectRevert(w.ledger.setTreasury(ZeroAddress), w.ledger.interface, "TrustLedgerInvalidParams");
    await registerServer(w, 0, 0, 1);
    await expectRevert(w.ledger.setModel(ZeroHash, 7), w.ledger.interface, "TrustLedgerModelInUse", [1n]);
  });

  it("a TimelockController governs: direct calls fail, scheduled ones run after the delay", async () => {
    const [admin] = await ethers.getSigners();
    const adminAddr = await admin.getAddress();
    const timelock: Contract = await ethers.deployContract("EfedTimelock", [3600, [adminAddr], [adminAddr], ZeroAddress]);
    const ledger: Contract = await deployLedger(ethers, [w.token.target, timelock.target, timelock.target, ZeroHash, LAYERS, EPOCH, defaultParams()]);
    await expectRevert(ledger.scheduleParams(defaultParams({ theta: parseEther("0.5") })), ledger.interface, "AccessControlUnauthorizedAccount");
    const data = ledger.interface.encodeFunctionData("scheduleParams", [defaultParams({ theta: parseEther("0.5") })]);
    await timelock.schedule(ledger.target, 0, data, ZeroHash, ZeroHash, 3600);
    await expectRevert(timelock.execute(ledger.target, 0, data, ZeroHash, ZeroHash), timelock.interface, "TimelockUnexpectedOperationState");
    await helpers.time.increase(3600);
    await timelock.execute(ledger.target, 0, data, ZeroHash, ZeroHash);
    const now = Number(await ledger.currentEpoch());
    assert.equal((await ledger.paramsAt(now)).theta, parseEther("0.9"));
    assert.equal((await ledger.paramsAt(now + 3)).theta, parseEther("0.5"));
    assert.equal(await ledger.treasury(), timelock.target);
    assert.equal(await ledger.defaultAdmin(), timelock.target);
  });
});
