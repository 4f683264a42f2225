// Where nodes read the ledger before they act on it: the newest block with `confirmations`
// blocks on top of it (head − N), never the head itself. A block that a reorganisation may
// still drop is then never acted on: a server is not stopped, a route not changed, by a
// transaction that ends up orphaned. Reads are state reads at that block (`blockTag`), or
// event reads up to it; each time, the block last returned is checked against the chain, so a
// reorg deeper than N (which confirmations cannot prevent) is noticed and named: the caller
// reads again from the first block that changed rather than keep what it read there.
import type { Contract, LogDescription, Provider } from "ethers";
import { LOCAL_CHAIN_ID } from "./rpc.ts";

/** Confirmations by default off the local chain. Ethereum's proof-of-stake chain has not
 * reorganised deeper than a few blocks since the merge (12 blocks ≈ 2.4 min there); rollups
 * (Base, Arbitrum, Optimism) make blocks every 0.25–2 s, so 12 of them cost seconds. Finality
 * proper (two epochs, ~13 min on Ethereum) would hold servers and routes back too long. */
export const REMOTE_CONFIRMATIONS = 12;

/** 0 on the embedded local chain (one process mines it and nothing reorganises it), else
 * REMOTE_CONFIRMATIONS. */
export function defaultConfirmations(chainId: bigint): number {
  return chainId === LOCAL_CHAIN_ID ? 0 : REMOTE_CONFIRMATIONS;
}

export interface BlockRef {
  readonly number: number;
  readonly hash: string;
}

export interface ConfirmedBlock {
  /** The block to read at: head − confirmations (at least block 0). */
  readonly block: BlockRef;
  /** Set when a reorg replaced a block returned before: the first block number that changed.
   * What was read at or after it is void; state reads at `block` are already on the new chain. */
  readonly reorgFrom?: number;
}

/** Blocks remembered to find where a reorg forked (a deeper one is reported from the oldest). */
const KEEP = 64;

export class ConfirmedReader {
  readonly confirmations: number;
  private readonly provider: Provider;
  private readonly seen: BlockRef[] = []; // returned before, oldest first

  constructor(provider: Provider, confirmations: number) {
    if (!Number.isInteger(confirmations) || confirmations < 0) throw new RangeError(`confirmations must be a whole number ≥ 0, not ${confirmations}`);
    this.provider = provider;
    this.confirmations = confirmations;
  }

  /** The newest confirmed block, and where a reorg forked if one replaced blocks returned before. */
  async block(): Promise<ConfirmedBlock> {
    const head = await this.provider.getBlockNumber();
    const number = Math.max(0, head - this.confirmations);
    const b = await this.provider.getBlock(number);
    if (b === null || b.hash === null) throw new Error(`the chain has no block ${number} (head ${head})`);
    const block = { number, hash: b.hash };
    let last = this.seen.at(-1);
    // the same block as last time needs no other look-up (polled every few seconds)
    const same = last !== undefined && last.number === number && last.hash === block.hash;
    const reorgFrom = same ? undefined : await this.forkPoint();
    last = this.seen.at(-1);
    if (last === undefined || last.number !== number || last.hash !== block.hash) this.seen.push(block);
    if (this.seen.length > KEEP) this.seen.splice(0, this.seen.length - KEEP);
    return reorgFrom === undefined ? { block } : { block, reorgFrom };
  }

  /** The first block number, among those returned before, that is no longer on the chain;
   * undefined when the newest one still is (then so are all before it). */
  private async forkPoint(): Promise<number | undefined> {
    let forked: number | undefined;
    while (this.seen.length > 0) {
      const last = this.seen[this.seen.length - 1];
      const now = await this.provider.getBlock(last.number);
      if (now !== null && now.hash === last.hash) break;
      forked = last.number;
      this.seen.pop();
    }
    if (forked === undefined) return undefined;
    // the newest block still on the chain is below the fork; the fork is just above it
    const kept = this.seen.at(-1);
    return kept === undefined ? forked : kept.number + 1;
  }
}

/** An event of the ledger, decoded, with where it was mined. */
export interface LedgerEvent {
  readonly name: string;
  readonly args: LogDescription["args"];
  readonly blockNumber: number;
  readonly blockHash: string;
  readonly transactionHash: string;
}

/** Blocks per eth_getLogs request: public RPC providers refuse wide ranges (2,000 to 10,000
 * blocks is a common cap). */
export const LOG_CHUNK = 2000;

/** The events named `names` that `contract` emitted in blocks [from, to], oldest first, read
 * `chunk` blocks at a time. Give `to` from ConfirmedReader.block() to read confirmed events only. */
export async function readEvents(contract: Contract, names: readonly string[], from: number, to: number, chunk = LOG_CHUNK): Promise<LedgerEvent[]> {
  const provider = contract.runner!.provider!;
  const address = await contract.getAddress();
  const topics = [names.map((n) => contract.interface.getEvent(n)!.topicHash)];
  const out: LedgerEvent[] = [];
  for (let a = from; a <= to; a += chunk) {
    const logs = await provider.getLogs({ address, topics, fromBlock: a, toBlock: Math.min(to, a + chunk - 1) });
    for (const log of logs) {
      const e = contract.interface.parseLog(log);
      if (e !== null) out.push({ name: e.name, args: e.args, blockNumber: log.blockNumber, blockHash: log.blockHash, transactionHash: log.transactionHash });
    }
  }
  return out;
}
