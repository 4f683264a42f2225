// What the committee's report duties (reporting.ts) gossip and need from the ledger.
import type { ResultEntry } from "./port.ts";
import type { EpochAttestations } from "./attesting.ts";

/** A signed commitment or a report as it travels on the committee's gossip topic. */
export type ReportGossip =
  | { kind: "commitment"; epoch: number; verifier: string; commitment: string; sig: string }
  | { kind: "reveal"; epoch: number; verifier: string; results: string; salt: string };

export interface SignedCommitment {
  readonly verifier: string;
  readonly commitment: string;
  readonly sig: string;
}

/** What reporting needs from the ledger (LedgerPort implements it). */
export interface ReportingPort {
  readonly address: string;
  committee(epoch: number): Promise<{ readonly members: ReadonlyMap<string, bigint> }>;
  /** Packs `results`, picks a salt, and signs the commitment for the batch. */
  signCommitment(epoch: number, results: ResultEntry[]): Promise<{ signed: SignedCommitment; salt: string; text: string }>;
  checkCommitment(epoch: number, c: SignedCommitment): boolean;
  commitBatch(epoch: number, signed: SignedCommitment[]): Promise<void>;
  commitOwn(epoch: number, commitment: string): Promise<void>;
  /** 0 none, 1 committed, 2 revealed (on chain or by a settlement): `confirmed` at the
   * confirmed block, which decides whether a duty is done; `head` at the head, which says
   * whether a transaction for it is already on its way to being confirmed. */
  reportState(epoch: number, verifier: string): Promise<ReportState>;
  revealOnChain(epoch: number, text: string, salt: string): Promise<void>;
  /** Settles `epoch` with the reports the chain holds and `reveals`; returns the servers
   * settled, 0 when there is no report to settle with yet, −1 when every server the reports
   * name is settled already. `late`: past the middle of epoch+2, when reports revealed neither
   * way are struck first. */
  settle(epoch: number, reveals: ReadonlyMap<string, { results: string; salt: string }>, late: boolean): Promise<number>;
  /** The head and the confirmed block (absent: the head is final, no confirmations). */
  blocks?(): Promise<{ head: number; confirmed: number }>;
}

export interface ReportState {
  readonly confirmed: number;
  readonly head: number;
}

export interface ReportingOptions {
  /** When the aggregator settles, as a fraction of epoch e+2. */
  readonly aggregateAt?: number;
  /** When anyone else settles (reports not revealed may then be left out). */
  readonly fallbackAt?: number;
  /** How long past `aggregateAt` the aggregator waits for the committee's signed medians
   * before it carries the reports instead, as a fraction of epoch e+2. */
  readonly attestWait?: number;
  readonly say: (line: string) => void;
  readonly publish: (g: ReportGossip) => Promise<void>;
  /** The committee's signed medians (attesting.ts): the cheap settlement, tried first. */
  readonly attestations?: EpochAttestations;
}
