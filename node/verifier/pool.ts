// Attestations gathered for settlement: one per (epoch, server, signer), each checked
// against the ledger's EIP-712 domain and the set of registered verifiers.
import type { TypedDataDomain } from "ethers";
import { recoverAttestation, toReports, type Report, type SignedAttestation } from "../chain/attestation.ts";

export class AttestationPool {
  private readonly domain: TypedDataDomain;
  private readonly byKey = new Map<string, Map<string, SignedAttestation>>();

  constructor(domain: TypedDataDomain) {
    this.domain = domain;
  }

  /** Adds an attestation if its signature recovers to its claimed signer and that signer is
   * a verifier; returns whether it was new and valid. */
  add(a: SignedAttestation, isVerifier: (address: string) => boolean): boolean {
    let signer: string;
    try {
      signer = recoverAttestation(this.domain, a);
    } catch {
      return false;
    }
    if (signer.toLowerCase() !== a.signer.toLowerCase() || !isVerifier(signer)) return false;
    const key = `${a.epoch}:${a.server.toLowerCase()}`;
    const m = this.byKey.get(key) ?? new Map<string, SignedAttestation>();
    if (m.has(signer.toLowerCase())) return false;
    m.set(signer.toLowerCase(), a);
    this.byKey.set(key, m);
    return true;
  }

  /** The servers of `epoch` with at least `quorum` attestations from signers still eligible,
   * and their sorted reports. */
  ready(epoch: bigint, quorum: number, eligible: (signer: string) => boolean = () => true): { server: string; reports: Report[] }[] {
    const out: { server: string; reports: Report[] }[] = [];
    for (const [key, m] of this.byKey) {
      const [e, server] = key.split(":");
      const atts = [...m.entries()].filter(([signer]) => eligible(signer)).map(([, a]) => a);
      if (BigInt(e) !== epoch || atts.length < quorum) continue;
      out.push({ server, reports: toReports(atts) });
    }
    return out;
  }

  /** Drops everything older than `epoch`. */
  prune(epoch: bigint): void {
    for (const key of this.byKey.keys()) if (BigInt(key.split(":")[0]) < epoch) this.byKey.delete(key);
  }
}
