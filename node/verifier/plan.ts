// A verifier's planning, apart from any I/O: when to audit, with which prompt, how long to
// generate, which verifier aggregates. Secrets make it unpredictable to servers; the
// distributions make each audit look like a client's session.
import { createHash } from "node:crypto";

export interface AuditPlan {
  readonly promptIds: number[];
  readonly maxTokens: number;
  readonly temperature: number;
  readonly topP: number;
  readonly seed: number;
}

/** A seeded uniform generator on [0, 1) (sha256 in counter mode: unpredictable without the seed). */
export function seededRandom(seed: string): () => number {
  let counter = 0;
  let block = Buffer.alloc(0);
  let at = 0;
  return () => {
    if (at + 4 > block.length) {
      block = createHash("sha256").update(seed).update(String(counter++)).digest();
      at = 0;
    }
    const v = block.readUInt32LE(at);
    at += 4;
    return v / 4294967296;
  };
}

/** The seed of one epoch's plan: fresh every epoch, known only to the verifier. */
export function epochSeed(secret: string, epoch: number): string {
  return createHash("sha256").update(secret).update(":").update(String(epoch)).digest("hex");
}

/** Times (seconds) of `count` audits, jittered over the first 70% of the epoch. */
export function auditTimes(epochStart: number, epochLength: number, count: number, rand: () => number): number[] {
  return Array.from({ length: count }, () => epochStart + rand() * 0.7 * epochLength).sort((a, b) => a - b);
}

/** Times (seconds) of `count` reachability probes, one jittered in each of `count` equal
 * slices of the first 90% of the epoch: spread, so one network blip spoils at most one, and
 * done before the epoch's report is built at the start of the next. */
export function probeTimes(epochStart: number, epochLength: number, count: number, rand: () => number): number[] {
  return Array.from({ length: count }, (_, k) => epochStart + ((k + rand()) / count) * 0.9 * epochLength);
}

/** A log-normal draw with the given median, clipped to [lo, hi] (lengths people type and ask for). */
function logNormal(rand: () => number, median: number, sigma: number, lo: number, hi: number): number {
  const u = Math.max(rand(), 1e-12);
  const z = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rand());
  return Math.min(hi, Math.max(lo, Math.round(median * Math.exp(sigma * z))));
}

export const promptLength = (rand: () => number) => logNormal(rand, 12, 0.7, 2, 96);
export const decodeLength = (rand: () => number) => logNormal(rand, 32, 0.6, 4, 128);

/** One audit: a prefix of a secret prompt, a decode length, and sampling like a client's. */
export function planAudit(pool: readonly number[][], bos: number, contextLength: number, rand: () => number): AuditPlan {
  if (pool.length === 0) throw new RangeError("no prompts to audit with");
  const text = pool[Math.floor(rand() * pool.length)];
  const body = text[0] === bos ? text.slice(1) : text;
  const n = Math.min(promptLength(rand), body.length);
  const promptIds = [bos, ...body.slice(0, Math.max(1, n))];
  const maxTokens = Math.min(decodeLength(rand), contextLength - promptIds.length);
  return { promptIds, maxTokens, temperature: 0.8, topP: 0.9, seed: Math.floor(rand() * 2 ** 31) };
}

/** The verifier that aggregates (settles) epoch `epoch`: a rotation over the sorted set. */
export function aggregatorFor(epoch: number, verifiers: readonly string[]): string | undefined {
  const sorted = [...verifiers].map((v) => v.toLowerCase()).sort();
  return sorted[epoch % Math.max(1, sorted.length)];
}
