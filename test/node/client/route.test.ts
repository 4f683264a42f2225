// Route choice: cover every layer at the lowest estimated cost, prefer trust, skip failed peers.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { chooseRoute, hopCost, NoRouteError, type Candidate } from "../../../node/client/route.ts";

const c = (peer: string, start: number, end: number, o: Partial<Candidate> = {}): Candidate => ({
  peer, addrs: [`/ip4/127.0.0.1/tcp/${peer.length}`], start, end, trust: 1, throughput: 1000, rttMs: 5, ...o,
});
const spans = (r: { start: number; end: number; peer: string }[]) => r.map((h) => `${h.start}-${h.end}:${h.peer}`);

describe("chooseRoute", () => {
  it("chains ranges that meet end to start", () => {
    assert.deepEqual(spans(chooseRoute([c("a", 0, 2), c("b", 2, 4), c("c", 4, 5)], 5)), ["0-2:a", "2-4:b", "4-5:c"]);
  });

  it("prefers fewer, faster hops", () => {
    const r = chooseRoute([c("a", 0, 2), c("b", 2, 5), c("whole", 0, 5, { rttMs: 6 })], 5);
    assert.deepEqual(spans(r), ["0-5:whole"]);
    const slow = chooseRoute([c("a", 0, 2), c("b", 2, 5), c("whole", 0, 5, { rttMs: 500 })], 5);
    assert.deepEqual(spans(slow), ["0-2:a", "2-5:b"]);
  });

  it("prefers the more trusted of two equal servers", () => {
    const r = chooseRoute([c("a", 0, 2), c("x", 2, 5, { trust: 0.9 }), c("y", 2, 5, { trust: 1 })], 5);
    assert.equal(r[1].peer, "y");
    assert.ok(hopCost(c("x", 2, 5, { trust: 0.5 })) > hopCost(c("y", 2, 5)));
  });

  it("routes around excluded (failed) peers, and says what is missing", () => {
    const cands = [c("a", 0, 2), c("b", 2, 4), c("b2", 2, 4, { rttMs: 50 }), c("c", 4, 5)];
    assert.equal(chooseRoute(cands, 5)[1].peer, "b");
    assert.equal(chooseRoute(cands, 5, new Set(["b"]))[1].peer, "b2");
    assert.throws(() => chooseRoute(cands, 5, new Set(["b", "b2"])), (e: Error) => e instanceof NoRouteError && /layers 2-4 \(of 5\) without the 2 failed/.test(e.message));
    assert.throws(() => chooseRoute([], 5), /no active servers cover layers 0-5/);
    assert.throws(() => chooseRoute([c("a", 0, 2), c("d", 3, 5)], 5), /no active servers cover layers 2-3 \(of 5\)$/);
  });

  it("ignores ranges past the model", () => {
    assert.throws(() => chooseRoute([c("a", 0, 7)], 5), NoRouteError);
  });
});
