// Two small helpers every ledger call module uses.
import type { TransactionReceipt } from "ethers";

/** Orders addresses by their numeric value (the ledger's "strictly increasing"). */
export const byAddress = (a: string, b: string) => {
  const x = BigInt(a);
  const y = BigInt(b);
  return x < y ? -1 : x > y ? 1 : 0;
};

/** The receipt of a sent transaction, once mined. */
export async function sent(tx: Promise<{ wait(): Promise<TransactionReceipt | null> }>): Promise<TransactionReceipt> {
  return (await (await tx).wait())!; // wait() is null only for unmined transactions with 0 confirmations
}
