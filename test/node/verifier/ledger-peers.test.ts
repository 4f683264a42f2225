// Verifiers find each other from the ledger's list (peer id and addresses), over real
// libp2p: every other active verifier is dialled, unreachable ones are skipped, and a read
// that fails is said once and tried again.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { createNode, type EfedNode } from "../../../node/p2p/host.ts";
import { LedgerPeers } from "../../../node/verifier/ledger-peers.ts";
import type { VerifierEntry } from "../../../node/chain/registry.ts";

describe("verifiers on the ledger", () => {
  const nodes: EfedNode[] = [];
  before(async () => {
    for (let i = 0; i < 3; i++) nodes.push(await createNode({ listen: ["/ip4/127.0.0.1/tcp/0"] }));
  });
  after(async () => {
    await Promise.all(nodes.map((n) => n.stop()));
  });
  const entry = (n: EfedNode, i: number): VerifierEntry => ({
    account: "0x" + String(i).repeat(40),
    peer: n.peerId.toString(),
    addrs: n.getMultiaddrs().map((a) => a.toString().replace(/\/p2p\/[^/]+$/, "")),
  });
  const connected = (a: EfedNode, b: EfedNode) => a.getConnections().some((c) => c.remotePeer.equals(b.peerId));

  it("dials every other verifier listed, skips the unreachable, and says whom it found", async () => {
    const lines: string[] = [];
    const gone = { account: "0x" + "9".repeat(40), peer: nodes[2].peerId.toString(), addrs: ["/ip4/127.0.0.1/tcp/1"] };
    const peers = new LedgerPeers(nodes[0], async () => [entry(nodes[0], 0), entry(nodes[1], 1), gone], (l) => lines.push(l));
    assert.equal(await peers.connect(), 1);
    assert.ok(connected(nodes[0], nodes[1]));
    assert.ok(!connected(nodes[0], nodes[2]), "an address that does not answer is skipped");
    assert.deepEqual(lines, [`found verifier 0x${"1".repeat(40)} on the ledger (${nodes[1].peerId.toString().slice(-8)})`]);
    assert.equal(await peers.connect(), 0, "already connected: nothing to dial");
  });

  it("a failed read is said once and tried again", async () => {
    const lines: string[] = [];
    let fail = true;
    const peers = new LedgerPeers(nodes[2], async () => {
      if (fail) throw new Error("connection refused");
      return [entry(nodes[0], 0)];
    }, (l) => lines.push(l));
    assert.equal(await peers.connect(), 0);
    assert.equal(await peers.connect(), 0);
    assert.equal(lines.filter((l) => /cannot read them \(connection refused\)/.test(l)).length, 1);
    fail = false;
    assert.equal(await peers.connect(), 1);
    assert.ok(connected(nodes[2], nodes[0]));
    // a verifier that dialled this one first is found all the same, once
    for (let i = 0; i < 200 && !connected(nodes[0], nodes[2]); i++) await new Promise((r) => setTimeout(r, 10)); // the inbound side settles
    const other = new LedgerPeers(nodes[0], async () => [entry(nodes[2], 2)], (l) => lines.push(l));
    assert.equal(await other.connect(), 0);
    assert.equal(await other.connect(), 0);
    assert.equal(lines.filter((l) => l.includes(nodes[2].peerId.toString().slice(-8))).length, 1);
  });
});
