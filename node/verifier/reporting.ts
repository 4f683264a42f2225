// The committee's per-epoch report, the cheap way the ledger allows (docs/settlement.md):
// during epoch e+1 each member signs a commitment to its report on e and gossips it; the
// epoch's aggregator puts every signed commitment on chain in one transaction, and a member
// whose commitment is not there by 35% of the epoch commits by its own. Once commits close
// (mid e+1) members gossip their report and salt; in epoch e+2 the aggregator settles with
// all of them, which reveals them on chain in the same transaction. Fallbacks keep any one
// member from stalling it: a member not yet counted by 25% of e+2 reveals on chain itself,
// and past the middle of e+2 anyone settles, leaving out reports revealed neither way.
// Cheaper still, and tried first: once every report is at hand members sign the medians they
// computed (attesting.ts), and the aggregator settles from those signatures without carrying
// the reports; short of 2/3 of the stake signed by 25% of e+2, the reports are carried.
import { reportCommitment, ReportsMissingError } from "../chain/settlement.ts";
import type { ResultEntry } from "./port.ts";
import { aggregatorFor } from "./plan.ts";
import { ReportStatus } from "../chain/enums.ts";

export type { ReportGossip, ReportingOptions, ReportingPort, ReportState, SignedCommitment } from "./reporting-port.ts";
import type { ReportGossip, ReportingOptions, ReportingPort, SignedCommitment } from "./reporting-port.ts";

interface Own {
  text: string;
  salt: string;
  signed: SignedCommitment;
  committed: boolean;
  revealedOnChain: boolean;
  commitmentSentAt: number;
  revealSentAt: number;
  ownCommits: number;
}

const MAX_EPOCHS_HELD = 4;
const MAX_MEMBERS = 512; // per epoch, far beyond any committee: gossip is open to anyone
const REGOSSIP_MS = 2_000; // gossipsub drops messages to peers not yet in the mesh: say it again
const RETRY_MS = 4_000; // a settlement still missing a report: each try reads the chain's reports again

export class EpochReports {
  private readonly port: ReportingPort;
  private readonly o: ReportingOptions;
  private readonly own = new Map<number, Own | "none">();
  private readonly commitments = new Map<number, Map<string, SignedCommitment>>();
  private readonly reveals = new Map<number, Map<string, { results: string; salt: string }>>();
  private readonly batched = new Set<number>();
  private readonly settled = new Set<number>();
  private readonly retryAt = new Map<number, number>();
  /** Epochs whose settlement waits for a committed member's reveal (said once). */
  private readonly waitingFor = new Set<number>();
  /** Epochs settled (at the head) or given up on by the attested path: not tried again. */
  private readonly attestDone = new Set<number>();
  /** Epochs seen settled at the head, with the head then (settled for good once confirmed). */
  private readonly settledAt = new Map<number, number>();
  readonly stats = { commits: 0, batches: 0, reveals: 0, onChainReveals: 0, settlements: 0 };

  constructor(port: ReportingPort, o: ReportingOptions) {
    this.port = port;
    this.o = o;
  }

  /** Duties for the report on `epoch` while the chain is in epoch+1, `into` it (0..1). */
  async report(epoch: number, into: number, results: () => ResultEntry[]): Promise<void> {
    let own = this.own.get(epoch);
    if (own === undefined) {
      const committee = await this.port.committee(epoch);
      const entries = committee.members.has(this.port.address) && into < 0.5 ? results() : [];
      if (entries.length === 0) {
        // not a member, too late to commit, or nothing to report: an empty report names no
        // server, so it moves no median and counts toward no server's 2/3; committing it would
        // cost a commitment and an on-chain reveal (no settlement carries a report when no
        // report names a server), and a strike if that reveal missed its window
        this.own.set(epoch, "none");
        own = "none";
      } else {
        const s = await this.port.signCommitment(epoch, entries);
        own = { text: s.text, salt: s.salt, signed: s.signed, committed: false, revealedOnChain: false, commitmentSentAt: 0, revealSentAt: 0, ownCommits: 0 };
        this.own.set(epoch, own);
        this.hold(this.commitments, epoch).set(this.port.address, s.signed);
      }
    }
    if (own === "none") {
      // the aggregator batches the others' commitments all the same, and a member signs the
      // medians all the same: its stake counts toward the 2/3
      if (into >= 0.2 && into < 0.5 && !this.batched.has(epoch) && (await this.isAggregator(epoch))) await this.submitBatch(epoch);
      if (into >= 0.55) await this.attest(epoch);
      return;
    }
    if (into < 0.5) {
      await this.gossipCommitment(epoch, own);
      if (into >= 0.2 && !this.batched.has(epoch) && (await this.isAggregator(epoch))) await this.submitBatch(epoch);
      if (into >= 0.35 && !own.committed) {
        // done once the confirmed block holds it; a commitment only at the head (ours or the
        // batch's) is waited for, and made again by our own transaction if a reorg drops it
        const state = await this.port.reportState(epoch, this.port.address);
        if (state.confirmed !== ReportStatus.none) {
          own.committed = true;
          this.stats.commits++;
        } else if (state.head === ReportStatus.none) {
          await this.port.commitOwn(epoch, own.signed.commitment);
          this.o.say(`report on epoch ${epoch}: committed by our own transaction (${own.ownCommits++ === 0 ? "not in a batch by 35% of the epoch" : "the last one was dropped by a reorg"})`);
        }
      }
    } else if (into >= 0.55 && !this.settled.has(epoch)) {
      await this.gossipReveal(epoch, own);
      await this.attest(epoch);
    }
  }

  private async attest(epoch: number): Promise<void> {
    if (!this.settled.has(epoch)) await this.o.attestations?.attest(epoch, this.reveals.get(epoch) ?? new Map());
  }

  /** The aggregator's first try, in the first half of e+2: the committee's signed medians.
   * True while it waits for them (or has settled with them); false to carry the reports. */
  private async settleAttested(epoch: number, into: number): Promise<boolean> {
    const attestations = this.o.attestations;
    // not near the middle of e+2, where the ledger stops taking it (block times are not ours)
    if (attestations === undefined || this.attestDone.has(epoch) || into >= 0.45) return false;
    let n: number | "none" | "short";
    try {
      n = await attestations.settle(epoch);
    } catch (err) {
      this.attestDone.add(epoch);
      this.o.say(`settlement: the committee's signed medians for epoch ${epoch} were refused (${err instanceof Error ? err.message : String(err)}): carrying the reports instead`);
      return false;
    }
    if (typeof n !== "number") {
      if (into < (this.o.aggregateAt ?? 0.1) + (this.o.attestWait ?? 0.15)) return true;
      this.attestDone.add(epoch);
      // "none": a report is missing (the reports' path says so) or there is nothing to settle
      if (n === "short") this.o.say(`settlement: too few signed medians for epoch ${epoch} by ${Math.round(100 * into)}% of the epoch: carrying the reports instead`);
      return false;
    }
    this.attestDone.add(epoch); // later looks (until it is confirmed) go through settleEpoch, which sees it
    await this.settledNow(epoch, n, undefined, true, "signed medians");
    return true;
  }

  /** Duties for `epoch` while the chain is in epoch+2: settle, or reveal on chain if nobody has. */
  async settle(epoch: number, into: number): Promise<void> {
    const own = this.own.get(epoch);
    if (own !== undefined && own !== "none" && !this.settled.has(epoch)) await this.gossipReveal(epoch, own);
    if (into < 0.5) await this.attest(epoch); // reveals that came late
    // the chain says whether a settlement carried our report: ask it, not our own bookkeeping
    if (own !== undefined && own !== "none" && !own.revealedOnChain && into >= 0.25 && into < 0.5) {
      // done when the confirmed block has it revealed, or never had it committed and the head
      // has not either; revealed at the head only (a settlement or ours): wait for it
      const state = await this.port.reportState(epoch, this.port.address);
      if (state.confirmed === ReportStatus.revealed || (state.confirmed === ReportStatus.none && state.head === ReportStatus.none)) own.revealedOnChain = true;
      else if (state.head === ReportStatus.committed) {
        await this.port.revealOnChain(epoch, own.text, own.salt);
        this.stats.onChainReveals++;
        this.o.say(`report on epoch ${epoch}: revealed on chain (no settlement had carried it by 25% of the epoch)`);
      }
    }
    if (this.settled.has(epoch) || Date.now() < (this.retryAt.get(epoch) ?? 0)) return;
    const mine = await this.isAggregator(epoch);
    if (into < (mine ? (this.o.aggregateAt ?? 0.1) : (this.o.fallbackAt ?? 0.6))) return;
    if (mine && (await this.settleAttested(epoch, into))) return;
    this.retryAt.set(epoch, Date.now() + RETRY_MS); // a failure (a report still missing) is tried again
    const seenAt = this.settledAt.get(epoch);
    // reports left unrevealed are struck once, not on every look at a settlement being confirmed
    let n: number;
    try {
      n = await this.port.settle(epoch, this.reveals.get(epoch) ?? new Map(), into >= 0.5 && seenAt === undefined);
    } catch (err) {
      if (!(err instanceof ReportsMissingError)) throw err;
      // nothing was sent: said once an epoch, not as a failed transaction on every retry
      if (!this.waitingFor.has(epoch)) this.o.say(`settlement: ${err.message}`);
      this.waitingFor.add(epoch);
      return;
    }
    if (n === 0) return; // no report to settle with yet (none revealed, none usable): try again
    await this.settledNow(epoch, n, seenAt, mine, "the reports");
  }

  /** Settled now (n > 0), or nothing left to settle (n < 0), at the head: final once the head
   * of then is confirmed and the chain still says so (a reorg that dropped it: settled again). */
  private async settledNow(epoch: number, n: number, seenAt: number | undefined, mine: boolean, how: string): Promise<void> {
    const b = await this.port.blocks?.();
    if (n > 0 || seenAt === undefined) this.settledAt.set(epoch, b?.head ?? 0);
    if (b === undefined || b.confirmed >= this.settledAt.get(epoch)!) this.settled.add(epoch);
    if (n > 0) {
      this.stats.settlements++;
      this.o.say(`settled epoch ${epoch} for ${n} server(s) from ${how}${seenAt !== undefined ? " again (a reorg dropped the settlement)" : mine ? "" : " (after the aggregator's deadline)"}`);
    }
  }

  /** A reorg deeper than the confirmations dropped blocks this reporting had counted on:
   * what it took as committed, revealed or settled is looked at again. */
  reorged(): void {
    for (const own of this.own.values()) {
      if (own === "none") continue;
      own.committed = false;
      own.revealedOnChain = false;
    }
    this.settled.clear();
    this.settledAt.clear();
    this.attestDone.clear();
    this.o.attestations?.reorged();
    this.batched.clear();
    this.retryAt.clear();
  }

  /** A commitment or report from another member, kept for the batch or the settlement. */
  onGossip(g: ReportGossip): void {
    const epoch = Number(g.epoch);
    const verifier = String(g.verifier).toLowerCase();
    if (!Number.isSafeInteger(epoch) || epoch < 0) return;
    if (g.kind === "commitment") {
      const c = { verifier, commitment: String(g.commitment), sig: String(g.sig) };
      const held = this.hold(this.commitments, epoch);
      if ((held.has(verifier) || held.size < MAX_MEMBERS) && this.port.checkCommitment(epoch, c)) held.set(verifier, c);
    } else if (g.kind === "reveal") {
      // reveals are not signed: one that does not open the signed commitment we hold is
      // dropped, so nobody can overwrite a member's report with junk (the settlement also
      // checks each against the chain's commitments: a bad one would sink it)
      const r = { results: String(g.results), salt: String(g.salt) };
      const held = this.hold(this.reveals, epoch);
      const c = this.commitments.get(epoch)?.get(verifier);
      let opens: boolean;
      try {
        opens = c !== undefined && reportCommitment(epoch, verifier, r.results, r.salt) === c.commitment.toLowerCase();
      } catch {
        return; // not hex: not a report
      }
      if (opens || (!held.has(verifier) && held.size < MAX_MEMBERS)) held.set(verifier, r);
    }
  }

  /** Forgets epochs older than `oldest`. */
  prune(oldest: number): void {
    for (const m of [this.own, this.commitments, this.reveals] as Map<number, unknown>[]) for (const e of m.keys()) if (e < oldest) m.delete(e);
    for (const s of [this.batched, this.settled, this.waitingFor, this.attestDone]) for (const e of s) if (e < oldest) s.delete(e);
    this.o.attestations?.prune(oldest);
    for (const m of [this.retryAt, this.settledAt]) for (const e of m.keys()) if (e < oldest) m.delete(e);
  }

  private async isAggregator(epoch: number): Promise<boolean> {
    return aggregatorFor(epoch, [...(await this.port.committee(epoch)).members.keys()]) === this.port.address;
  }

  private async submitBatch(epoch: number): Promise<void> {
    const committee = await this.port.committee(epoch);
    const signed = [...(this.commitments.get(epoch)?.values() ?? [])].filter((c) => committee.members.has(c.verifier));
    await this.port.commitBatch(epoch, signed);
    this.batched.add(epoch);
    this.stats.batches++;
    this.o.say(`report on epoch ${epoch}: committed ${signed.length} of ${committee.members.size} members' reports in one transaction`);
  }

  private async gossipCommitment(epoch: number, own: Own): Promise<void> {
    if (own.committed || Date.now() - own.commitmentSentAt < REGOSSIP_MS) return;
    own.commitmentSentAt = Date.now();
    await this.o.publish({ kind: "commitment", epoch, ...own.signed });
  }

  private async gossipReveal(epoch: number, own: Own): Promise<void> {
    if (Date.now() - own.revealSentAt < REGOSSIP_MS) return;
    if (own.revealSentAt === 0) this.stats.reveals++;
    own.revealSentAt = Date.now();
    this.hold(this.reveals, epoch).set(this.port.address, { results: own.text, salt: own.salt });
    await this.o.publish({ kind: "reveal", epoch, verifier: this.port.address, results: own.text, salt: own.salt });
  }

  private hold<T>(m: Map<number, Map<string, T>>, epoch: number): Map<string, T> {
    let inner = m.get(epoch);
    if (inner === undefined) {
      inner = new Map();
      m.set(epoch, inner);
      if (m.size > MAX_EPOCHS_HELD * 2) m.delete(Math.min(...m.keys())); // bounded: gossip is open to anyone
    }
    return inner;
  }
}
