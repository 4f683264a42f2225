// Hardhat Ignition module: the governor and the trust ledger over an existing ERC-20 (parameter
// `token`), for networks where the stake token already exists. Before anything else is
// deployed, StakeTokenCheck moves `rewardFund` of the deployer's tokens in and back out and
// refuses a token that keeps a fee on transfer or exposes a rebasing interface: the ledger's
// books need amount sent == amount received and balances that change only by transfers.
// Then the ledger's reward pool is funded with `rewardFund` (required, > 0: the deployer must
// hold it), which the ledger checks again as it arrives.
//   $ echo '{"EfedLedgerOnToken": {"token": "0x…", "rewardFund": "1000000000000000000000n"}}' > on-token.json
//   $ npx hardhat ignition deploy ignition/modules/EfedLedgerOnToken.ts --network sepolia --parameters on-token.json
// (`efed deploy --token` does the same, with its parameters file in human units.)
import { createRequire } from "node:module";
import { buildModule } from "@nomicfoundation/hardhat-ignition/modules";
import { ledgerFutures } from "../ledger-futures.ts";

// the ERC-20 interface's artifact from OpenZeppelin's package (Hardhat writes artifacts only
// for this project's own sources)
const require = createRequire(import.meta.url);
const IERC20Metadata = require("@openzeppelin/contracts/build/contracts/IERC20Metadata.json");

export default buildModule("EfedLedgerOnToken", (m) => {
  const token = m.contractAt("StakeToken", IERC20Metadata, m.getParameter<string>("token"));
  const rewardFund = m.getParameter<bigint>("rewardFund");
  const check = m.contract("StakeTokenCheck");
  const lend = m.call(token, "approve", [check, rewardFund], { id: "approveCheck" });
  const checked = m.call(check, "check", [token, rewardFund], { after: [lend] });
  return { token, check, ...ledgerFutures(m, token, rewardFund, [checked]) };
});
