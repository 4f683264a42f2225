// /efed/audit/1: a client hands a session it ran to a verifier — the token ids and the
// receipts of every step — and the verifier re-checks it like its own audits (a lie found
// becomes evidence). What this reveals: the session's prompt and output, to that verifier.
// One request per stream, a bounded JSON frame; bad input gets an error reply, never a crash.
// Anyone can hand sessions in (a client's identity is fresh every run), so the re-check
// compute spent on them is budgeted as a whole: a few at a time and a number of positions a
// minute; past that a client is told the verifier is busy, and its own audits go on.
import { lpStream } from "@libp2p/utils";
import { multiaddr } from "@multiformats/multiaddr";
import { z } from "zod";
import type { Libp2p } from "@libp2p/interface";
import type { EfedNode } from "../p2p/host.ts";
import { fromJson, receiptJson, toJson } from "../swarm/receipt-chain.ts";
import type { SessionRecord } from "../client/remote.ts";
import type { RecheckResult } from "./recheck.ts";

export const AUDIT_PROTOCOL = "/efed/audit/1";
export const MAX_AUDIT_BYTES = 16 * 1024 * 1024;

const request = z.object({
  tokens: z.array(z.number().int().min(0).max(1 << 24)).min(1).max(1 << 16),
  records: z.array(z.object({
    session: z.string().regex(/^[0-9a-f]{32}$/),
    route: z.array(z.object({ peer: z.string().min(1).max(128), start: z.number().int().min(0).max(65535), end: z.number().int().min(1).max(65535) }).strict()).min(1).max(64),
    steps: z.array(z.object({ pos: z.number().int().min(0), n: z.number().int().min(0).max(4096), receipts: z.array(receiptJson).max(64) }).strict()).max(4096),
  }).strict()).min(1).max(16),
}).strict();

export interface AuditVerdict {
  readonly checkedWindows: number;
  /** The hops found lying (peer ids), if any. */
  readonly failed: { peer: string; start: number; end: number; position: number }[];
  readonly discarded: string[];
}

export function verdictOf(records: SessionRecord[], results: RecheckResult[]): AuditVerdict {
  const failed: AuditVerdict["failed"] = [];
  const discarded: string[] = [];
  let checkedWindows = 0;
  results.forEach((r, i) => {
    checkedWindows += r.hops.reduce((a, h) => a + h.windows, 0);
    if (r.discarded !== undefined) discarded.push(r.discarded);
    if (r.failure !== undefined) {
      const h = records[i].route[r.failure.hop];
      failed.push({ peer: h.peer, start: h.start, end: h.end, position: r.failure.position });
    }
  });
  return { checkedWindows, failed, discarded };
}

export interface HandedBudget {
  /** Handed sessions re-checked at once. */
  readonly concurrent: number;
  /** Positions of handed sessions re-checked per minute, all clients together. */
  readonly positionsPerMinute: number;
}

export const DEFAULT_HANDED_BUDGET: HandedBudget = { concurrent: 2, positionsPerMinute: 50_000 };

/** Serves /efed/audit/1 on a verifier: `check` re-checks and scores the session. */
export async function serveAudits(node: Libp2p, check: (records: SessionRecord[], tokens: number[]) => Promise<RecheckResult[]>, budget: HandedBudget = DEFAULT_HANDED_BUDGET): Promise<void> {
  let running = 0;
  let window = { start: Date.now(), positions: 0 };
  await node.handle(AUDIT_PROTOCOL, async (stream) => {
    const lp = lpStream(stream, { maxDataLength: MAX_AUDIT_BYTES });
    let reply: unknown;
    try {
      const raw = await lp.read({ signal: AbortSignal.timeout(30_000) });
      const parsed = request.safeParse(JSON.parse(new TextDecoder().decode(raw.subarray())));
      if (!parsed.success) throw new Error(`bad audit request: ${parsed.error.issues[0].path.join(".")}: ${parsed.error.issues[0].message}`);
      const records: SessionRecord[] = parsed.data.records.map((r) => ({
        session: r.session,
        route: r.route.map((h) => ({ ...h, addrs: [] })),
        steps: r.steps.map((s) => ({ pos: s.pos, n: s.n, receipts: s.receipts.map((w) => fromJson(w, r.session)) })),
      }));
      const positions = records.reduce((a, r) => a + r.steps.reduce((b, st) => b + st.n, 0), 0);
      if (Date.now() - window.start >= 60_000) window = { start: Date.now(), positions: 0 };
      if (running >= budget.concurrent || window.positions + positions > budget.positionsPerMinute) {
        throw new Error(`verifier busy: ${running} handed session(s) being checked, ${window.positions} of ${budget.positionsPerMinute} positions this minute; try later`);
      }
      window.positions += positions;
      running++;
      try {
        reply = verdictOf(records, await check(records, parsed.data.tokens));
      } finally {
        running--;
      }
    } catch (err) {
      reply = { error: (err as Error).message.slice(0, 512) };
    }
    try {
      await lp.write(new TextEncoder().encode(JSON.stringify(reply)));
    } finally {
      await stream.close().catch(() => {});
    }
  }, { maxInboundStreams: 8 });
}

/** Hands a session to a verifier (dialled at `addrs`/p2p/`peer`) and waits for its verdict. */
export async function handToVerifier(node: EfedNode, verifier: { peer: string; addrs: string[] }, records: SessionRecord[], tokens: number[], timeoutMs = 60_000): Promise<AuditVerdict> {
  const body = JSON.stringify({
    tokens,
    records: records.filter((r) => r.steps.length > 0).map((r) => ({ session: r.session, route: r.route.map((h) => ({ peer: h.peer, start: h.start, end: h.end })), steps: r.steps.map((s) => ({ pos: s.pos, n: s.n, receipts: s.receipts.map(toJson) })) })),
  });
  let lastErr: unknown;
  for (const a of verifier.addrs) {
    try {
      const stream = await node.dialProtocol(multiaddr(`${a}/p2p/${verifier.peer}`), AUDIT_PROTOCOL, { signal: AbortSignal.timeout(timeoutMs) });
      const lp = lpStream(stream, { maxDataLength: MAX_AUDIT_BYTES });
      await lp.write(new TextEncoder().encode(body));
      const reply = JSON.parse(new TextDecoder().decode((await lp.read({ signal: AbortSignal.timeout(timeoutMs) })).subarray())) as AuditVerdict & { error?: string };
      await stream.close().catch(() => {});
      if (reply.error !== undefined) throw new Error(reply.error);
      return reply;
    } catch (err) {
      lastErr = err;
    }
  }
  throw new Error(`could not hand the session to verifier ${verifier.peer}: ${(lastErr as Error)?.message ?? "no address"}`);
}
