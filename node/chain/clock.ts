// The chain's clock, as a node sees it between blocks. Epochs are in chain time, and a local
// chain runs ahead of the wall clock (each block is at least a second after the one before, so
// a burst of transactions pushes it forward): nodes must not count epochs by their own clock.
import type { Provider } from "ethers";

export class ChainClock {
  private readonly provider: Provider;
  private offset = 0; // chain seconds − wall seconds, at the last refresh

  constructor(provider: Provider) {
    this.provider = provider;
  }

  /** Reads the latest block's time; call every few seconds. */
  async refresh(): Promise<void> {
    const block = await this.provider.getBlock("latest");
    if (block !== null) this.offset = block.timestamp - Date.now() / 1000;
  }

  /** Chain time now, in seconds (estimated from the last refresh). */
  now(): number {
    return Date.now() / 1000 + this.offset;
  }

  /** The epoch at chain time now. */
  epoch(genesis: number, epochLength: number): bigint {
    return BigInt(Math.max(0, Math.floor((this.now() - genesis) / epochLength)));
  }
}
