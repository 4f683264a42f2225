// Evidence being co-signed: each record with the co-signatures gathered for it on gossip,
// until they weigh ≥ 2/3 of the committee of the epoch the accused receipt was signed in.
import type { CoSignature, Committee } from "./port.ts";
import type { EvidenceRecord } from "./evidence.ts";

export interface PendingEvidence {
  readonly ev: EvidenceRecord;
  readonly server: string;
  readonly epoch: number;
  readonly sigs: Map<string, string>; // signer (lowercase) → signature
  submitted: boolean;
  /** Logged once while short of 2/3. */
  waiting?: boolean;
}

/** Whether co-signatures by `signers` carry ≥ 2/3 of the committee's stake. */
export function reachesTwoThirds(c: Committee, signers: Iterable<string>): boolean {
  let stake = 0n;
  for (const s of signers) stake += c.members.get(s.toLowerCase()) ?? 0n;
  return c.total > 0n && 3n * stake >= 2n * c.total;
}

export class EvidencePool {
  private readonly byHash = new Map<string, PendingEvidence>();
  private readonly max: number;

  constructor(max = 1000) {
    this.max = max;
  }

  has(hash: string): boolean {
    return this.byHash.has(hash);
  }

  add(hash: string, p: Omit<PendingEvidence, "sigs" | "submitted">): PendingEvidence {
    let e = this.byHash.get(hash);
    if (e === undefined) {
      e = { ...p, sigs: new Map(), submitted: false };
      this.byHash.set(hash, e);
      if (this.byHash.size > this.max) this.byHash.delete(this.byHash.keys().next().value!);
    }
    return e;
  }

  cosign(hash: string, c: CoSignature): void {
    this.byHash.get(hash)?.sigs.set(c.signer.toLowerCase(), c.sig);
  }

  get(hash: string): PendingEvidence | undefined {
    return this.byHash.get(hash);
  }

  /** Records ready to submit: not yet submitted, about an epoch that has ended. */
  ready(currentEpoch: number): [string, PendingEvidence][] {
    return [...this.byHash.entries()].filter(([, e]) => !e.submitted && e.epoch < currentEpoch);
  }
}
