// Hardhat Ignition module: the stake token, the governor (a TimelockController, which is also
// the treasury that slashed stake goes to) and the trust ledger (with the two
// parts it delegates to), with the reward pool funded.
// The deployer is the timelock's proposer and executor. Parameters (all optional) are those
// of node/chain/params.ts after conversion; `efed deploy` passes them, or use
// `hardhat ignition deploy --parameters file.json`.
import { buildModule } from "@nomicfoundation/hardhat-ignition/modules";
import { ZeroAddress } from "ethers";
import { parseDeployParams, toLedgerParams } from "../../node/chain/params.ts";

const defaults = parseDeployParams({});

export default buildModule("EfedLedger", (m) => {
  const admin = m.getAccount(0);
  const token = m.contract("EfedToken", [admin, m.getParameter("tokenSupply", BigInt(defaults.tokenSupply) * 10n ** 18n)]);
  const governor = m.contract("EfedTimelock", [
    m.getParameter("governorDelaySeconds", defaults.governorDelaySeconds),
    [admin],
    [admin],
    ZeroAddress,
  ]);
  const params = { ...toLedgerParams(defaults) };
  const ledgerArgs = [
    token,
    governor,
    governor,
    m.getParameter("modelHash", defaults.modelHash),
    m.getParameter("numLayers", defaults.numLayers),
    m.getParameter("epochSeconds", defaults.epochSeconds),
    m.getParameter("params", params),
  ] as const;
  // the ledger delegates to two parts, each under EIP-170's code size (docs/settlement.md)
  const registry = m.contract("TrustLedgerRegistry", [...ledgerArgs]);
  const court = m.contract("TrustLedgerCourt", [registry, ...ledgerArgs]);
  const ledger = m.contract("TrustLedger", [registry, court, ...ledgerArgs]);
  const rewardFund = m.getParameter("rewardFund", BigInt(defaults.rewardFund) * 10n ** 18n);
  const approval = m.call(token, "approve", [ledger, rewardFund]);
  m.call(ledger, "fundRewards", [rewardFund], { after: [approval] });
  return { token, governor, registry, court, ledger };
});
