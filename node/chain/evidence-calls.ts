// Evidence and refutation co-signatures, receipt signatures (tests sign as servers here), and
// the ledger calls that use them: submitting evidence, refuting and executing a slash. The
// struct hash (`receiptHash` in Evidence) and what a peer key signs (sha256 of the EIP-712
// digest) are the servers' own, from node/swarm/receipt.ts.
import { hexlify, SigningKey } from "ethers";
import type { Contract, Signer, TypedDataDomain } from "ethers";
import { EVIDENCE_TYPES, REFUTATION_TYPES, type Receipt } from "./domain.ts";
import { receiptSigningHash } from "../swarm/receipt.ts";
import { byAddress, sent } from "./tx.ts";

export interface CommitteeSignature {
  signer: string;
  signature: string;
}


/** A server's 65-byte receipt signature, made with its peer key (servers sign with
 * OpenSSL and the ledger-facing form is recovered by `chainSignature`; tests sign here). */
export function signReceipt(peerPrivateKey: Uint8Array, domain: TypedDataDomain, r: Receipt): string {
  return new SigningKey(hexlify(peerPrivateKey)).sign(receiptSigningHash(domain, r)).serialized;
}

export async function signEvidence(
  signer: Signer,
  domain: TypedDataDomain,
  ev: { server: string; receiptHash: string; recordHash: string },
): Promise<CommitteeSignature> {
  return { signer: await signer.getAddress(), signature: await signer.signTypedData(domain, EVIDENCE_TYPES, { ...ev }) };
}

export async function signRefutation(signer: Signer, domain: TypedDataDomain, slashId: string): Promise<CommitteeSignature> {
  return { signer: await signer.getAddress(), signature: await signer.signTypedData(domain, REFUTATION_TYPES, { slashId }) };
}

function sortedSigs(sigs: readonly CommitteeSignature[]): [string[], string[]] {
  const s = [...sigs].sort((a, b) => byAddress(a.signer, b.signer));
  return [s.map((x) => x.signer), s.map((x) => x.signature)];
}

/** Submits evidence; resolves to the slash id. */
export async function submitEvidence(ledger: Contract, receipt: Receipt, receiptSig: string, recordHash: string, sigs: readonly CommitteeSignature[]): Promise<string> {
  const [signers, signatures] = sortedSigs(sigs);
  const rc = await sent(ledger.submitEvidence(receipt, receiptSig, recordHash, signers, signatures));
  const ev = rc.logs.map((l) => ledger.interface.parseLog(l)).find((e) => e?.name === "EvidenceSubmitted");
  return ev!.args.slashId as string;
}

export async function refuteSlash(ledger: Contract, slashId: string, sigs: readonly CommitteeSignature[]) {
  const [signers, signatures] = sortedSigs(sigs);
  return sent(ledger.refuteSlash(slashId, signers, signatures));
}

export async function executeSlash(ledger: Contract, slashId: string) {
  return sent(ledger.executeSlash(slashId));
}
