// What the dashboard shows of the swarm, read from the ledger: the status snapshot (servers
// with the layers they cover, S_i, stakes, pending rewards; verifiers), each server's S_i
// over epochs (EpochSettled events) and recent settlements, deactivations and slashes.
import { formatUnits } from "ethers";
import { readEvents, type LedgerEvent as ChainEvent } from "../chain/confirmed.ts";
import { decodeSettled } from "../chain/settled.ts";
import type { LedgerHandle } from "../chain/ledger.ts";
import { readStatus, type LedgerStatus, type ServerStatusRow } from "../chain/status.ts";

/** How far back events are read: enough for a local chain's whole life (a block a second),
 * bounded so a long-lived chain does not make every refresh read its whole history. */
export const EVENT_BLOCKS = 20_000;

export interface TrustPoint {
  readonly epoch: number;
  readonly server: string;
  readonly trust: number;
}

export interface LedgerEvent {
  readonly block: number;
  readonly kind: "settled" | "deactivated" | "evidence" | "slashed";
  readonly server: string;
  readonly epoch?: number;
  readonly detail: string;
}

export interface SwarmView {
  readonly status: LedgerStatus & { servers: (ServerStatusRow & { offline: boolean })[] };
  readonly history: TrustPoint[];
  readonly events: LedgerEvent[];
}

const pct = (bps: bigint) => `${(Number(bps) / 100).toFixed(1)}%`;
const trustOf = (x: bigint) => Number(formatUnits(x, 18));

/** Read at the confirmed block (chain/confirmed.ts), events and state alike, and all of it
 * again at each refresh: a reorg leaves nothing behind from the blocks it dropped. */
export async function readSwarmView(h: LedgerHandle, recent = 30): Promise<SwarmView> {
  const { ledger } = h;
  const { block } = await h.confirmed.block();
  const from = Math.max(0, block.number - EVENT_BLOCKS);
  const all = await readEvents(ledger, ["EpochSettled", "ServerDeactivated", "EvidenceSubmitted", "ServerSlashed"], from, block.number);
  const query = (name: string) => all.filter((e) => e.name === name);
  const status = await readStatus(h, block.number);
  const [deactivated, evidence, slashed] = [query("ServerDeactivated"), query("EvidenceSubmitted"), query("ServerSlashed")];
  const settled = query("EpochSettled").flatMap((e) => decodeSettled(e.args.epoch, e.args.settled).map((s) => ({ ...s, blockNumber: e.blockNumber })));
  const args = (e: ChainEvent) => e.args;
  const history: TrustPoint[] = settled.map((s) => ({ epoch: s.epoch, server: s.server, trust: trustOf(s.trust) }));
  const events: LedgerEvent[] = [
    ...settled.map((s) => ({ block: s.blockNumber, kind: "settled" as const, server: s.server, epoch: s.epoch, detail: `accuracy ${pct(BigInt(s.accBps))}, S ${trustOf(s.trust).toFixed(3)}, ${s.tokens} tokens${s.active ? "" : ", off routes"}` })),
    ...deactivated.map((e) => ({ block: e.blockNumber, kind: "deactivated" as const, server: args(e).server as string, epoch: Number(args(e).epoch), detail: `S ${trustOf(args(e).trust).toFixed(3)} < θ` })),
    ...evidence.map((e) => ({ block: e.blockNumber, kind: "evidence" as const, server: args(e).server as string, detail: `evidence of a wrong answer; slash executable from epoch ${args(e).executableFrom}` })),
    ...slashed.map((e) => ({ block: e.blockNumber, kind: "slashed" as const, server: args(e).server as string, detail: `${formatUnits(args(e).stakeSlashed, 18)} tokens of stake slashed` })),
  ];
  events.sort((a, b) => b.block - a.block);
  // a server with no address on the ledger cleared them when it stopped: offline, not deactivated
  const servers = status.servers.map((s) => ({ ...s, offline: s.status === "active" && s.addrs.length === 0 }));
  return { status: { ...status, servers }, history, events: events.slice(0, recent) };
}
