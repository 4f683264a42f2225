// StakeTokenCheck (run by the EfedLedgerOnToken module before the ledger exists) and the
// ledger's own check in fundRewards: tokens whose transfers do not deliver what was sent, or
// whose balances move by themselves, are refused with the amounts or the function that gave
// them away.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { id, parseEther, ZeroHash } from "ethers";
import type { Contract } from "ethers";
import { connect, defaultParams, deployLedger, EPOCH, LAYERS } from "../helpers/ledger.ts";

describe("StakeTokenCheck", () => {
  it("passes a plain ERC-20 and gives the caller its tokens back whole", async () => {
    const { ethers } = await connect();
    const [me] = await ethers.getSigners();
    const token: Contract = await ethers.deployContract("EfedToken", [me.address, parseEther("10")]);
    const check: Contract = await ethers.deployContract("StakeTokenCheck");
    await (await token.approve(check.target, parseEther("4"))).wait();
    await assert.doesNotReject(async () => (await check.check(token.target, parseEther("4"))).wait());
    assert.equal(await token.balanceOf(me.address), parseEther("10"));
    assert.equal(await token.balanceOf(check.target), 0n);
  });

  it("refuses a fee-on-transfer token with what was sent and what arrived", async () => {
    const { ethers } = await connect();
    const [me] = await ethers.getSigners();
    const token: Contract = await ethers.deployContract("FeeOnTransferToken", [me.address, parseEther("10"), 250]);
    const check: Contract = await ethers.deployContract("StakeTokenCheck");
    await (await token.approve(check.target, parseEther("4"))).wait();
    await assert.rejects(check.check.staticCall(token.target, parseEther("4")), (err: { data: string }) => {
      const e = check.interface.parseError(err.data)!;
      assert.equal(e.name, "StakeTokenFeeOnTransfer");
      assert.deepEqual([...e.args], [token.target, parseEther("4"), parseEther("3.9")]);
      return true;
    });
  });

  it("refuses a rebasing token by the function it answers (sharesOf), before moving anything", async () => {
    const { ethers } = await connect();
    const [me] = await ethers.getSigners();
    const token: Contract = await ethers.deployContract("RebasingToken", [me.address, parseEther("10")]);
    const check: Contract = await ethers.deployContract("StakeTokenCheck");
    // no allowance at all: the rebasing test comes first
    await assert.rejects(check.check.staticCall(token.target, parseEther("4")), (err: { data: string }) => {
      const e = check.interface.parseError(err.data)!;
      assert.equal(e.name, "StakeTokenRebasing");
      assert.deepEqual([...e.args], [token.target, id("sharesOf(address)").slice(0, 10)]);
      return true;
    });
    // why: a rebase moves the ledger's balance away from its books without a transfer
    await (await token.rebase(parseEther("0.5"))).wait();
    assert.equal(await token.balanceOf(me.address), parseEther("5"));
  });

  it("the ledger's fundRewards refuses a token that delivers less than was sent", async () => {
    const { ethers } = await connect();
    const [admin, treasury] = await ethers.getSigners();
    const token: Contract = await ethers.deployContract("FeeOnTransferToken", [admin.address, parseEther("1000"), 100]);
    const ledger = await deployLedger(ethers, [token.target, admin.address, treasury.address, ZeroHash, LAYERS, EPOCH, defaultParams()]);
    await (await token.approve(ledger.target, parseEther("100"))).wait();
    await assert.rejects(ledger.fundRewards.staticCall(parseEther("100")), (err: { data: string }) => {
      const e = ledger.interface.parseError(err.data)!;
      assert.equal(e.name, "TrustLedgerTokenNotExact");
      assert.deepEqual([...e.args], [parseEther("100"), parseEther("99")]);
      return true;
    });
    await (await token.setFee(0)).wait();
    await (await ledger.fundRewards(parseEther("100"))).wait();
    assert.equal(await ledger.rewardPool(), parseEther("100"));
  });
});
