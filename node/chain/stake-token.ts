// An existing ERC-20 as the stake token (`efed deploy --token`): what is checked before any
// transaction (code, 18 decimals, the deployer's balance), and the on-chain refusals of
// StakeTokenCheck and the ledger (fee on transfer, rebasing) turned into one clear line.
import { Contract, formatUnits, type Provider } from "ethers";

export class StakeTokenError extends Error {
  override readonly name = "StakeTokenError";
}

const ERC20 = ["function decimals() view returns (uint8)", "function symbol() view returns (string)", "function balanceOf(address) view returns (uint256)"];

/** Checks `token` before deploying over it; returns its symbol. */
export async function precheckStakeToken(provider: Provider, token: string, deployer: string, rewardFund: bigint): Promise<string> {
  if ((await provider.getCode(token)) === "0x") throw new StakeTokenError(`--token ${token}: no contract at that address on this chain`);
  const erc20 = new Contract(token, ERC20, provider);
  let decimals: bigint;
  try {
    decimals = await erc20.decimals();
  } catch {
    throw new StakeTokenError(`--token ${token} has no decimals(): efed counts stake in 18-decimal units, so the token must have 18`);
  }
  // every amount on the command line (--stake, params) is read with 18 decimals
  if (decimals !== 18n) throw new StakeTokenError(`--token ${token} has ${decimals} decimals: efed counts stake in 18-decimal units, so the token must have 18`);
  const symbol = await erc20.symbol().catch(() => "tokens");
  if (rewardFund <= 0n) throw new StakeTokenError(`rewardFund must be above 0 with --token: the deployment moves it in and out to check the token, then funds the reward pool with it`);
  const balance: bigint = await erc20.balanceOf(deployer);
  if (balance < rewardFund) throw new StakeTokenError(`the deployer ${deployer} holds ${formatUnits(balance, 18)} ${symbol}; rewardFund needs ${formatUnits(rewardFund, 18)} (lower rewardFund in --params, or fund the deployer)`);
  return symbol;
}

/** The token refusals a failed deployment may carry, as one line; undefined for other failures. */
export function explainTokenRefusal(token: string, err: unknown): StakeTokenError | undefined {
  const text = String((err as Error)?.message ?? err);
  const fee = /(StakeTokenFeeOnTransfer|TrustLedgerTokenNotExact)\(([^)]*)\)/.exec(text);
  if (fee !== null) {
    const nums = fee[2].split(/[,\s]+/).filter((x) => /^\d+$/.test(x.replace(/"/g, "")));
    const [sent, received] = nums.slice(-2).map((x) => BigInt(x.replace(/"/g, "")));
    const detail = sent !== undefined && received !== undefined ? ` (sent ${formatUnits(sent, 18)}, received ${formatUnits(received, 18)})` : "";
    return new StakeTokenError(`--token ${token} takes a fee on transfer${detail}: the ledger books what is sent, so it cannot use this token; use a token without transfer fees`);
  }
  const rebasing = /StakeTokenRebasing\(([^)]*)\)/.exec(text);
  if (rebasing !== null) {
    return new StakeTokenError(`--token ${token} is a rebasing token (it answers a rebasing token's function, ${rebasing[1].split(/[,\s]+/).pop()}): balances that change by themselves break the ledger's books; use a non-rebasing wrapper of it (as wstETH wraps stETH)`);
  }
  return undefined;
}
