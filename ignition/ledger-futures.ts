// The part both Ignition modules share: over a stake token (deployed by EfedLedger, or an
// existing ERC-20 for EfedLedgerOnToken), the governor (a TimelockController, which is also the
// treasury that slashed stake goes to) and the trust ledger with the two parts it delegates to,
// with the reward pool funded. Future ids are those of the module that calls it.
import type { CallableContractFuture, Future, IgnitionModuleBuilder } from "@nomicfoundation/ignition-core";
import { ZeroAddress } from "ethers";
import { parseDeployParams, toLedgerParams } from "../node/chain/params.ts";

export const defaults = parseDeployParams({});

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Token = CallableContractFuture<any>;

export function ledgerFutures(m: IgnitionModuleBuilder, token: Token, rewardFund: ReturnType<IgnitionModuleBuilder["getParameter"]>, after: Future[] = []) {
  const admin = m.getAccount(0);
  const governor = m.contract("EfedTimelock", [
    m.getParameter("governorDelaySeconds", defaults.governorDelaySeconds),
    [admin],
    [admin],
    ZeroAddress,
  ]);
  const ledgerArgs = [
    token,
    governor,
    governor,
    m.getParameter("modelHash", defaults.modelHash),
    m.getParameter("numLayers", defaults.numLayers),
    m.getParameter("epochSeconds", defaults.epochSeconds),
    m.getParameter("params", { ...toLedgerParams(defaults) }),
  ] as const;
  // the ledger delegates to two parts, each under EIP-170's code size (docs/settlement.md)
  const registry = m.contract("TrustLedgerRegistry", [...ledgerArgs], { after });
  const court = m.contract("TrustLedgerCourt", [registry, ...ledgerArgs]);
  const ledger = m.contract("TrustLedger", [registry, court, ...ledgerArgs]);
  // fundRewards refuses a token that delivers less than was sent (Bonding.sol)
  const approval = m.call(token, "approve", [ledger, rewardFund]);
  m.call(ledger, "fundRewards", [rewardFund], { after: [approval] });
  return { governor, registry, court, ledger };
}
