// Hardhat Ignition module: the stake token and the trust ledger, with the reward pool
// funded. Parameters (all optional) are those of node/chain/params.ts after conversion;
// `efed deploy` passes them, or use `hardhat ignition deploy --parameters file.json`.
import { buildModule } from "@nomicfoundation/hardhat-ignition/modules";
import { parseDeployParams, toLedgerParams } from "../../node/chain/params.ts";

const defaults = parseDeployParams({});

export default buildModule("EfedLedger", (m) => {
  const admin = m.getAccount(0);
  const token = m.contract("EfedToken", [admin, m.getParameter("tokenSupply", BigInt(defaults.tokenSupply) * 10n ** 18n)]);
  const params = { ...toLedgerParams(defaults) };
  const ledger = m.contract("TrustLedger", [
    token,
    admin,
    m.getParameter("modelHash", defaults.modelHash),
    m.getParameter("numLayers", defaults.numLayers),
    m.getParameter("epochSeconds", defaults.epochSeconds),
    m.getParameter("params", params),
  ]);
  const rewardFund = m.getParameter("rewardFund", BigInt(defaults.rewardFund) * 10n ** 18n);
  const approval = m.call(token, "approve", [ledger, rewardFund]);
  m.call(ledger, "fundRewards", [rewardFund], { after: [approval] });
  return { token, ledger };
});
