// Inference sessions a Server holds: one KV cache each, bounded in number (overall and per
// peer) and evicted when idle past a time-to-live.
import type { ShardCache } from "../model/onnx/runtime.ts";
import { StepWindow } from "../swarm/window.ts";

export interface SessionLimits {
  readonly maxSessions: number;
  readonly maxSessionsPerPeer: number;
  readonly ttlMs: number;
}

export const DEFAULT_LIMITS: SessionLimits = { maxSessions: 64, maxSessionsPerPeer: 16, ttlMs: 60_000 };

export interface Session {
  readonly id: string;
  readonly peer: string;
  readonly cache: ShardCache;
  lastUsed: number;
  /** Struct hash of this server's last receipt in the session (the next one's `prev`). */
  lastReceipt?: string;
  /** Struct hash of the last receipt the hop before sent (the `prev` of its next one). */
  lastUpstream?: string;
  /** Whether the session came from another server (known from its first seal). */
  fromServer?: boolean;
  /** The steps not yet sealed, kept until the client asks for their receipt. */
  readonly window: StepWindow;
  /** Steps answered so far. */
  steps: number;
}

/** Session ids a server remembers after they close: an id is never served twice, so no
 * client can make an honest server sign two receipts for the same step (equivocation). */
const SEEN_IDS = 200_000;

export class BusyError extends Error {
  override readonly name = "BusyError";
}

export class SessionReusedError extends Error {
  override readonly name = "SessionReusedError";
}

export class SessionStore {
  private readonly limits: SessionLimits;
  private readonly sessions = new Map<string, Session>();
  private readonly seen = new Set<string>();

  constructor(limits: Partial<SessionLimits> = {}) {
    this.limits = { ...DEFAULT_LIMITS, ...limits };
  }

  get size(): number {
    return this.sessions.size;
  }

  get ttlMs(): number {
    return this.limits.ttlMs;
  }

  /** Bytes held by every KV cache. */
  get cacheBytes(): number {
    let b = 0;
    for (const s of this.sessions.values()) b += s.cache.bytes;
    return b;
  }

  open(id: string, peer: string, cache: ShardCache, now = Date.now()): Session {
    this.evictIdle(now);
    if (this.sessions.has(id) || this.seen.has(id)) throw new SessionReusedError(`session ${id} was opened before: session ids are single-use`);
    if (this.sessions.size >= this.limits.maxSessions) throw new BusyError(`server busy: ${this.sessions.size} sessions open (limit ${this.limits.maxSessions})`);
    let mine = 0;
    for (const s of this.sessions.values()) if (s.peer === peer) mine++;
    if (mine >= this.limits.maxSessionsPerPeer) throw new BusyError(`peer has ${mine} sessions open (limit ${this.limits.maxSessionsPerPeer})`);
    const s: Session = { id, peer, cache, lastUsed: now, steps: 0, window: new StepWindow(0, true) };
    this.sessions.set(id, s);
    this.seen.add(id);
    if (this.seen.size > SEEN_IDS) this.seen.delete(this.seen.values().next().value!); // oldest first
    return s;
  }

  touch(s: Session, now = Date.now()): void {
    s.lastUsed = now;
  }

  close(id: string): void {
    this.sessions.get(id)?.cache.release?.();
    this.sessions.delete(id);
  }

  /** Drops sessions idle for longer than the TTL; returns how many. */
  evictIdle(now = Date.now()): number {
    let n = 0;
    for (const [id, s] of this.sessions) {
      if (now - s.lastUsed > this.limits.ttlMs) {
        s.cache.release?.();
        this.sessions.delete(id);
        n++;
      }
    }
    return n;
  }

  clear(): void {
    for (const s of this.sessions.values()) s.cache.release?.();
    this.sessions.clear();
  }
}
