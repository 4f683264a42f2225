// Typed-enough access to a deployed ledger and token over JSON-RPC (ABIs from artifacts).
import { readFileSync } from "node:fs";
import { Contract, JsonRpcProvider } from "ethers";
import type { ContractRunner, InterfaceAbi } from "ethers";
import { artifactPath, ensureBuilt } from "./hre.ts";
import { probeChain } from "./rpc.ts";
import { readDeployment, type Deployment } from "./deployments.ts";
import { ConfirmedReader, defaultConfirmations } from "./confirmed.ts";

export { SERVER_STATUS, VERIFIER_STATUS } from "./enums.ts";

/** A provider for a node's chain client. ethers shares identical requests made within 250 ms
 * (`cacheTimeout`): a nonce counted again right after another process's transaction — what
 * SharedWalletNonces does when its nonce was taken — would be the stale count, and every
 * retry would fail the same way (seen as "Nonce too low" in deploy.test.ts on a fast VM).
 * Off: every read asks the chain. */
export function rpcProvider(rpc: string): JsonRpcProvider {
  return new JsonRpcProvider(rpc, undefined, { staticNetwork: true, cacheTimeout: -1 });
}

export function loadAbi(contract: string): InterfaceAbi {
  return (JSON.parse(readFileSync(artifactPath(contract), "utf8")) as { abi: InterfaceAbi }).abi;
}

export interface LedgerHandle {
  readonly provider: JsonRpcProvider;
  readonly deployment: Deployment;
  readonly ledger: Contract;
  readonly token: Contract;
  /** Where to read the ledger before acting on it (head − confirmations). */
  readonly confirmed: ConfirmedReader;
}

/** Connects to the chain at `rpc` and the ledger recorded for it in `deploymentsDir`;
 * nodes act on what is `confirmations` blocks deep (default: defaultConfirmations). */
export async function openLedger(rpc: string, deploymentsDir: string, runner?: ContractRunner, confirmations?: number): Promise<LedgerHandle> {
  const chainId = await probeChain(rpc);
  const deployment = readDeployment(deploymentsDir, chainId);
  await ensureBuilt();
  const provider = rpcProvider(rpc);
  const code = await provider.getCode(deployment.ledger);
  if (code === "0x") {
    provider.destroy();
    throw new Error(
      `no ledger at ${deployment.ledger} on chain ${chainId}: the chain was restarted since \`efed deploy\`; deploy again`,
    );
  }
  const r = runner ?? provider;
  return {
    provider,
    deployment,
    ledger: new Contract(deployment.ledger, loadAbi("TrustLedger"), r),
    token: new Contract(deployment.token, loadAbi("EfedToken"), r),
    confirmed: new ConfirmedReader(provider, confirmations ?? defaultConfirmations(chainId)),
  };
}
