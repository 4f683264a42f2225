// --weights-from: a multiaddr, a server's wallet address on the ledger, or `ledger` (any
// active server, those covering the layers first); what is tried, in which order.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { Candidate } from "../../../node/client/route.ts";
import { parseWeightsSource, weightsProviders } from "../../../node/server/weights-source.ts";

const A = "0x00000000000000000000000000000000000000aa";
const B = "0x00000000000000000000000000000000000000Bb";
const C = "0x00000000000000000000000000000000000000cc";
const cand = (account: string, peer: string, start: number, end: number, trust: number, addrs = ["/ip4/127.0.0.1/tcp/4001"]): Candidate => ({ account, peer, start, end, trust, addrs, throughput: 1000 });
const ledger = [cand(A, "16UiuA", 0, 2, 1), cand(B, "16UiuB", 2, 5, 0.95, ["/ip4/10.0.0.2/tcp/4001", "/ip4/127.0.0.1/tcp/4002"]), cand(C, "16UiuC", 0, 5, 1, [])];

describe("--weights-from", () => {
  it("parses `ledger`, a wallet address and a peer's multiaddr, and refuses the rest with one line", () => {
    assert.deepEqual(parseWeightsSource("ledger"), { kind: "ledger" });
    assert.deepEqual(parseWeightsSource(B), { kind: "server", account: B });
    assert.deepEqual(parseWeightsSource("/ip4/127.0.0.1/tcp/4001/p2p/16UiuA"), { kind: "peer", addr: "/ip4/127.0.0.1/tcp/4001/p2p/16UiuA" });
    for (const bad of ["/ip4/127.0.0.1/tcp/4001", "/nope/p2p/16UiuA", "0x12", "somewhere"]) {
      assert.throws(() => parseWeightsSource(bad), (e: Error) => e.name === "WeightsSourceError" && /must be `ledger`, a server's wallet address/.test(e.message));
    }
  });

  it("a multiaddr is used as given", () => {
    assert.deepEqual(weightsProviders({ kind: "peer", addr: "/ip4/1.2.3.4/tcp/1/p2p/16UiuX" }, ledger, [2, 4]), ["/ip4/1.2.3.4/tcp/1/p2p/16UiuX"]);
  });

  it("a wallet address: that server's addresses on the ledger, with its peer id", () => {
    assert.deepEqual(weightsProviders({ kind: "server", account: B.toLowerCase() }, ledger, [0, 2]), ["/ip4/10.0.0.2/tcp/4001/p2p/16UiuB", "/ip4/127.0.0.1/tcp/4002/p2p/16UiuB"]);
    assert.throws(() => weightsProviders({ kind: "server", account: C }, ledger, [0, 2]), /is offline \(no address on the ledger\)/);
    assert.throws(() => weightsProviders({ kind: "server", account: "0x" + "11".repeat(20) }, ledger, [0, 2]), /is not an active server on the ledger/);
  });

  it("`ledger`: servers with an address, those covering the layers first, never the fetching server itself", () => {
    assert.deepEqual(weightsProviders({ kind: "ledger" }, ledger, [2, 4]), ["/ip4/10.0.0.2/tcp/4001/p2p/16UiuB", "/ip4/127.0.0.1/tcp/4002/p2p/16UiuB", "/ip4/127.0.0.1/tcp/4001/p2p/16UiuA"]);
    assert.deepEqual(weightsProviders({ kind: "ledger" }, ledger, [0, 2]), ["/ip4/127.0.0.1/tcp/4001/p2p/16UiuA", "/ip4/10.0.0.2/tcp/4001/p2p/16UiuB", "/ip4/127.0.0.1/tcp/4002/p2p/16UiuB"]);
    assert.deepEqual(weightsProviders({ kind: "ledger" }, ledger, [0, 2], A.toUpperCase().replace("0X", "0x")), ["/ip4/10.0.0.2/tcp/4001/p2p/16UiuB", "/ip4/127.0.0.1/tcp/4002/p2p/16UiuB"]);
    assert.throws(() => weightsProviders({ kind: "ledger" }, [ledger[2]], [0, 2]), /no active server with an address on the ledger .* --share-weights/);
  });
});
