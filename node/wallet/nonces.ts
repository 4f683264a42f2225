// Nonces for a wallet that more than one process may use at once: a running verifier or server
// and its operator's `efed claim` or `efed unstake`. ethers' NonceManager counts nonces
// locally (an automining chain would otherwise reuse one, see cli/signer.ts); when another
// process took the nonce it meant to use, every later transaction of it would fail. This one
// counts again from the chain and resends (the refused transaction never reached a block).
import { isError, NonceManager, type TransactionRequest, type TransactionResponse } from "ethers";

const TRIES = 3;

/** True for a transaction refused because its nonce was used already. */
export function nonceTaken(err: unknown): boolean {
  return isError(err, "NONCE_EXPIRED") || /nonce too low|nonce has already been used/i.test(String((err as Error | undefined)?.message));
}

export class SharedWalletNonces extends NonceManager {
  override async sendTransaction(tx: TransactionRequest): Promise<TransactionResponse> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await super.sendTransaction(tx);
      } catch (err) {
        if (attempt >= TRIES || !nonceTaken(err)) throw err;
        this.reset();
      }
    }
  }
}
