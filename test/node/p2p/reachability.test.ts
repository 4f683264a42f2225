// Reachability policy: which nodes need a relay, and the order addresses are dialled in.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { awaitingAutoNat, classifyReach, isRelayed, ledgerAddrs, preferDirect } from "../../../node/p2p/reachability.ts";
import { hopCost, RELAYED_HOP_PENALTY_MS } from "../../../node/client/route.ts";

const RELAYED = "/ip4/7.7.7.1/tcp/4101/p2p/16Uiu2HAmRelay/p2p-circuit";

describe("reachability policy", () => {
  it("an announced or AutoNAT-confirmed public address is public; an unconfirmed one is not", () => {
    assert.equal(classifyReach([{ multiaddr: "/ip4/192.168.1.2/tcp/4201", verified: true }], true), "public");
    assert.equal(classifyReach([{ multiaddr: "/ip4/7.7.7.5/tcp/4201", verified: true }], false), "public");
    assert.equal(classifyReach([{ multiaddr: "/ip4/7.7.7.5/tcp/4201", verified: false }], false), "private");
    assert.ok(awaitingAutoNat([{ multiaddr: "/ip4/7.7.7.5/tcp/4201", verified: false }]));
  });

  it("a host behind NAT (private addresses only) needs a relay; loopback only is a one-machine swarm", () => {
    assert.equal(classifyReach([{ multiaddr: "/ip4/192.168.1.2/tcp/4201", verified: true }], false), "private");
    assert.equal(awaitingAutoNat([{ multiaddr: "/ip4/192.168.1.2/tcp/4201", verified: true }]), false);
    assert.equal(classifyReach([{ multiaddr: "/ip4/127.0.0.1/tcp/4201", verified: true }], false), "local");
    // a relayed address does not make a node public
    assert.equal(classifyReach([{ multiaddr: "/ip4/192.168.1.2/tcp/4201", verified: true }, { multiaddr: RELAYED, verified: true }], false), "private");
  });

  it("direct addresses are dialled before relayed ones, and the ledger keeps them without the own peer id", () => {
    assert.ok(isRelayed(RELAYED) && !isRelayed("/ip4/7.7.7.5/tcp/1"));
    assert.deepEqual(preferDirect([RELAYED, "/ip4/192.168.1.2/tcp/4201"]), ["/ip4/192.168.1.2/tcp/4201", RELAYED]);
    assert.deepEqual(ledgerAddrs([`${RELAYED}/p2p/16Uiu2HAmMe`, "/ip4/192.168.1.2/tcp/4201/p2p/16Uiu2HAmMe"]), ["/ip4/192.168.1.2/tcp/4201", RELAYED]);
  });

  it("routing prefers a direct server to a relayed one with the same round trip", () => {
    const c = { peer: "a", addrs: [], start: 0, end: 2, trust: 1, throughput: 1000, rttMs: 10 };
    assert.equal(hopCost({ ...c, relayed: true }) - hopCost(c), RELAYED_HOP_PENALTY_MS);
  });
});
