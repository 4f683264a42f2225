// Hardhat Ignition module: a new stake token (EfedToken, its whole supply to the deployer),
// the governor and the trust ledger over it (ignition/ledger-futures.ts), the reward pool funded.
// The deployer is the timelock's proposer and executor. Parameters (all optional) are those
// of node/chain/params.ts after conversion; `efed deploy` passes them, or use
// `hardhat ignition deploy --parameters file.json`. Over an existing ERC-20: EfedLedgerOnToken.
import { buildModule } from "@nomicfoundation/hardhat-ignition/modules";
import { defaults, ledgerFutures } from "../ledger-futures.ts";

export default buildModule("EfedLedger", (m) => {
  const admin = m.getAccount(0);
  const token = m.contract("EfedToken", [admin, m.getParameter("tokenSupply", BigInt(defaults.tokenSupply) * 10n ** 18n)]);
  const rewardFund = m.getParameter("rewardFund", BigInt(defaults.rewardFund) * 10n ** 18n);
  return { token, ...ledgerFutures(m, token, rewardFund) };
});
