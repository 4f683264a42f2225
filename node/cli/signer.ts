// The ledger with a wallet as signer: what every command that sends a transaction needs.
import type { Contract } from "ethers";
import { openLedger, type LedgerHandle } from "../chain/ledger.ts";
import { openWallet } from "../wallet/keystore.ts";
import { readPassword } from "../wallet/password.ts";
import { MarginWallet } from "../wallet/margin.ts";
import { SharedWalletNonces } from "../wallet/nonces.ts";

export interface SignedLedger extends LedgerHandle {
  readonly address: string;
  readonly ledgerW: Contract;
  readonly tokenW: Contract;
}

export async function openSigned(rpc: string, deployments: string, walletFile: string, purpose: string, confirmations?: number): Promise<SignedLedger> {
  const pw = await readPassword(purpose);
  const wallet = await openWallet(walletFile, pw);
  const h = await openLedger(rpc, deployments, undefined, confirmations);
  // ethers caches identical requests for 250 ms, so back-to-back transactions on an
  // automining chain would reuse a nonce; the NonceManager counts them locally, and counts
  // again when another process on the same wallet took one (wallet/nonces.ts).
  const signer = new SharedWalletNonces(new MarginWallet(wallet.privateKey, h.provider));
  return { ...h, address: wallet.address, ledgerW: h.ledger.connect(signer) as Contract, tokenW: h.token.connect(signer) as Contract };
}
