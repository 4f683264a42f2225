// Socket writes coalesced per tick (node/p2p/coalesce.ts): the pieces libp2p writes for one
// frame leave as one writev with the same bytes, and every node's TCP connections get it.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { createServer, connect, type Socket } from "node:net";
import { once } from "node:events";
import { coalesceWrites, socketOf } from "../../../node/p2p/coalesce.ts";
import { createNode } from "../../../node/p2p/host.ts";
import { FramedStream } from "../../../node/p2p/framed.ts";
import { INFER_PROTOCOL } from "../../../node/p2p/wire.ts";

/** Counts the socket's calls down to libuv: one per syscall-level write. */
function spy(s: Socket) {
  const calls = { write: 0, writev: 0, chunks: 0 };
  const x = s as Socket & { _write: (...a: unknown[]) => void; _writev: (chunks: unknown[], cb: unknown) => void };
  const w = x._write;
  const wv = x._writev;
  x._write = function (...a: unknown[]) {
    calls.write++;
    calls.chunks++;
    return w.apply(this, a);
  };
  x._writev = function (chunks: unknown[], cb: unknown) {
    calls.writev++;
    calls.chunks += chunks.length;
    return wv.call(this, chunks, cb);
  };
  return calls;
}

async function pair(): Promise<{ a: Socket; b: Socket; close: () => void }> {
  const server = createServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const port = (server.address() as { port: number }).port;
  const accepted = once(server, "connection");
  const a = connect(port, "127.0.0.1");
  await once(a, "connect");
  const [b] = (await accepted) as [Socket];
  return { a, b, close: () => (a.destroy(), b.destroy(), server.close()) };
}

async function received(b: Socket, bytes: number): Promise<Buffer> {
  const got: Buffer[] = [];
  let n = 0;
  while (n < bytes) {
    const [d] = (await once(b, "data")) as [Buffer];
    got.push(d);
    n += d.length;
  }
  return Buffer.concat(got);
}

describe("coalesced socket writes", () => {
  it("sends the writes of one tick as one writev, bytes and order unchanged", async () => {
    const { a, b, close } = await pair();
    coalesceWrites(a);
    coalesceWrites(a); // once per socket: a second call changes nothing
    const calls = spy(a);
    const pieces = [Buffer.from([0, 28]), Buffer.alloc(28, 1), Buffer.from([8, 93]), Buffer.alloc(2141, 2), Buffer.alloc(16, 3)];
    const arriving = received(b, 2189);
    for (const p of pieces) a.write(p);
    assert.deepEqual(await arriving, Buffer.concat(pieces));
    assert.equal(calls.write + calls.writev, 1, `one call down to the socket, got ${JSON.stringify(calls)}`);
    assert.equal(calls.chunks, pieces.length);
    // the next tick's writes go out too (the socket was uncorked)
    const later = received(b, 3);
    a.write(Buffer.from([7, 8, 9]));
    assert.deepEqual(await later, Buffer.from([7, 8, 9]));
    close();
  });

  it("without it, each piece is a write of its own (what coalescing saves)", async () => {
    const { a, b, close } = await pair();
    const calls = spy(a);
    const arriving = received(b, 30);
    for (let i = 0; i < 3; i++) a.write(Buffer.alloc(10, i));
    await arriving;
    assert.ok(calls.write + calls.writev > 1, JSON.stringify(calls));
    close();
  });

  it("covers every TCP connection a node opens or accepts: one frame, one socket write", async () => {
    const server = await createNode({ listen: ["/ip4/127.0.0.1/tcp/0"] });
    const client = await createNode();
    try {
      const seen = new Promise<FramedStream>((resolve) => void server.handle(INFER_PROTOCOL, (s) => resolve(new FramedStream(s))));
      const conn = await client.dial(server.getMultiaddrs()[0]);
      const stream = new FramedStream(await conn.newStream(INFER_PROTOCOL));
      const socket = socketOf(conn);
      assert.ok(socket !== undefined, "libp2p's TCP connection no longer exposes its socket: coalescing is off");
      const inbound = server.getConnections(client.peerId)[0];
      assert.ok(socketOf(inbound) !== undefined, "the accepted connection has no socket to coalesce");
      await stream.send({ type: "OPENED", header: { session: "0".repeat(32) } }); // opens the stream on the server
      const there = await seen;
      await there.read(5000);
      const calls = spy(socket);
      const tensor = new Float32Array(512).fill(0.5);
      await stream.send({ type: "STEP", header: { session: "0".repeat(32), seq: 0, pos: 0, n: 1, dim: 512, dtype: "f32" }, tensor });
      const f = await there.read(5000);
      assert.equal(f.type, "STEP");
      assert.deepEqual(f.tensor, tensor);
      assert.equal(calls.write + calls.writev, 1, `a frame's pieces (${calls.chunks}) leave in one write, got ${JSON.stringify(calls)}`);
    } finally {
      await client.stop();
      await server.stop();
    }
  });
});
