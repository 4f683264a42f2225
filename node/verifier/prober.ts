// Reachability probes: what a client does before every session (read the active servers with
// addresses from the ledger, ping each from a fresh identity: client/network.ts measureRtts),
// done by the verifier a few times an epoch at secret, jittered times. A server cannot tell a
// probe from a client choosing a route, so it cannot answer the verifiers alone. The answers
// go to a LivenessLog; a server silent all epoch goes into the report as unreachable.
import type { Contract } from "ethers";
import { readCandidates } from "../chain/registry.ts";
import { measureRtts } from "../client/network.ts";
import { createNode } from "../p2p/host.ts";
import { LivenessLog, type ProbeOutcome } from "./liveness.ts";
import { epochSeed, probeTimes, seededRandom } from "./plan.ts";
import type { ResultEntry } from "./port.ts";

/** One probe round: every server tried, whether it answered. */
export type Probe = () => Promise<ProbeOutcome[]>;

/** Probes the ledger's active servers that publish addresses (one that cleared them left on
 * purpose: clients skip it, and so do we). `timeoutMs`: per address, as a client waits. */
export function ledgerProbe(ledger: Contract, timeoutMs = 5000): Probe {
  return async () => {
    const cands = (await readCandidates(ledger)).filter((c) => c.addrs.length > 0);
    if (cands.length === 0) return [];
    const node = await createNode({ autoNat: false }); // a fresh identity, as every client has
    try {
      return (await measureRtts(node, cands, timeoutMs)).map((c) => ({ server: String(c.account).toLowerCase(), answered: c.rttMs !== Infinity }));
    } finally {
      await Promise.resolve(node.stop()).catch(() => {});
    }
  };
}

export interface ProberOptions {
  /** Probe rounds an epoch (default 4). */
  readonly rounds?: number;
  /** Silent rounds needed to report a server (default 3: one blip is not enough). */
  readonly minTries?: number;
  /** The verifier's secret: probe times are unpredictable without it. */
  readonly secret: string;
  readonly say: (line: string) => void;
}

/** The chain's time and epoch timing, as the daemon last read them (now 0: not yet). */
export type ChainTiming = () => { now: number; genesis: number; epochLength: number };

export class Prober {
  private readonly probe: Probe;
  private readonly timing: ChainTiming;
  private readonly o: ProberOptions;
  private readonly log = new LivenessLog();
  private readonly plans = new Map<number, number[]>();
  private stopping = false;
  private loop?: Promise<void>;

  constructor(c: { probe: Probe; timing: ChainTiming }, o: ProberOptions) {
    this.probe = c.probe;
    this.timing = c.timing;
    this.o = o;
  }

  /** Runs apart from audits, so a long audit never delays a round. */
  start(): void {
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await this.loop;
  }

  /** The unreachable entries of this verifier's report on `epoch`, each said in the log. */
  unreachable(epoch: number): ResultEntry[] {
    const { epochLength } = this.timing();
    const out = this.log.unreachable(epoch, { minTries: this.o.minTries ?? 3, minSpan: 0.2 * epochLength });
    for (const e of out) this.o.say(`report on epoch ${epoch}: ${e.server} did not answer ${this.log.tries(epoch, e.server)} tries over the epoch: reported unreachable (acc 0, to be taken off routes, not slashed)`);
    return out;
  }

  private async run(): Promise<void> {
    while (!this.stopping) {
      try {
        await this.roundIfDue();
      } catch (err) {
        this.o.say(`probe: ${(err as Error).message}`);
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  private async roundIfDue(): Promise<void> {
    const { now, genesis, epochLength } = this.timing();
    if (now === 0) return;
    const epoch = Math.floor((now - genesis) / epochLength);
    let at = this.plans.get(epoch);
    if (at === undefined) {
      const rand = seededRandom(`${epochSeed(this.o.secret, epoch)}:probe`);
      at = probeTimes(genesis + epoch * epochLength, epochLength, this.o.rounds ?? 4, rand);
      this.plans.set(epoch, at);
      for (const e of this.plans.keys()) if (e < epoch) this.plans.delete(e);
      this.log.prune(epoch - 3);
    }
    if (at.length === 0 || at[0] > now) return;
    while (at.length > 0 && at[0] <= now) at.shift(); // rounds missed while busy count as one
    this.log.record(epoch, now, await this.probe());
  }
}
