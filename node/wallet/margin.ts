// A wallet that sends each transaction with a quarter more gas than estimated. Estimates are
// made against the state before the transaction; when other nodes' transactions land first
// (servers registering together, verifiers settling), the same call can need more — and a
// transaction that runs out of gas still costs its fee and does nothing.
import { Wallet, type Provider, type TransactionRequest } from "ethers";

export class MarginWallet extends Wallet {
  constructor(privateKey: string, provider?: Provider | null) {
    super(privateKey, provider);
  }

  override async estimateGas(tx: TransactionRequest): Promise<bigint> {
    return ((await super.estimateGas(tx)) * 5n) / 4n;
  }
}
