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

/** The ledger's epoch as seen from chain time, refreshed every few seconds in the background:
 * what clients and auditors hold receipts to (a receipt signed in another epoch could never
 * be brought as evidence). */
export async function ledgerEpochClock(ledger: { genesis(): Promise<bigint>; epochLength(): Promise<bigint> }, provider: Provider, refreshMs = 5000): Promise<{ epoch: () => bigint; stop: () => void }> {
  const genesis = Number(await ledger.genesis());
  const epochLength = Number(await ledger.epochLength());
  const clock = new ChainClock(provider);
  await clock.refresh();
  const timer = setInterval(() => void clock.refresh().catch(() => {}), refreshMs);
  timer.unref();
  return { epoch: () => clock.epoch(genesis, epochLength), stop: () => clearInterval(timer) };
}
