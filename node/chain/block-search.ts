// Where an epoch's events start: the first block at or after a time, found by bisection over
// block numbers (~log2(height) header reads, cached per time). Event reads about one epoch's
// reports start there instead of at block 0, so they stay a few chunks wide however long the
// chain has run (RPC providers refuse eth_getLogs over wide ranges).
import type { Contract, Provider } from "ethers";
import { LOG_CHUNK } from "./confirmed.ts";

const found = new WeakMap<Provider, Map<number, number>>();
const SETTLED_DEPTH = 64;

/** The first block whose timestamp is ≥ `timestamp` (the block after the head when none is yet). */
export async function firstBlockAtOrAfter(provider: Provider, timestamp: number): Promise<number> {
  let cache = found.get(provider);
  if (cache === undefined) found.set(provider, (cache = new Map()));
  const known = cache.get(timestamp);
  if (known !== undefined) return known;
  const head = await provider.getBlock("latest");
  if (head === null || head.timestamp < timestamp) return (head?.number ?? 0) + 1; // not yet: not cached
  let lo = 0;
  let hi = head.number; // invariant: block hi is at or after `timestamp`
  while (lo < hi) {
    const mid = Math.floor((lo + hi) / 2);
    const b = await provider.getBlock(mid);
    if (b !== null && b.timestamp >= timestamp) hi = mid;
    else lo = mid + 1;
  }
  // kept once well below the head: a reorg (or a test's snapshot) replaces only recent blocks
  if (head.number - hi >= SETTLED_DEPTH) cache.set(timestamp, hi);
  return hi;
}

/** The first block that can hold an event about the reports on `epoch`: commitments open
 * when the epoch ends, and reveals and settlement come later. */
export async function reportsFromBlock(ledger: Contract, epoch: bigint | number): Promise<number> {
  return firstBlockAtOrAfter(ledger.runner!.provider!, Number(await ledger.epochEnd(BigInt(epoch))));
}

/** `ledger.queryFilter(filter, from, "latest")` read LOG_CHUNK blocks at a time. */
export async function queryChunked(ledger: Contract, filter: Parameters<Contract["queryFilter"]>[0], from: number, chunk = LOG_CHUNK) {
  const head = await ledger.runner!.provider!.getBlockNumber();
  const out = [];
  for (let a = from; a <= head; a += chunk) out.push(...(await ledger.queryFilter(filter, a, Math.min(head, a + chunk - 1))));
  return out;
}
