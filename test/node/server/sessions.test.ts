// Session bounds: capacity overall and per peer ("busy"), and eviction after the TTL; every
// way a session goes frees its KV cache (a worker's caches are not garbage-collected).
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { BusyError, SessionStore } from "../../../node/server/sessions.ts";

const cache = () => ({ length: 0, tensors: new Map(), bytes: 100 });

describe("SessionStore", () => {
  it("answers busy when full, overall and per peer", () => {
    const s = new SessionStore({ maxSessions: 3, maxSessionsPerPeer: 2, ttlMs: 1000 });
    s.open("a", "p1", cache(), 0);
    s.open("b", "p1", cache(), 0);
    assert.throws(() => s.open("c", "p1", cache(), 0), (e: Error) => e instanceof BusyError && /peer has 2 sessions/.test(e.message));
    s.open("c", "p2", cache(), 0);
    assert.throws(() => s.open("d", "p3", cache(), 0), (e: Error) => e instanceof BusyError && /server busy: 3 sessions/.test(e.message));
    assert.throws(() => s.open("a", "p3", cache(), 0), /single-use/);
    assert.equal(s.cacheBytes, 300);
  });

  it("evicts sessions idle past the TTL, and a touch keeps one alive", () => {
    const s = new SessionStore({ maxSessions: 2, ttlMs: 1000 });
    const a = s.open("a", "p", cache(), 0);
    s.open("b", "p", cache(), 0);
    s.touch(a, 900);
    assert.equal(s.evictIdle(1500), 1);
    assert.equal(s.size, 1);
    s.open("c", "p", cache(), 1600); // room again
    assert.equal(s.size, 2);
  });

  it("releases a session's cache when it is closed, evicted or cleared", () => {
    const released: string[] = [];
    const tracked = (name: string) => ({ length: 0, bytes: 0, release: () => released.push(name) });
    const s = new SessionStore({ ttlMs: 1000 });
    s.open("a", "p", tracked("a"), 0);
    const b = s.open("b", "p", tracked("b"), 0);
    s.open("c", "p", tracked("c"), 0);
    s.close("a");
    s.touch(b, 900);
    s.evictIdle(1500); // c is idle, b was touched
    assert.deepEqual(released, ["a", "c"]);
    s.clear();
    assert.deepEqual(released, ["a", "c", "b"]);
  });
});
