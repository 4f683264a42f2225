// The committee's signed medians (docs/settlement.md, "Attested settlement"): once every
// committed report on an epoch is at hand (reveals are gossiped from the middle of e+1), each
// member computes the medians itself, signs them and gossips its signature; in e+2 the
// aggregator settles with signatures worth ≥ 2/3 of the committee stake on the digest it
// computed, which costs the ledger far less than carrying and walking every report. A member
// signs only what it computed, so a minority cannot settle false medians; when signatures do
// not come, the reports are carried as before (reporting.ts).
import { attestationDigest, leastSigners, type Attestation, type AttestationDigest } from "../chain/attested.ts";
import type { Reveal } from "../chain/settlement.ts";

/** A member's signature of its attestation as it travels on the committee's gossip topic. */
export interface AttestationGossip {
  readonly kind: "attestation";
  readonly epoch: number;
  readonly verifier: string;
  readonly medians: string;
  readonly reports: string;
  readonly sig: string;
}

/** What attesting needs from the ledger (LedgerPort implements it). */
export interface AttestingPort {
  readonly address: string;
  committee(epoch: number): Promise<{ readonly members: ReadonlyMap<string, bigint>; readonly total?: bigint }>;
  /** The attestation from the chain and `reveals`, or undefined while a committed report is
   * not at hand (or no server reaches 2/3 of the committee stake). */
  prepareAttestation(epoch: number, reveals: ReadonlyMap<string, Reveal>): Promise<Attestation | undefined>;
  signAttestation(epoch: number, d: AttestationDigest): Promise<string>;
  checkAttestation(epoch: number, d: AttestationDigest, verifier: string, sig: string): boolean;
  /** Settles with `sigs` (by lower-case address); resolves to the servers settled. */
  settleAttested(epoch: number, a: Attestation, sigs: ReadonlyMap<string, string>): Promise<number>;
}

/** Whether `port` can attest (the verifier's LedgerPort can; a test's port may not). */
export function canAttest<T extends object>(port: T): port is T & AttestingPort {
  return "prepareAttestation" in port && "settleAttested" in port;
}

interface Own {
  readonly a: Attestation;
  readonly d: AttestationDigest;
  sentAt: number;
}

const MAX_EPOCHS_HELD = 8;
const MAX_MEMBERS = 512; // per epoch, far beyond any committee: gossip is open to anyone
const REGOSSIP_MS = 2_000;

export class EpochAttestations {
  private readonly port: AttestingPort;
  private readonly publish: (g: AttestationGossip) => Promise<void>;
  private readonly own = new Map<number, Own>();
  private readonly votes = new Map<number, Map<string, { d: AttestationDigest; sig: string }>>();
  /** How many reports were at hand at the last look at each epoch. */
  private readonly triedWith = new Map<number, number>();
  readonly stats = { attested: 0, settlements: 0 };

  constructor(port: AttestingPort, publish: (g: AttestationGossip) => Promise<void>) {
    this.port = port;
    this.publish = publish;
  }

  /** Makes, signs and gossips our attestation on `epoch` once every committed report is in
   * `reveals` (a member of its committee only); says it again while the epoch is open. */
  async attest(epoch: number, reveals: ReadonlyMap<string, Reveal>): Promise<void> {
    let own = this.own.get(epoch);
    if (own === undefined) {
      // looked at again only when a report arrived: the committed set is final by then (the
      // commit window closed), and each look costs a dozen reads of the chain
      if (this.triedWith.get(epoch) === reveals.size) return;
      this.triedWith.set(epoch, reveals.size);
      if (!(await this.port.committee(epoch)).members.has(this.port.address)) return;
      const a = await this.port.prepareAttestation(epoch, reveals);
      if (a === undefined) return;
      const d = attestationDigest(a);
      own = { a, d, sentAt: 0 };
      this.own.set(epoch, own);
      this.hold(epoch).set(this.port.address, { d, sig: await this.port.signAttestation(epoch, d) });
      this.stats.attested++;
    }
    if (Date.now() - own.sentAt < REGOSSIP_MS) return; // gossipsub drops messages to peers not yet in the mesh
    own.sentAt = Date.now();
    await this.publish({ kind: "attestation", epoch, verifier: this.port.address, ...own.d, sig: this.hold(epoch).get(this.port.address)!.sig });
  }

  /** Settles `epoch` with our attestation once signatures on it reach 2/3 of the committee
   * stake; resolves to the servers settled, "none" while we have no attestation (a committed
   * report not at hand, or nothing to settle), "short" while signatures fall short. A revert
   * is thrown to the caller. */
  async settle(epoch: number): Promise<number | "none" | "short"> {
    const own = this.own.get(epoch);
    if (own === undefined) return "none";
    const committee = await this.port.committee(epoch);
    const sigs = new Map<string, string>();
    let stake = 0n;
    for (const [v, vote] of this.votes.get(epoch) ?? []) {
      const s = committee.members.get(v);
      if (s === undefined || vote.d.medians !== own.d.medians || vote.d.reports !== own.d.reports) continue;
      sigs.set(v, vote.sig);
      stake += s;
    }
    if (3n * stake < 2n * own.a.committeeStake) return "short";
    const n = await this.port.settleAttested(epoch, own.a, leastSigners(own.a, sigs));
    this.stats.settlements++;
    return n;
  }

  /** A member's signature, kept when it is its own (the digest is compared at settlement). */
  onGossip(g: AttestationGossip): void {
    const epoch = Number(g.epoch);
    if (!Number.isSafeInteger(epoch) || epoch < 0) return;
    const verifier = String(g.verifier).toLowerCase();
    const d = { medians: String(g.medians), reports: String(g.reports) };
    const held = this.hold(epoch);
    if (!held.has(verifier) && held.size >= MAX_MEMBERS) return;
    if (this.port.checkAttestation(epoch, d, verifier, String(g.sig))) held.set(verifier, { d, sig: String(g.sig) });
  }

  /** A deep reorg: the chain's commitments may differ, so attestations are made again. */
  reorged(): void {
    this.own.clear();
    this.triedWith.clear();
  }

  prune(oldest: number): void {
    for (const m of [this.own, this.votes, this.triedWith] as Map<number, unknown>[]) for (const e of m.keys()) if (e < oldest) m.delete(e);
  }

  private hold(epoch: number): Map<string, { d: AttestationDigest; sig: string }> {
    let inner = this.votes.get(epoch);
    if (inner === undefined) {
      inner = new Map();
      this.votes.set(epoch, inner);
      if (this.votes.size > MAX_EPOCHS_HELD) this.votes.delete(Math.min(...this.votes.keys()));
    }
    return inner;
  }
}
