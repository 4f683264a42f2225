// What a running server learns about itself from the ledger, and what it does about it:
// read at the confirmed block (head − confirmations, see chain/confirmed.ts), so a
// deactivation, slash or unstake in a block that a reorganisation later drops never stops it.
import { formatUnits, type Contract } from "ethers";
import type { ConfirmedReader } from "../chain/confirmed.ts";
import { ServerStatus } from "../chain/enums.ts";

/** The server's record as the ledger's getServer returns it (the fields read here). */
interface ServerRecord {
  readonly status: bigint;
  readonly pendingSlash: bigint;
  readonly trust: bigint;
  readonly stake: bigint;
}

export type Standing =
  /** `active`: registered and active at the block read (a registration with fewer
   * confirmations than asked for is not yet: the server serves, but does not re-cover layers). */
  | { readonly kind: "serving"; readonly active: boolean }
  | { readonly kind: "deactivated" | "unstaked"; readonly message: string };

/** Policy: whether a server with this record keeps serving, and what to tell its operator. */
export function standingOf(me: ServerRecord, theta: bigint): Standing {
  const status = Number(me.status);
  if (status === ServerStatus.deactivated || status === ServerStatus.slashed) {
    const why =
      status === ServerStatus.slashed ? "slashed on evidence of a wrong answer"
      : me.pendingSlash > 0n ? "taken off routes: evidence of a wrong answer is on the ledger (slashed after the challenge window)"
      : `deactivated by the verifiers (S_i ${formatUnits(me.trust, 18)} < θ ${formatUnits(theta, 18)})`;
    return { kind: "deactivated", message: `${why}; ${formatUnits(me.stake, 18)} tokens of stake left: \`efed unstake\`, then \`efed withdraw\`` };
  }
  if (status === ServerStatus.exiting) return { kind: "unstaked", message: "unstaked (`efed unstake`): this server leaves the swarm; `efed withdraw` once the unbonding delay has passed" };
  return { kind: "serving", active: status === ServerStatus.active };
}

export interface StandingRead {
  readonly standing: Standing;
  /** The block it was read at. */
  readonly block: number;
  /** Set when a reorg deeper than the confirmations replaced blocks read before. */
  readonly reorgFrom?: number;
}

/** Reads `server`'s standing at the confirmed block. */
export async function readStanding(ledger: Contract, server: string, theta: bigint, confirmed: ConfirmedReader): Promise<StandingRead> {
  const { block, reorgFrom } = await confirmed.block();
  const me = (await ledger.getServer(server, { blockTag: block.number })) as ServerRecord;
  return { standing: standingOf(me, theta), block: block.number, ...(reorgFrom === undefined ? {} : { reorgFrom }) };
}
