// What the verifier needs from the ledger, as a narrow interface: the daemon's loop stays
// testable, and the chain calls live in one adapter (ledger-port.ts).
import type { EvidenceRecord } from "./evidence.ts";
import type { ReportingPort } from "./reporting.ts";

/** One server's result in a verifier's epoch report. */
export interface ResultEntry {
  readonly server: string;
  readonly accBps: number;
  readonly tokens: number;
}

export interface Committee {
  /** Member address (lowercase) → stake snapshotted at the epoch's start. */
  readonly members: ReadonlyMap<string, bigint>;
  readonly total: bigint;
}

export interface CoSignature {
  readonly signer: string;
  readonly sig: string;
}

export interface SettlementPort extends ReportingPort {
  /** This verifier's address (lowercase). */
  readonly address: string;
  /** Chain time, seconds. */
  now(): Promise<number>;
  timing(): Promise<{ genesis: number; epochLength: number }>;
  committee(epoch: number): Promise<Committee>;
  /** The server account that registered `peer` (undefined when none). */
  serverOfPeer(peer: string): Promise<string | undefined>;
  /** This verifier's EIP-712 co-signature over an evidence record. */
  signEvidence(server: string, ev: EvidenceRecord): Promise<string>;
  /** Whether `sig` is `signer`'s co-signature over the record. */
  checkEvidenceSignature(server: string, ev: EvidenceRecord, c: CoSignature): boolean;
  submitEvidence(ev: EvidenceRecord, sigs: CoSignature[]): Promise<void>;
  /** Whether `server` already has a slash pending or was slashed (more evidence adds nothing:
   * one slash at a time). Absent: every record is re-checked. */
  alreadyAccused?(server: string): Promise<boolean>;
  /** Reorgs deeper than the confirmations seen so far (absent: none are looked for). */
  readonly reorgs?: number;
  /** Executes pending slashes whose challenge window has passed; returns how many. */
  executeDueSlashes(): Promise<number>;
}
