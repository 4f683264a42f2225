// Funding on the embedded local chain: the deployer (the node's first unlocked account)
// sends gas money and stake tokens. Other networks refuse: there is no faucet there.
import { NonceManager, parseEther, parseUnits, type JsonRpcProvider } from "ethers";
import type { LedgerHandle } from "../chain/ledger.ts";

export const LOCAL_CHAIN_ID = 31337n;

export class FundingRefusedError extends Error {
  override readonly name = "FundingRefusedError";
}

export async function fundAddress(h: LedgerHandle, address: string, tokens = "1000", ether = "10"): Promise<{ tokens: bigint; ether: bigint }> {
  const chainId = BigInt(h.deployment.chainId);
  if (chainId !== LOCAL_CHAIN_ID) {
    throw new FundingRefusedError(`funding is only for the embedded local chain (chain id 31337); this is chain ${chainId}: get tokens from the network's operators`);
  }
  const provider = h.provider as JsonRpcProvider;
  const deployer = new NonceManager(await provider.getSigner(0)); // see cli/signer.ts
  const wei = parseEther(ether);
  const amount = parseUnits(tokens, 18);
  await (await deployer.sendTransaction({ to: address, value: wei })).wait();
  const token = h.token.connect(deployer) as typeof h.token;
  await (await token.transfer(address, amount)).wait();
  return { tokens: amount, ether: wei };
}
