// The ledger's EpochSettled event: one per settlement call, its `settled` bytes packing each
// settled server as `server (20) ‖ accBps (2) ‖ trust (8) ‖ tokens (4) ‖ active (1)` (one
// event per server cost a third of a server's settlement gas; see docs/settlement.md "Gas").
import { getAddress } from "ethers";
import type { Contract } from "ethers";

export const SETTLED_BYTES = 35;

/** One server's settlement for one epoch, as the ledger recorded it. */
export interface Settled {
  epoch: number;
  server: string;
  accBps: number;
  /** S_i in 1e18 fixed point. */
  trust: bigint;
  tokens: number;
  active: boolean;
}

/** The servers packed in one EpochSettled event's `settled` bytes. */
export function decodeSettled(epoch: bigint | number, settled: string): Settled[] {
  const hex = settled.slice(2);
  if (hex.length % (SETTLED_BYTES * 2) !== 0) throw new Error(`EpochSettled: ${hex.length / 2} bytes is not a whole number of ${SETTLED_BYTES}-byte records`);
  const out: Settled[] = [];
  for (let i = 0; i < hex.length; i += SETTLED_BYTES * 2) {
    const at = (from: number, bytes: number) => hex.slice(i + from * 2, i + (from + bytes) * 2);
    out.push({
      epoch: Number(epoch),
      server: getAddress("0x" + at(0, 20)),
      accBps: parseInt(at(20, 2), 16),
      trust: BigInt("0x" + at(22, 8)),
      tokens: parseInt(at(30, 4), 16),
      active: at(34, 1) === "01",
    });
  }
  return out;
}

/** The servers settled by the EpochSettled events in `logs` (as parsed by the ledger's interface). */
export function settledOf(logs: readonly { name: string; args: { epoch: bigint; settled: string } | Record<string, unknown> }[]): Settled[] {
  return logs.filter((e) => e.name === "EpochSettled").flatMap((e) => decodeSettled(e.args.epoch as bigint, e.args.settled as string));
}

/** Settlements on the ledger in blocks [fromBlock, toBlock], of `epoch` when given. */
export async function readSettled(ledger: Contract, opts: { epoch?: number | bigint; fromBlock?: number; toBlock?: number } = {}): Promise<Settled[]> {
  const logs = await ledger.queryFilter(ledger.filters.EpochSettled(opts.epoch ?? null), opts.fromBlock ?? 0, opts.toBlock ?? "latest");
  return logs.flatMap((l) => {
    const args = (l as unknown as { args: { epoch: bigint; settled: string } }).args;
    return decodeSettled(args.epoch, args.settled);
  });
}
