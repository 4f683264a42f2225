// The cheap settlement (contracts/ledger/AttestedSettlement.sol, docs/settlement.md): every
// committee member computes each server's stake-weighted medians from all committed reports,
// exactly as the ledger's ReportWalk would, and signs them; the ledger checks signatures worth
// ≥ 2/3 of the committee stake on one digest instead of carrying and walking every report.
import { concat, getAddress, keccak256, verifyTypedData, ZeroHash } from "ethers";
import type { Contract, Signer, TransactionReceipt, TypedDataDomain } from "ethers";
import { SETTLEMENT_ATTESTATION_TYPES } from "./domain.ts";
import { ReportStatus } from "./enums.ts";
import { reportsFromBlock } from "./block-search.ts";
import { decodeResults, readCommittee, reportStates, usableReveals, type Reveal } from "./settlement.ts";
import { byAddress, sent } from "./tx.ts";

const BPS = 10_000;

/** One member's report as the medians count it. */
export interface StakedReport {
  readonly stake: bigint;
  /** Packed entries (node/chain/settlement.ts encodeResults): whole, servers increasing. */
  readonly results: string;
}

/** What the committee signs for an epoch: the medians and, per member (address order), the
 * hash of its report (ZeroHash: it committed none) and the salt that opens its commitment. */
export interface Attestation {
  readonly epoch: number;
  /** Packed `server (20) ‖ accBps (2) ‖ tokens (4)` for each server reported by ≥ 2/3 of the
   * committee stake, servers increasing. */
  readonly medians: string;
  readonly members: readonly { readonly verifier: string; readonly stake: bigint; readonly resultsHash: string; readonly salt: string }[];
  readonly committeeStake: bigint;
}

/** The two hashes a member signs (with the epoch): they name one attestation. */
export interface AttestationDigest {
  readonly medians: string;
  readonly reports: string;
}

/** The (lower) stake-weighted median: the smallest value whose cumulative stake reaches half
 * of the total, as ReportWalk's `lowerMedian` over keys sorted by value. */
function lowerMedian(values: { value: number; stake: bigint }[], total: bigint): number {
  const sorted = [...values].sort((a, b) => a.value - b.value);
  let cumulative = 0n;
  for (const v of sorted) {
    cumulative += v.stake;
    if (2n * cumulative >= total) return v.value;
  }
  return 0;
}

/** The medians the ledger's ReportWalk computes for every server the reports mention by ≥ 2/3
 * of `committeeStake` (and by any stake), packed for `settleAttested`. Reports must be whole
 * entries with servers strictly increasing (the walk's order; an honest member's are). */
export function committeeMedians(reports: readonly StakedReport[], committeeStake: bigint): string {
  const byServer = new Map<string, { acc: { value: number; stake: bigint }[]; tokens: { value: number; stake: bigint }[]; reported: bigint }>();
  for (const r of reports) {
    for (const e of decodeResults(r.results)) {
      let s = byServer.get(e.server);
      if (s === undefined) byServer.set(e.server, (s = { acc: [], tokens: [], reported: 0n }));
      s.acc.push({ value: Math.min(e.accBps, BPS), stake: r.stake });
      s.tokens.push({ value: e.tokens, stake: r.stake });
      s.reported += r.stake;
    }
  }
  let hex = "0x";
  for (const server of [...byServer.keys()].sort(byAddress)) {
    const s = byServer.get(server)!;
    if (s.reported === 0n || 3n * s.reported < 2n * committeeStake) continue;
    hex += server.slice(2).toLowerCase() + lowerMedian(s.acc, s.reported).toString(16).padStart(4, "0") + lowerMedian(s.tokens, s.reported).toString(16).padStart(8, "0");
  }
  return hex;
}

export function attestationDigest(a: Attestation): AttestationDigest {
  return { medians: keccak256(a.medians), reports: keccak256(concat(a.members.map((m) => m.resultsHash))) };
}

export async function signAttestation(signer: Signer, domain: TypedDataDomain, epoch: number, d: AttestationDigest): Promise<string> {
  return signer.signTypedData(domain, SETTLEMENT_ATTESTATION_TYPES, { epoch, ...d });
}

/** Whether `sig` is `verifier`'s signature of `d` for `epoch`. */
export function checkAttestation(domain: TypedDataDomain, epoch: number, d: AttestationDigest, verifier: string, sig: string): boolean {
  try {
    return getAddress(verifyTypedData(domain, SETTLEMENT_ATTESTATION_TYPES, { epoch, ...d }, sig)) === getAddress(verifier);
  } catch {
    return false;
  }
}

/** The attestation for `epoch` from the chain (committee, report states, commitments) and the
 * reports at hand, or undefined when it cannot be made: a committed report is not at hand or
 * not well formed (the ledger's `settleEpoch` then applies), or no server reaches 2/3. */
export async function prepareAttestation(ledger: Contract, epoch: number, reveals: ReadonlyMap<string, Reveal>, fromBlock?: number): Promise<Attestation | undefined> {
  const committee = await readCommittee(ledger, epoch);
  const members = committee.members.map((m) => ({ verifier: getAddress(m.address), stake: m.stake })).sort((a, b) => byAddress(a.verifier, b.verifier));
  const states = await reportStates(ledger, epoch, members.map((m) => m.verifier));
  const byVerifier = new Map([...reveals].map(([v, r]) => [getAddress(v), r]));
  const given = await usableReveals(ledger, epoch, byVerifier, fromBlock ?? (await reportsFromBlock(ledger, epoch)));
  const out: Attestation["members"][number][] = [];
  const reports: StakedReport[] = [];
  for (const m of members) {
    const state = states.get(m.verifier);
    if (state === ReportStatus.none) {
      out.push({ ...m, resultsHash: ZeroHash, salt: ZeroHash });
      continue;
    }
    const r = given.get(m.verifier);
    if (r === undefined) return undefined; // its report is not at hand (or does not open its commitment)
    out.push({ ...m, resultsHash: keccak256(r.results), salt: state === ReportStatus.committed ? r.salt : ZeroHash });
    reports.push({ stake: m.stake, results: r.results });
  }
  const medians = committeeMedians(reports, committee.total);
  if (medians === "0x") return undefined; // nothing to settle
  return { epoch, medians, members: out, committeeStake: committee.total };
}

/** The stake of the members whose signatures are in `sigs`. */
export function signedStake(a: Attestation, sigs: ReadonlyMap<string, string>): bigint {
  let stake = 0n;
  for (const m of a.members) if (sigs.has(m.verifier.toLowerCase())) stake += m.stake;
  return stake;
}

/** Submits `a` with the members' signatures (`sigs`, by lower-case address). */
export async function settleAttested(ledger: Contract, a: Attestation, sigs: ReadonlyMap<string, string>): Promise<TransactionReceipt> {
  const members = a.members.map((m) => ({ verifier: m.verifier, resultsHash: m.resultsHash, salt: m.salt, sig: sigs.get(m.verifier.toLowerCase()) ?? "0x" }));
  return sent(ledger.settleAttested(a.epoch, a.medians, members));
}

/** The fewest of `sigs` that reach 2/3 of the committee stake, largest stakes first (each
 * signature checked on chain costs ~3,500 gas), or all of them when they do not reach it. */
export function leastSigners(a: Attestation, sigs: ReadonlyMap<string, string>): Map<string, string> {
  const out = new Map<string, string>();
  let stake = 0n;
  for (const m of [...a.members].sort((x, y) => (y.stake > x.stake ? 1 : y.stake < x.stake ? -1 : 0))) {
    if (3n * stake >= 2n * a.committeeStake) break;
    const sig = sigs.get(m.verifier.toLowerCase());
    if (sig === undefined) continue;
    out.set(m.verifier.toLowerCase(), sig);
    stake += m.stake;
  }
  return 3n * stake >= 2n * a.committeeStake ? out : new Map(sigs);
}
