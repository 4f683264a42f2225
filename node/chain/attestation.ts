// EIP-712 attestations: what a Verifier signs about one Server for one epoch, and how a
// quorum of them is packed for TrustLedger.submitEpoch (signers in increasing order).
import type { Signer, TypedDataDomain } from "ethers";
import { verifyTypedData } from "ethers";

export const ATTESTATION_TYPES = {
  Attestation: [
    { name: "epoch", type: "uint64" },
    { name: "server", type: "address" },
    { name: "accBps", type: "uint32" },
    { name: "probes", type: "uint32" },
    { name: "tokensServed", type: "uint64" },
  ],
} as const;

export interface Attestation {
  readonly epoch: bigint;
  readonly server: string;
  readonly accBps: number;
  readonly probes: number;
  readonly tokensServed: bigint;
}

export interface SignedAttestation extends Attestation {
  readonly signer: string;
  readonly signature: string;
}

/** The ledger's EIP-712 domain: bound to one chain and one ledger address. */
export function ledgerDomain(chainId: bigint, ledger: string): TypedDataDomain {
  return { name: "eFedLLM TrustLedger", version: "1", chainId, verifyingContract: ledger };
}

export async function signAttestation(
  signer: Signer,
  domain: TypedDataDomain,
  att: Attestation,
): Promise<SignedAttestation> {
  const signature = await signer.signTypedData(domain, ATTESTATION_TYPES, { ...att });
  return { ...att, signer: await signer.getAddress(), signature };
}

/** The address that signed `att` under `domain`. */
export function recoverAttestation(domain: TypedDataDomain, att: SignedAttestation): string {
  return verifyTypedData(domain, ATTESTATION_TYPES, { ...att }, att.signature);
}

/** Reports in the order the ledger wants them: one per signer, addresses increasing. */
export function toReports(atts: readonly SignedAttestation[]) {
  return [...atts]
    .sort((a, b) => {
      const x = BigInt(a.signer);
      const y = BigInt(b.signer);
      return x < y ? -1 : x > y ? 1 : 0;
    })
    .map((a) => ({ accBps: a.accBps, probes: a.probes, tokensServed: a.tokensServed, signature: a.signature }));
}
