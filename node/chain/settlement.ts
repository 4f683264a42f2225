// Node-side helpers for the ledger's settlement: packed per-epoch reports, commit-reveal,
// settlement from the revealed reports, evidence and refutation signatures, the committee,
// and which window of which epoch the chain is in (see docs/settlement.md).
import { AbiCoder, getAddress, hexlify, keccak256, randomBytes, verifyTypedData, ZeroHash } from "ethers";
import type { Contract, Signer, TypedDataDomain } from "ethers";
import { REPORT_COMMITMENT_TYPES } from "./domain.ts";
import { byAddress, sent } from "./tx.ts";
import { ReportStatus } from "./enums.ts";
import { queryChunked, reportsFromBlock } from "./block-search.ts";

export const ENTRY_BYTES = 26;
const PAGE = 200;

/** One line of a verifier's report: its view of one server for the epoch. */
export interface ResultEntry {
  server: string;
  accBps: number;
  tokens: number;
}

export class MalformedResultsError extends Error {
  override readonly name = "MalformedResultsError";
}

/** A settlement not sent: members committed reports that are not at hand, and it is too early
 * to leave them out (the ledger would revert with TrustLedgerReportMismatch). Try again later. */
export class ReportsMissingError extends Error {
  override readonly name = "ReportsMissingError";
  readonly members: readonly string[];
  constructor(epoch: bigint | number, members: readonly string[]) {
    super(`epoch ${epoch}: waiting for the reveals of ${members.length} member(s) that committed (${members.join(", ")}); they may be left out from the middle of epoch ${BigInt(epoch) + 2n}`);
    this.members = members;
  }
}


/** Packs entries as `server (20) ‖ accBps (2) ‖ tokens (4)`, sorted by server address. */
export function encodeResults(entries: readonly ResultEntry[]): string {
  const sorted = [...entries].sort((a, b) => byAddress(a.server, b.server));
  let hex = "0x";
  for (let i = 0; i < sorted.length; i++) {
    const e = sorted[i];
    if (i > 0 && BigInt(sorted[i - 1].server) === BigInt(e.server)) throw new MalformedResultsError(`server ${e.server} twice`);
    if (!Number.isInteger(e.accBps) || e.accBps < 0 || e.accBps > 10_000) throw new MalformedResultsError(`accBps ${e.accBps} outside [0, 10000]`);
    if (!Number.isInteger(e.tokens) || e.tokens < 0 || e.tokens > 0xffffffff) throw new MalformedResultsError(`tokens ${e.tokens} outside uint32`);
    hex += getAddress(e.server).slice(2).toLowerCase() + e.accBps.toString(16).padStart(4, "0") + e.tokens.toString(16).padStart(8, "0");
  }
  return hex;
}

export function decodeResults(results: string | Uint8Array): ResultEntry[] {
  const hex = typeof results === "string" ? results.slice(2) : Buffer.from(results).toString("hex");
  if (hex.length % (ENTRY_BYTES * 2) !== 0) throw new MalformedResultsError(`${hex.length / 2} bytes is not a whole number of entries`);
  const out: ResultEntry[] = [];
  for (let i = 0; i < hex.length; i += ENTRY_BYTES * 2) {
    out.push({
      server: getAddress("0x" + hex.slice(i, i + 40)),
      accBps: parseInt(hex.slice(i + 40, i + 44), 16),
      tokens: parseInt(hex.slice(i + 44, i + 52), 16),
    });
  }
  return out;
}

/** keccak256(abi.encode(uint64 epoch, address verifier, keccak256(results), bytes32 salt)). */
export function reportCommitment(epoch: bigint | number, verifier: string, results: string, salt: string): string {
  return keccak256(AbiCoder.defaultAbiCoder().encode(["uint64", "address", "bytes32", "bytes32"], [epoch, verifier, keccak256(results), salt]));
}


/** Commits the ledger's signer's report on `epoch` by its own transaction; returns the salt. */
export async function commitReport(ledger: Contract, epoch: bigint | number, results: string): Promise<string> {
  const verifier = await (ledger.runner as Signer).getAddress();
  const salt = hexlify(randomBytes(32));
  await sent(ledger.commitReport(epoch, reportCommitment(epoch, verifier, results, salt)));
  return salt;
}

/** A member's commitment signed for the committee's batch (`commitReports`). */
export interface SignedCommitment {
  readonly verifier: string;
  readonly commitment: string;
  readonly sig: string;
}

/** Signs `results` (with a fresh salt) for `epoch`'s commit batch; the salt stays with the signer. */
export async function signCommitment(signer: Signer, domain: TypedDataDomain, epoch: bigint | number, results: string) {
  const verifier = getAddress(await signer.getAddress());
  const salt = hexlify(randomBytes(32));
  const commitment = reportCommitment(epoch, verifier, results, salt);
  const sig = await signer.signTypedData(domain, REPORT_COMMITMENT_TYPES, { epoch, commitment });
  return { signed: { verifier, commitment, sig } satisfies SignedCommitment, salt };
}

/** Whether `c` is `c.verifier`'s signature of its commitment on `epoch`. */
export function checkCommitment(domain: TypedDataDomain, epoch: bigint | number, c: SignedCommitment): boolean {
  try {
    return getAddress(verifyTypedData(domain, REPORT_COMMITMENT_TYPES, { epoch, commitment: c.commitment }, c.sig)) === getAddress(c.verifier);
  } catch {
    return false;
  }
}

/** Submits the committee's signed commitments on `epoch` in one transaction (anyone may). */
export async function commitReports(ledger: Contract, epoch: bigint | number, signed: readonly SignedCommitment[]) {
  return sent(ledger.commitReports(epoch, signed.map((c) => c.verifier), signed.map((c) => c.commitment), signed.map((c) => c.sig)));
}

/** Reveals on chain: the fallback when no settlement carried the report in time. */
export async function revealReport(ledger: Contract, epoch: bigint | number, results: string, salt: string) {
  return sent(ledger.revealReport(epoch, results, salt));
}

/** The on-chain state of each member's report on `epoch`: 0 none, 1 committed, 2 revealed. */
export async function reportStates(ledger: Contract, epoch: bigint | number, members: readonly string[]): Promise<Map<string, number>> {
  return new Map(await Promise.all(members.map(async (m) => [getAddress(m), Number(await ledger.reportState(epoch, m))] as [string, number])));
}

/** Every report on `epoch` the chain has seen revealed, by verifier address (increasing):
 * revealed on chain (`ReportRevealed`) or carried by an earlier settlement (read back from
 * that transaction's input). */
export async function readRevealed(ledger: Contract, epoch: bigint | number, fromBlock?: number): Promise<{ verifier: string; results: string }[]> {
  const from = fromBlock ?? (await reportsFromBlock(ledger, epoch));
  const byVerifier = new Map<string, string>();
  for (const l of await queryChunked(ledger, ledger.filters.ReportRevealed(epoch), from)) {
    const args = (l as unknown as { args: { verifier: string; results: string } }).args;
    byVerifier.set(getAddress(args.verifier), args.results);
  }
  const txs = new Set((await queryChunked(ledger, ledger.filters.EpochSettled(epoch), from)).map((l) => l.transactionHash));
  for (const hash of txs) {
    const tx = await ledger.runner!.provider!.getTransaction(hash);
    const call = tx && ledger.interface.parseTransaction({ data: tx.data });
    if (call?.name !== "settleEpoch") continue;
    const [, , verifiers, results, salts] = call.args as unknown as [bigint, string[], string[], string[], string[]];
    verifiers.forEach((v, i) => {
      if (results[i] !== "0x" || salts[i] !== ZeroHash) byVerifier.set(getAddress(v), results[i]); // empty and no salt: not given
    });
  }
  return [...byVerifier.entries()].map(([verifier, results]) => ({ verifier, results })).sort((a, b) => byAddress(a.verifier, b.verifier));
}

/** A member's report and salt, known off chain (gossiped after the commit window). */
export interface Reveal {
  readonly results: string;
  readonly salt: string;
}

/** Settles `epoch` in one transaction, leaving out servers already settled. It names the
 * whole committee: each member with its report as revealed on chain or by an earlier
 * settlement, else as given in `reveals` (which reveals it), else empty (allowed by the ledger
 * only in the second half of epoch+2, for members that never revealed). Resolves to the
 * receipt, or undefined when nothing is left to settle; throws ReportsMissingError, sending
 * nothing, while a committed report is missing in the first half. */
export async function settleEpoch(ledger: Contract, epoch: bigint | number, opts: { fromBlock?: number; reveals?: ReadonlyMap<string, Reveal> } = {}) {
  const from = opts.fromBlock ?? (await reportsFromBlock(ledger, epoch));
  // an attested settlement settled every server ≥ 2/3 of the committee reported: the rest can only be skipped
  if (await settledByAttestation(ledger, epoch, from)) return undefined;
  const onChain = new Map((await readRevealed(ledger, epoch, from)).map((r) => [r.verifier, r.results]));
  const members = (await readCommittee(ledger, epoch)).members.map((m) => getAddress(m.address)).sort(byAddress);
  const given = await usableReveals(ledger, epoch, opts.reveals ?? new Map(), from);
  const states = await reportStates(ledger, epoch, members.filter((m) => !onChain.has(m)));
  const missing = members.filter((m) => states.get(m) === ReportStatus.committed && !given.has(m));
  if (missing.length > 0 && !(await mayLeaveOut(ledger, epoch))) throw new ReportsMissingError(epoch, missing);
  const results: string[] = [];
  const salts: string[] = [];
  for (const m of members) {
    const own = onChain.get(m);
    // a committed report is revealed by its text and salt; one an attested settlement revealed
    // by its hash alone is given its text (the ledger checks the hash), salt unused
    const offChain = given.get(m);
    results.push(own ?? offChain?.results ?? "0x");
    salts.push(own === undefined && states.get(m) === ReportStatus.committed ? (offChain?.salt ?? ZeroHash) : ZeroHash);
  }
  const mentioned = new Set<string>();
  for (const r of results) for (const e of decodeResults(r)) mentioned.add(e.server);
  const servers: string[] = [];
  for (const s of [...mentioned].sort(byAddress)) if (!(await ledger.settled(epoch, s))) servers.push(s);
  if (servers.length === 0) return undefined;
  return sent(ledger.settleEpoch(epoch, servers, members, results, salts));
}

/** Whether a `settleAttested` transaction settled `epoch` (read from its `EpochSettled` events). */
export async function settledByAttestation(ledger: Contract, epoch: bigint | number, fromBlock?: number): Promise<boolean> {
  const from = fromBlock ?? (await reportsFromBlock(ledger, epoch));
  const txs = new Set((await queryChunked(ledger, ledger.filters.EpochSettled(epoch), from)).map((l) => l.transactionHash));
  for (const hash of txs) {
    const tx = await ledger.runner!.provider!.getTransaction(hash);
    if (tx && ledger.interface.parseTransaction({ data: tx.data })?.name === "settleAttested") return true;
  }
  return false;
}

/** Whether the latest block is in the second half of epoch+2, where a settlement may leave
 * out a committed report that was never revealed (EpochSettlement.settleEpoch). */
async function mayLeaveOut(ledger: Contract, epoch: bigint | number): Promise<boolean> {
  const [opens, length, latest] = await Promise.all([ledger.epochEnd(BigInt(epoch) + 1n) as Promise<bigint>, ledger.epochLength() as Promise<bigint>, ledger.runner!.provider!.getBlock("latest")]);
  return BigInt(latest!.timestamp) >= opens + length / 2n;
}

/** The reveals among `reveals` that open their verifier's latest commitment on `epoch` and
 * are well formed: one that does not would make the whole settlement revert. */
export async function usableReveals(ledger: Contract, epoch: bigint | number, reveals: ReadonlyMap<string, Reveal>, fromBlock: number) {
  const out = new Map<string, Reveal>();
  if (reveals.size === 0) return out;
  const commitments = new Map<string, string>();
  for (const l of await queryChunked(ledger, ledger.filters.ReportCommitted(epoch), fromBlock)) {
    const args = (l as unknown as { args: { verifier: string; commitment: string } }).args;
    commitments.set(getAddress(args.verifier), args.commitment); // in log order: the latest wins
  }
  for (const [v, r] of reveals) {
    const verifier = getAddress(v);
    if (commitments.get(verifier) !== reportCommitment(epoch, verifier, r.results, r.salt)) continue;
    try {
      if (encodeResults(decodeResults(r.results)) !== r.results.toLowerCase()) continue; // unsorted
    } catch {
      continue;
    }
    out.set(verifier, r);
  }
  return out;
}

/** Strikes the verifiers that committed on `epoch` and never revealed (after the reveal window). */
export async function penalizeUnrevealed(ledger: Contract, epoch: bigint | number, fromBlock?: number) {
  const from = fromBlock ?? (await reportsFromBlock(ledger, epoch));
  const committed = await queryChunked(ledger, ledger.filters.ReportCommitted(epoch), from);
  // the chain's own state: an attested settlement reveals reports by their hash, with no text to read back
  const states = await reportStates(ledger, epoch, [...new Set(committed.map((l) => getAddress((l as unknown as { args: { verifier: string } }).args.verifier)))]);
  const missing = [...states].filter(([, state]) => state === ReportStatus.committed).map(([v]) => v);
  if (missing.length === 0) return undefined;
  return sent(ledger.penalizeUnrevealed(epoch, missing));
}

export { byAddress, sent } from "./tx.ts";
// evidence, refutation and receipt signatures and their transactions: evidence-calls.ts
export { executeSlash, refuteSlash, signEvidence, signReceipt, signRefutation, submitEvidence, type CommitteeSignature } from "./evidence-calls.ts";
export { receiptHash, receiptSigningHash } from "../swarm/receipt.ts";

/** The committee of `epoch`: members with their stake, and the total committee stake. */
export async function readCommittee(ledger: Contract, epoch: bigint | number): Promise<{ members: { address: string; stake: bigint }[]; total: bigint }> {
  const count = Number(await ledger.verifierCount());
  const members: { address: string; stake: bigint }[] = [];
  for (let offset = 0; offset < count; offset += PAGE) {
    const [addrs, stakes] = (await ledger.committee(epoch, offset, PAGE)) as [string[], bigint[]];
    addrs.forEach((a, i) => members.push({ address: a, stake: stakes[i] }));
  }
  return { members, total: (await ledger.committeeStake(epoch)) as bigint };
}

export type Window = "commit" | "reveal";

export interface EpochPhase {
  /** The epoch the chain is in. */
  readonly epoch: number;
  /** What the committee does now with the report on `reportEpoch` (= epoch − 1). */
  readonly window: Window;
  /** The epoch whose report is committed or revealed now; −1 during epoch 0. */
  readonly reportEpoch: number;
  /** The epoch that can be settled now (= epoch − 2); −1 before epoch 2. */
  readonly settleEpoch: number;
  /** Unix seconds at which the current window ends. */
  readonly windowEndsAt: number;
}

/** Which window of which epoch the chain is in at `now` (unix seconds). Pure. */
export function epochPhase(now: number, genesis: number, epochLength: number): EpochPhase {
  const epoch = Math.floor((now - genesis) / epochLength);
  const start = genesis + epoch * epochLength;
  const half = Math.floor(epochLength / 2);
  const commit = now < start + half;
  return {
    epoch,
    window: commit ? "commit" : "reveal",
    reportEpoch: epoch >= 1 ? epoch - 1 : -1,
    settleEpoch: epoch >= 2 ? epoch - 2 : -1,
    windowEndsAt: commit ? start + half : start + epochLength,
  };
}
