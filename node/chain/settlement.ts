// Node-side helpers for the ledger's settlement: packed per-epoch reports, commit-reveal,
// settlement from the revealed reports, evidence and refutation signatures, the committee,
// and which window of which epoch the chain is in (see docs/settlement.md).
import { AbiCoder, getAddress, hexlify, keccak256, randomBytes, SigningKey } from "ethers";
import type { Contract, Signer, TransactionReceipt, TypedDataDomain } from "ethers";
import { EVIDENCE_TYPES, REFUTATION_TYPES, type Receipt } from "./domain.ts";
import { receiptSigningHash } from "../swarm/receipt.ts";

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

const byAddress = (a: string, b: string) => {
  const x = BigInt(a);
  const y = BigInt(b);
  return x < y ? -1 : x > y ? 1 : 0;
};

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

async function sent(tx: Promise<{ wait(): Promise<TransactionReceipt | null> }>): Promise<TransactionReceipt> {
  return (await (await tx).wait())!; // wait() is null only for unmined transactions with 0 confirmations
}

/** Commits the ledger's signer's report on `epoch`; returns the salt to reveal with. */
export async function commitReport(ledger: Contract, epoch: bigint | number, results: string): Promise<string> {
  const verifier = await (ledger.runner as Signer).getAddress();
  const salt = hexlify(randomBytes(32));
  await sent(ledger.commitReport(epoch, reportCommitment(epoch, verifier, results, salt)));
  return salt;
}

export async function revealReport(ledger: Contract, epoch: bigint | number, results: string, salt: string) {
  return sent(ledger.revealReport(epoch, results, salt));
}

/** Every revealed report on `epoch`, by verifier address (increasing). */
export async function readRevealed(ledger: Contract, epoch: bigint | number, fromBlock = 0): Promise<{ verifier: string; results: string }[]> {
  const logs = await ledger.queryFilter(ledger.filters.ReportRevealed(epoch), fromBlock);
  const byVerifier = new Map<string, string>();
  for (const l of logs) {
    const args = (l as unknown as { args: { verifier: string; results: string } }).args;
    byVerifier.set(getAddress(args.verifier), args.results);
  }
  return [...byVerifier.entries()].map(([verifier, results]) => ({ verifier, results })).sort((a, b) => byAddress(a.verifier, b.verifier));
}

/** Settles `epoch` from every revealed report in one transaction, leaving out servers already
 * settled. The ledger takes the whole committee (members that did not reveal with an empty
 * report), so no revealed report can be left out. Resolves to the receipt, or undefined when
 * nothing is left to settle. */
export async function settleEpoch(ledger: Contract, epoch: bigint | number, opts: { fromBlock?: number } = {}) {
  const reports = await readRevealed(ledger, epoch, opts.fromBlock);
  const mentioned = new Set<string>();
  for (const r of reports) for (const e of decodeResults(r.results)) mentioned.add(e.server);
  const servers: string[] = [];
  for (const s of [...mentioned].sort(byAddress)) if (!(await ledger.settled(epoch, s))) servers.push(s);
  if (servers.length === 0) return undefined;
  const revealed = new Map(reports.map((r) => [r.verifier, r.results]));
  const members = (await readCommittee(ledger, epoch)).members.map((m) => getAddress(m.address)).sort(byAddress);
  return sent(ledger.settleEpoch(epoch, servers, members, members.map((m) => revealed.get(m) ?? "0x")));
}

/** Strikes the verifiers that committed on `epoch` and did not reveal (after the reveal window). */
export async function penalizeUnrevealed(ledger: Contract, epoch: bigint | number, fromBlock = 0) {
  const committed = await ledger.queryFilter(ledger.filters.ReportCommitted(epoch), fromBlock);
  const revealed = new Set((await readRevealed(ledger, epoch, fromBlock)).map((r) => r.verifier));
  const missing = [...new Set(committed.map((l) => getAddress((l as unknown as { args: { verifier: string } }).args.verifier)))].filter((v) => !revealed.has(v));
  if (missing.length === 0) return undefined;
  return sent(ledger.penalizeUnrevealed(epoch, missing));
}

export interface CommitteeSignature {
  signer: string;
  signature: string;
}

// The struct hash (`receiptHash` in Evidence) and what a peer key signs (sha256 of the
// EIP-712 digest) are the servers' own, from node/swarm/receipt.ts.
export { receiptHash, receiptSigningHash } from "../swarm/receipt.ts";

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
