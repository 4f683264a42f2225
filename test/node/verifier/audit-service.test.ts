// /efed/audit/1 over real libp2p: malformed requests get one clear error reply and the
// service keeps answering; a well-formed session reaches the verifier's check; a flood of
// handed sessions is refused past the verifier's budget instead of eating its compute.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { lpStream } from "@libp2p/utils";
import { createNode, type EfedNode } from "../../../node/p2p/host.ts";
import { AUDIT_PROTOCOL, handToVerifier, serveAudits } from "../../../node/verifier/audit-service.ts";
import type { SessionRecord } from "../../../node/client/remote.ts";

describe("/efed/audit/1", () => {
  let verifier: EfedNode;
  let client: EfedNode;
  const seen: { records: SessionRecord[]; tokens: number[] }[] = [];

  before(async () => {
    verifier = await createNode({ listen: ["/ip4/127.0.0.1/tcp/0"] });
    client = await createNode();
    await serveAudits(verifier, async (records, tokens) => {
      seen.push({ records, tokens });
      return records.map((r) => ({ hops: r.route.map((h) => ({ peer: h.peer, start: h.start, end: h.end, windows: 1, positions: 1 })), computeMs: 0, maxError: 0 }));
    });
  });
  after(async () => {
    await client?.stop();
    await verifier?.stop();
  });

  const raw = async (body: string) => {
    const stream = await client.dialProtocol(verifier.getMultiaddrs()[0], AUDIT_PROTOCOL);
    const lp = lpStream(stream);
    await lp.write(new TextEncoder().encode(body));
    const reply = JSON.parse(new TextDecoder().decode((await lp.read()).subarray()));
    await stream.close().catch(() => {});
    return reply as { error?: string };
  };
  const target = () => ({ peer: verifier.peerId.toString(), addrs: verifier.getMultiaddrs().map((a) => a.toString().replace(/\/p2p\/[^/]+$/, "")) });

  it("answers malformed requests with one error line, and keeps serving", async () => {
    assert.match((await raw("{not json")).error ?? "", /JSON|Unexpected/);
    assert.match((await raw(JSON.stringify({ tokens: [1], records: [] }))).error ?? "", /^bad audit request: records/);
    assert.match((await raw(JSON.stringify({ tokens: [-1], records: [{ session: "0".repeat(32), route: [{ peer: "p", start: 0, end: 1 }], steps: [] }] }))).error ?? "", /^bad audit request: tokens\.0/);
    const bad = { tokens: [1], records: [{ session: "0".repeat(32), route: [{ peer: "p", start: 0, end: 1 }], steps: [{ pos: 0, n: 1, receipts: [{ start: 0 }] }] }] };
    assert.match((await raw(JSON.stringify(bad))).error ?? "", /^bad audit request: records\.0\.steps\.0\.receipts\.0/);
    assert.equal(seen.length, 0, "a malformed request reached the check");
    const verdict = await handToVerifier(client, target(), [{ session: "ab".repeat(16), route: [{ peer: "p1", addrs: [], start: 0, end: 5 }], steps: [{ pos: 0, n: 3, receipts: [] }] }], [1, 2, 3]);
    assert.deepEqual(verdict, { checkedWindows: 1, failed: [], discarded: [] });
    assert.deepEqual(seen[0].tokens, [1, 2, 3]);
  });

  it("refuses handed sessions past its budget (anyone can hand them in), with a clear reason", async () => {
    const busy = await createNode({ listen: ["/ip4/127.0.0.1/tcp/0"] });
    let checks = 0;
    let release = () => {};
    const gate = new Promise<void>((r) => (release = r));
    await serveAudits(busy, async (records) => {
      checks++;
      await gate;
      return records.map((r) => ({ hops: r.route.map((h) => ({ peer: h.peer, start: h.start, end: h.end, windows: 1, positions: 3 })), computeMs: 0, maxError: 0 }));
    }, { concurrent: 1, positionsPerMinute: 7 });
    try {
      const to = { peer: busy.peerId.toString(), addrs: busy.getMultiaddrs().map((a) => a.toString().replace(/\/p2p\/[^/]+$/, "")) };
      const rec = (): SessionRecord[] => [{ session: "cd".repeat(16), route: [{ peer: "p1", addrs: [], start: 0, end: 5 }], steps: [{ pos: 0, n: 3, receipts: [] }] }];
      const first = handToVerifier(client, to, rec(), [1, 2, 3]);
      while (checks === 0) await new Promise((r) => setTimeout(r, 10));
      await assert.rejects(handToVerifier(client, to, rec(), [1, 2, 3]), /verifier busy: 1 handed session\(s\) being checked/);
      release();
      assert.equal((await first).checkedWindows, 1);
      assert.equal((await handToVerifier(client, to, rec(), [1, 2, 3])).checkedWindows, 1); // 6 of 7 positions
      await assert.rejects(handToVerifier(client, to, rec(), [1, 2, 3]), /verifier busy: .*6 of 7 positions this minute/);
      assert.equal(checks, 2, "refused sessions never reached the check");
    } finally {
      await busy.stop();
    }
  });

  it("says which verifier could not be reached", async () => {
    await assert.rejects(handToVerifier(client, { peer: verifier.peerId.toString(), addrs: ["/ip4/127.0.0.1/tcp/1"] }, [], [1], 2000), /could not hand the session to verifier/);
  });
});
