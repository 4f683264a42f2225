// EIP-712 attestations of the first ledger (per server, per verifier). The ledger now takes
// one committed-then-revealed report per verifier per epoch (node/chain/settlement.ts);
// these remain only for node/verifier until it moves to reports. TODO(lead): remove.
import type { Signer, TypedDataDomain, TypedDataField } from "ethers";
import { Signature, verifyTypedData } from "ethers";

export const ATTESTATION_TYPES: Record<string, TypedDataField[]> = {
  Attestation: [
    { name: "epoch", type: "uint64" },
    { name: "server", type: "address" },
    { name: "accBps", type: "uint32" },
    { name: "probes", type: "uint32" },
    { name: "tokensServed", type: "uint64" },
  ],
};

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

export { ledgerDomain } from "./domain.ts";

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

/** One report as TrustLedger takes it: the EIP-2098 compact signature (r, yParity‖s). */
export interface Report {
  accBps: number;
  probes: number;
  tokensServed: bigint;
  r: string;
  vs: string;
}

/** Reports in the order the ledger wants them: one per signer, addresses increasing. */
export function toReports(atts: readonly SignedAttestation[]): Report[] {
  return [...atts]
    .sort((a, b) => {
      const x = BigInt(a.signer);
      const y = BigInt(b.signer);
      return x < y ? -1 : x > y ? 1 : 0;
    })
    .map((a) => {
      const sig = Signature.from(a.signature);
      return { accBps: a.accBps, probes: a.probes, tokensServed: a.tokensServed, r: sig.r, vs: sig.yParityAndS };
    });
}
