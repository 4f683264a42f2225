// Funding on the embedded local chain: the deployer (the node's first unlocked account)
// sends gas money and stake tokens. Other networks refuse: there is no faucet there.
import { NonceManager, parseEther, parseUnits, type JsonRpcProvider } from "ethers";
import type { LedgerHandle } from "../chain/ledger.ts";
import { LOCAL_CHAIN_ID } from "../chain/rpc.ts";

export class FundingRefusedError extends Error {
  override readonly name = "FundingRefusedError";
}

export async function fundAddress(h: LedgerHandle, address: string, tokens = "1000", ether = "10"): Promise<{ tokens: bigint; ether: bigint }> {
  const chainId = BigInt(h.deployment.chainId);
  if (chainId !== LOCAL_CHAIN_ID) throw new FundingRefusedError(fundingRefusal(chainId, h.deployment.token, address));
  const provider = h.provider as JsonRpcProvider;
  const deployer = new NonceManager(await provider.getSigner(0)); // see cli/signer.ts
  const wei = parseEther(ether);
  const amount = parseUnits(tokens, 18);
  await (await deployer.sendTransaction({ to: address, value: wei })).wait();
  const token = h.token.connect(deployer) as typeof h.token;
  await (await token.transfer(address, amount)).wait();
  return { tokens: amount, ether: wei };
}

/** Why nothing is funded off the local chain, and what to do instead. */
export function fundingRefusal(chainId: bigint, token: string, address: string): string {
  return (
    `funding only works on the embedded local chain (chain id ${LOCAL_CHAIN_ID}), where the deployer's test tokens and ether are free; ` +
    `this is chain ${chainId}, where nothing is minted: send ${address} gas money from your own account (or a faucet, on a testnet) ` +
    `and stake tokens (${token}) from an account that holds them, e.g. the deployer's`
  );
}
