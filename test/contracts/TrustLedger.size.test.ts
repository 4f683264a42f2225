// Every contract the deployment creates fits EIP-170 (24,576 bytes of code): the in-process
// chain enforces the limit (allowUnlimitedContractSize is off), and this reads the code back.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { ZeroAddress } from "ethers";
import type { Contract } from "ethers";
import { connect, deployWorld } from "../helpers/ledger.ts";

const EIP170_LIMIT = 24_576;

describe("TrustLedger code size", () => {
  it("deploys the ledger, its registry and court, the token and the governor, each ≤ 24,576 bytes of code", async () => {
    const { ethers, helpers } = await connect();
    const w = await deployWorld(ethers, helpers);
    const admin = await w.admin.getAddress();
    const governor: Contract = await ethers.deployContract("EfedTimelock", [86_400, [admin], [admin], ZeroAddress]);
    const deployed: Record<string, string> = {
      TrustLedger: w.ledger.target as string,
      TrustLedgerRegistry: await w.ledger.registry(),
      TrustLedgerCourt: await w.ledger.court(),
      EfedToken: w.token.target as string,
      EfedTimelock: governor.target as string,
    };
    for (const [name, address] of Object.entries(deployed)) {
      const bytes = (await ethers.provider.getCode(address)).length / 2 - 1;
      assert.ok(bytes > 0, `${name} has code`);
      assert.ok(bytes <= EIP170_LIMIT, `${name}: ${bytes} bytes > ${EIP170_LIMIT}`);
    }
  });
});
