// A verifier's part in slashing on evidence: its own failed checks become records it
// co-signs and gossips; records from other verifiers are re-checked with its own reference
// copy before it co-signs them; once a record's co-signatures weigh ≥ 2/3 of the committee
// of the epoch the accused receipt was signed in, it is submitted to the ledger.
import type { TypedDataDomain } from "ethers";
import { confirmEvidence, parseEvidence, recordHash, type EvidenceRecord } from "./evidence.ts";
import { EvidencePool, reachesTwoThirds } from "./evidence-pool.ts";
import type { CoSignature, SettlementPort } from "./port.ts";
import type { Rechecker } from "./recheck.ts";

export type EvidenceGossip = { kind: "evidence"; record: EvidenceRecord; server: string } | { kind: "cosign"; hash: string; signer: string; sig: string };

export interface EvidenceStats {
  cosigned: number;
  submittedEvidence: number;
}

export class EvidenceDuty {
  private readonly port: SettlementPort;
  private readonly rechecker: Rechecker;
  private readonly domain: TypedDataDomain;
  private readonly say: (line: string) => void;
  private readonly publish: (g: EvidenceGossip) => Promise<void>;
  private readonly stats: EvidenceStats;
  private readonly pool = new EvidencePool();
  /** Records from gossip waiting to be re-checked (bounded: gossip is open to anyone). */
  private readonly queue: { ev: EvidenceRecord; server: string }[] = [];
  /** Co-signatures that arrived before their record. */
  private early: { hash: string; c: CoSignature }[] = [];

  constructor(c: { port: SettlementPort; rechecker: Rechecker; domain: TypedDataDomain; say: (line: string) => void; publish: (g: EvidenceGossip) => Promise<void>; stats: EvidenceStats }) {
    this.port = c.port;
    this.rechecker = c.rechecker;
    this.domain = c.domain;
    this.say = c.say;
    this.publish = c.publish;
    this.stats = c.stats;
  }

  /** Records from other verifiers are waiting to be re-checked. */
  get pending(): boolean {
    return this.queue.length > 0;
  }

  /** Our own check failed: co-sign the record and send it to the committee. */
  async raise(ev: EvidenceRecord, server: string): Promise<void> {
    await this.cosign(ev, server);
    await this.publish({ kind: "evidence", record: ev, server });
  }

  onGossip(g: EvidenceGossip): void {
    if (g.kind === "evidence") {
      const ev = parseEvidence(g.record);
      if (!this.pool.has(recordHash(ev)) && this.queue.length < 64) this.queue.push({ ev, server: String(g.server).toLowerCase() });
      return;
    }
    const pending = this.pool.get(String(g.hash));
    const c: CoSignature = { signer: String(g.signer).toLowerCase(), sig: String(g.sig) };
    if (pending !== undefined && this.port.checkEvidenceSignature(pending.server, pending.ev, c)) this.pool.cosign(String(g.hash), c);
    else if (pending === undefined && this.early.length < 256) this.early.push({ hash: String(g.hash), c });
  }

  /** Re-checks the next record another verifier sent, with our own reference copy, before co-signing. */
  async confirmNext(): Promise<void> {
    const item = this.queue.shift();
    if (item === undefined) return;
    const hash = recordHash(item.ev);
    if (this.pool.has(hash)) return;
    if ((await this.port.serverOfPeer(item.ev.route[item.ev.failure.hop].peer))?.toLowerCase() !== item.server) {
      this.say(`evidence names ${item.server}, who does not own the accused peer: refused`);
      return;
    }
    // a re-check costs a reference run over the whole session: none for a server whose slash
    // is already under way (every audit through a cheater makes a record; each verifier gets them all)
    if (await this.port.alreadyAccused?.(item.server)) return;
    const v = await confirmEvidence(this.rechecker, this.domain, item.ev);
    this.say(`evidence against ${item.server} re-checked: ${v.confirmed ? "confirmed" : "refused"} (${v.why})`);
    if (!v.confirmed) {
      this.say(`evidence against ${item.server} refused: ${v.why}`);
      return;
    }
    await this.cosign(item.ev, item.server);
    for (const e of this.early.filter((x) => x.hash === hash)) if (this.port.checkEvidenceSignature(item.server, item.ev, e.c)) this.pool.cosign(hash, e.c);
    this.early = this.early.filter((x) => x.hash !== hash).slice(-256);
  }

  /** Submits every record whose co-signatures reach 2/3 of its committee. */
  async submit(current: number): Promise<void> {
    for (const [, e] of this.pool.ready(current)) {
      const committee = await this.port.committee(e.epoch);
      const signers = [...e.sigs.keys()].filter((s) => committee.members.has(s));
      if (!reachesTwoThirds(committee, signers)) {
        if (!e.waiting) this.say(`evidence against ${e.server} (epoch ${e.epoch}): ${signers.length} of ${committee.members.size} committee members co-signed so far`);
        e.waiting = true;
        continue;
      }
      e.submitted = true;
      try {
        await this.port.submitEvidence(e.ev, signers.map((s) => ({ signer: s, sig: e.sigs.get(s)! })));
        this.stats.submittedEvidence++;
        this.say(`evidence against ${e.server} submitted with ${signers.length} co-signature(s)`);
      } catch (err) {
        this.say(`evidence against ${e.server}: ${(err as Error).message}`);
      }
    }
  }

  private async cosign(ev: EvidenceRecord, server: string): Promise<void> {
    const hash = recordHash(ev);
    const epoch = Number(ev.steps[ev.failure.step].receipts[ev.failure.hop].epoch);
    const pending = this.pool.add(hash, { ev, server, epoch });
    if (pending.sigs.has(this.port.address)) return;
    const sig = await this.port.signEvidence(server, ev);
    this.pool.cosign(hash, { signer: this.port.address, sig });
    this.stats.cosigned++;
    await this.publish({ kind: "cosign", hash, signer: this.port.address, sig });
  }
}
