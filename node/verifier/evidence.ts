// Evidence, not votes: a failed check becomes a self-contained record — the tokens, the
// session's route and signed receipts up to the failing step, and what the recomputation
// gave — that any other verifier re-checks with its own reference copy before co-signing.
// The ledger slashes on the failing receipt (signed by the server's peer key) plus
// co-signatures of ≥ 2/3 of the committee over the record's hash.
import { keccak256, toUtf8Bytes, type TypedDataDomain } from "ethers";
import type { RouteHop } from "../swarm/types.ts";
import type { SessionRecord } from "../client/remote.ts";
import { fromJson, toJson, type ReceiptJson } from "../swarm/receipt-chain.ts";
import type { SignedReceipt } from "../swarm/receipt.ts";
import type { Failure, Rechecker } from "./recheck.ts";

export const EVIDENCE_VERSION = 1;
/** Bounds on a record from the network (a verifier re-checks what it is sent). */
export const MAX_EVIDENCE_STEPS = 1024;

export interface EvidenceRecord {
  readonly version: number;
  readonly chainId: string;
  readonly ledger: string;
  readonly session: string;
  readonly route: Pick<RouteHop, "peer" | "start" | "end">[];
  readonly tokens: number[];
  readonly steps: { pos: number; n: number; receipts: ReceiptJson[] }[];
  readonly failure: Failure;
}

export class EvidenceError extends Error {
  override readonly name = "EvidenceError";
}

/** The record for a session whose check failed: everything up to the failing step. */
export function buildEvidence(domain: TypedDataDomain, record: SessionRecord, tokens: readonly number[], failure: Failure): EvidenceRecord {
  const steps = record.steps.slice(0, failure.step + 1);
  const last = steps.at(-1)!;
  return {
    version: EVIDENCE_VERSION,
    chainId: String(domain.chainId),
    ledger: String(domain.verifyingContract).toLowerCase(),
    session: record.session,
    route: record.route.map((h) => ({ peer: h.peer, start: h.start, end: h.end })),
    tokens: tokens.slice(0, last.pos + last.n),
    steps: steps.map((s) => ({ pos: s.pos, n: s.n, receipts: s.receipts.map(toJson) })),
    failure,
  };
}

/** keccak256 of the record's JSON (fields in the order built): what the committee co-signs. */
export function recordHash(ev: EvidenceRecord): string {
  return keccak256(toUtf8Bytes(JSON.stringify(ev)));
}

/** The session the record describes, as the client recorded it. */
export function sessionOf(ev: EvidenceRecord): SessionRecord {
  return {
    session: ev.session,
    route: ev.route.map((h) => ({ ...h, addrs: [] })),
    steps: ev.steps.map((s) => ({ pos: s.pos, n: s.n, receipts: s.receipts.map((w) => fromJson(w, ev.session)) })),
  };
}

/** The receipt the record accuses. */
export function accusedReceipt(ev: EvidenceRecord): SignedReceipt {
  const s = ev.steps[ev.failure.step];
  return fromJson(s.receipts[ev.failure.hop], ev.session);
}

/** Parses a record from the network, with bounds; throws EvidenceError when malformed. */
export function parseEvidence(json: unknown): EvidenceRecord {
  const ev = json as EvidenceRecord;
  const ok =
    typeof ev === "object" && ev !== null && ev.version === EVIDENCE_VERSION && typeof ev.session === "string" &&
    Array.isArray(ev.route) && ev.route.length > 0 && ev.route.length <= 64 &&
    Array.isArray(ev.tokens) && ev.tokens.every((t) => Number.isInteger(t) && t >= 0) &&
    Array.isArray(ev.steps) && ev.steps.length > 0 && ev.steps.length <= MAX_EVIDENCE_STEPS &&
    typeof ev.failure === "object" && Number.isInteger(ev.failure?.step) && Number.isInteger(ev.failure?.hop) &&
    ev.failure.step === ev.steps.length - 1 && ev.failure.hop >= 0 && ev.failure.hop < ev.route.length;
  if (!ok) throw new EvidenceError("malformed evidence record");
  return ev;
}

/** Another verifier's check before it co-signs: the record must be for this ledger, and
 * its own recomputation must fail the same hop at the same step. */
export async function confirmEvidence(rechecker: Rechecker, domain: TypedDataDomain, ev: EvidenceRecord): Promise<{ confirmed: boolean; why: string }> {
  if (ev.chainId !== String(domain.chainId) || ev.ledger !== String(domain.verifyingContract).toLowerCase()) return { confirmed: false, why: "evidence for another ledger" };
  let session: SessionRecord;
  try {
    session = sessionOf(ev);
  } catch (err) {
    return { confirmed: false, why: (err as Error).message };
  }
  const r = await rechecker.recheck(session, ev.tokens, domain);
  if (r.discarded !== undefined) return { confirmed: false, why: r.discarded };
  if (r.failure === undefined) return { confirmed: false, why: "every hop checks out" };
  if (r.failure.step !== ev.failure.step || r.failure.hop !== ev.failure.hop) return { confirmed: false, why: `the first failure is at step ${r.failure.step} hop ${r.failure.hop}` };
  return { confirmed: true, why: `error ${r.failure.error.toExponential(2)} > ${r.failure.tolerance}` };
}
