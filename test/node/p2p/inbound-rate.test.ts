// Verifiers audit and probe from a fresh identity each time (so a server cannot tell them from
// clients), and each fresh identity is a new connection. Many of them come from one host: every
// process of a one-machine swarm, or clients behind one NAT. libp2p refuses a host's inbound
// connections past 5 a second by default, and a refused ping reads as a server that "did not
// answer": a client then routed around a live server (the dashboard e2e's chat failed so).
import { describe, it, after } from "node:test";
import assert from "node:assert/strict";
import { multiaddr } from "@multiformats/multiaddr";
import { createNode, type EfedNode } from "../../../node/p2p/host.ts";

describe("inbound connections from one host", () => {
  const nodes: EfedNode[] = [];
  after(async () => {
    await Promise.all(nodes.map((n) => n.stop()));
  });

  it("a node answers 24 fresh identities' pings from its own host at once", async () => {
    const server = await createNode({ listen: ["/ip4/127.0.0.1/tcp/0"] });
    nodes.push(server);
    const addr = server.getMultiaddrs()[0].toString();
    const clients = await Promise.all(Array.from({ length: 24 }, () => createNode()));
    nodes.push(...clients);
    const results = await Promise.allSettled(clients.map((c) => c.services.ping.ping(multiaddr(addr), { signal: AbortSignal.timeout(10_000) })));
    const failed = results.filter((r) => r.status === "rejected").map((r) => String((r as PromiseRejectedResult).reason?.message ?? r));
    assert.deepEqual(failed, [], `${failed.length} of 24 pings refused`);
  });
});
