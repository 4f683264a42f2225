// `efed fund` and `efed wallet new` never mint off the embedded local chain: the refusal says
// what to do instead (gas from one's own account or a faucet, tokens from a holder).
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { fundAddress } from "../../../node/wallet/fund.ts";
import type { LedgerHandle } from "../../../node/chain/ledger.ts";

const TOKEN = "0x" + "7a".repeat(20);
const USER = "0x" + "0b".repeat(20);

/** A handle on another chain; its provider must never be touched. */
function handleOn(chainId: string): LedgerHandle {
  const untouchable = new Proxy({}, { get: () => assert.fail("the provider was used: funding was attempted") });
  return { deployment: { chainId, token: TOKEN }, provider: untouchable, token: untouchable } as unknown as LedgerHandle;
}

describe("fundAddress", () => {
  for (const chainId of ["1", "11155111", "84532"]) {
    it(`refuses chain ${chainId} before any transaction, and says what to do instead`, async () => {
      await assert.rejects(fundAddress(handleOn(chainId), USER), (err: Error) => {
        assert.equal(err.name, "FundingRefusedError");
        assert.match(err.message, new RegExp(`only works on the embedded local chain \\(chain id 31337\\).*this is chain ${chainId}, where nothing is minted`));
        assert.match(err.message, new RegExp(`send ${USER} gas money from your own account \\(or a faucet, on a testnet\\) and stake tokens \\(${TOKEN}\\) from an account that holds them`));
        return true;
      });
    });
  }
});
