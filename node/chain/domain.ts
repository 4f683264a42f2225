// The ledger's EIP-712 domain and the typed structs signed for it (peer binding, receipts,
// evidence, refutations). Field order matches the Solidity type strings exactly.
import type { TypedDataDomain, TypedDataField } from "ethers";

/** The ledger's EIP-712 domain: bound to one chain and one ledger address. */
export function ledgerDomain(chainId: bigint, ledger: string): TypedDataDomain {
  return { name: "eFedLLM TrustLedger", version: "2", chainId, verifyingContract: ledger };
}

export const PEER_BINDING_TYPES: Record<string, TypedDataField[]> = {
  PeerBinding: [{ name: "server", type: "address" }],
};

export const RECEIPT_TYPES: Record<string, TypedDataField[]> = {
  Receipt: [
    { name: "session", type: "bytes32" },
    { name: "start", type: "uint16" },
    { name: "end", type: "uint16" },
    { name: "pos", type: "uint32" },
    { name: "n", type: "uint32" },
    { name: "epoch", type: "uint64" },
    { name: "inputDigest", type: "bytes32" },
    { name: "outputDigest", type: "bytes32" },
    { name: "commitDigest", type: "bytes32" },
    { name: "prev", type: "bytes32" },
    { name: "upstream", type: "bytes32" },
  ],
};

export const EVIDENCE_TYPES: Record<string, TypedDataField[]> = {
  Evidence: [
    { name: "server", type: "address" },
    { name: "receiptHash", type: "bytes32" },
    { name: "recordHash", type: "bytes32" },
  ],
};

export const REFUTATION_TYPES: Record<string, TypedDataField[]> = {
  Refutation: [{ name: "slashId", type: "bytes32" }],
};

/** The Solidity `ITrustLedger.Receipt` struct. */
export interface Receipt {
  session: string;
  start: number;
  end: number;
  pos: number;
  n: number;
  epoch: bigint;
  inputDigest: string;
  outputDigest: string;
  commitDigest: string;
  prev: string;
  upstream: string;
}

export const REPORT_COMMITMENT_TYPES: Record<string, TypedDataField[]> = {
  ReportCommitment: [
    { name: "epoch", type: "uint64" },
    { name: "commitment", type: "bytes32" },
  ],
};

/** What each committee member signs for `settleAttested` (AttestedSettlement.sol). */
export const SETTLEMENT_ATTESTATION_TYPES: Record<string, TypedDataField[]> = {
  SettlementAttestation: [
    { name: "epoch", type: "uint64" },
    { name: "medians", type: "bytes32" },
    { name: "reports", type: "bytes32" },
  ],
};
