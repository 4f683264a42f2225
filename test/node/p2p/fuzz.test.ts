// ≥ 10,000 random and mutated frames against live servers (real libp2p, real ONNX) while
// an honest client generates: the servers stay up, the client's text is right, sessions
// and memory stay bounded.
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { multiaddr } from "@multiformats/multiaddr";
import { lpStream } from "@libp2p/utils";
import { generate } from "../../../node/client/generate.ts";
import { openLocalEngine, type LocalEngine } from "../../../node/client/local.ts";
import { RemoteSession } from "../../../node/client/remote.ts";
import { chooseRoute } from "../../../node/client/route.ts";
import { createNode, type EfedNode } from "../../../node/p2p/host.ts";
import { encodeFrame, INFER_PROTOCOL, type Frame } from "../../../node/p2p/wire.ts";
import { startServer, type RunningServer } from "../../../node/server/server.ts";
import { goldenText, STORIES_260K } from "../../helpers/models.ts";
import { lcg } from "../../../node/model/random.ts";

const FRAMES = 10_000;
const WORKERS = 8;

/** Seeded generator for reproducible fuzzing. */
function rng(seed: number) {
  const next = lcg(seed);
  return { next, int: (n: number) => Math.floor(next() * n), pick: <T>(xs: T[]) => xs[Math.floor(next() * xs.length)] };
}

describe("fuzzing a live server", () => {
  const servers: RunningServer[] = [];
  let client: EfedNode;
  let fuzzer: EfedNode;
  let engine: LocalEngine;

  before(async () => {
    for (const layers of [[0, 2], [2, 4], [4, 5]] as const) servers.push(await startServer({ model: STORIES_260K, layers, limits: { ttlMs: 5000 } }));
    client = await createNode();
    fuzzer = await createNode();
    engine = await openLocalEngine(STORIES_260K);
  });
  after(async () => {
    await Promise.all(servers.map((s) => s.stop(100)));
    await client?.stop();
    await fuzzer?.stop();
    await engine?.close();
  });

  const route = () =>
    chooseRoute(servers.map((s) => ({ peer: s.node.peerId.toString(), addrs: s.addrs(), start: s.runner.start, end: s.runner.end, trust: 1, throughput: 1000, rttMs: 1 })), 5);

  async function honestRun(): Promise<string> {
    const session = new RemoteSession(client, route(), engine.model.config.dim, { timeoutMs: 20_000 });
    await session.open();
    try {
      const golden = goldenText();
      const n = engine.model.tokenizer.encode(golden, { bos: false }).length;
      return (await generate(engine.client, session, { prompt: "", maxTokens: n })).text.slice(0, golden.length);
    } finally {
      await session.close();
    }
  }

  /** One worker: streams of a few frames each, valid openings followed by mutations. */
  async function fuzzWorker(id: number, budget: number): Promise<number> {
    const r = rng(1000 + id);
    let sent = 0;
    // a stream sends 1-5 frames: `budget` streams are room enough, so a server that stops
    // taking streams (or frames) leaves this worker short of its budget instead of looping on
    for (let streams = 0; sent < budget && streams < budget; streams++) {
      const target = servers[r.int(2)];
      const me = { peer: target.node.peerId.toString(), addrs: [], start: target.runner.start, end: target.runner.end };
      const session = Array.from({ length: 32 }, () => "0123456789abcdef"[r.int(16)]).join("");
      const dim = target.runner.config.dim;
      const valid: Frame[] = [
        { type: "OPEN", header: { session, hops: [me] } },
        { type: "STEP", header: { session, seq: 0, pos: 0, n: 1, dim, dtype: "f32" }, tensor: new Float32Array(dim).fill(0.1) },
      ];
      let stream;
      try {
        stream = await fuzzer.dialProtocol(multiaddr(target.addrs()[0]), INFER_PROTOCOL, { signal: AbortSignal.timeout(5000) });
      } catch {
        continue; // not counted as sent: a server that refuses streams fails the test
      }
      const lp = lpStream(stream, { maxDataLength: 1 << 20 });
      try {
        for (let k = 0; k < 5 && sent < budget; k++, sent++) {
          const base = encodeFrame(valid[Math.min(k, 1)]);
          const kind = r.int(8);
          if (kind === 0 && k === 0) {
            await lp.write(base); // a valid opening, so later mutations reach the session logic
          } else if (kind === 1) {
            await lp.write(Uint8Array.from({ length: r.int(300) }, () => r.int(256))); // noise
          } else if (kind === 2) {
            const m = Uint8Array.from(base);
            for (let j = 0; j < 1 + r.int(4); j++) m[r.int(m.length)] = r.int(256); // bit rot
            await lp.write(m);
          } else if (kind === 3) {
            await lp.write(base.subarray(0, r.int(base.length))); // truncated
          } else if (kind === 4) {
            const wrong: Frame = { type: "STEP", header: { session, seq: r.int(9), pos: r.int(600), n: 1 + r.int(3), dim: r.pick([dim, dim + 1, 1]), dtype: "f32" }, tensor: new Float32Array(0) };
            const bytes = encodeFrame({ ...wrong, tensor: new Float32Array(wrong.header.n * wrong.header.dim) });
            await lp.write(bytes); // well formed, wrong for the session (shape, position, order)
          } else if (kind === 5) {
            stream.send(Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0x0f)); // a length prefix far past the cap
          } else if (kind === 6) {
            await lp.write(encodeFrame({ type: "OPEN", header: { session, hops: [{ ...me, start: me.start + 1, end: me.end + 3 }] } })); // wrong layers
          } else {
            await lp.write(encodeFrame(valid[1])); // a step, valid or out of turn
          }
          // read a reply when one comes quickly; a server may also just end the stream
          await lp.read({ signal: AbortSignal.timeout(200) }).catch(() => undefined);
        }
      } catch {
        // the server ended the stream: expected after a bad frame
      } finally {
        stream.abort(new Error("fuzz stream done"));
      }
    }
    return sent;
  }

  it(`survives ${FRAMES} bad frames while an honest client gets the right text`, async () => {
    const golden = goldenText();
    assert.equal(await honestRun(), golden); // warm-up
    const rssBefore = process.memoryUsage().rss;
    const honest = (async () => {
      const texts: string[] = [];
      for (let i = 0; i < 3; i++) texts.push(await honestRun());
      return texts;
    })();
    const counts = await Promise.all(Array.from({ length: WORKERS }, (_, i) => fuzzWorker(i, FRAMES / WORKERS)));
    const texts = await honest;
    const total = counts.reduce((a, b) => a + b, 0);
    assert.ok(total >= FRAMES, `sent ${total} of ${FRAMES} frames: the servers stopped taking streams or frames`);
    for (const t of texts) assert.equal(t, golden);
    // still up and still right
    assert.equal(await honestRun(), golden);
    for (const s of servers) assert.equal(s.node.status, "started");
    const bad = servers[0].service.stats.badFrames + servers[1].service.stats.badFrames;
    assert.ok(bad > 1000, `servers answered ${bad} bad frames`);
    // sessions of aborted streams are released; memory did not run away
    await new Promise((r) => setTimeout(r, 500));
    for (const s of servers) assert.ok(s.service.sessions.size <= 1, `${s.service.sessions.size} sessions left open`);
    const growth = (process.memoryUsage().rss - rssBefore) / 2 ** 20;
    assert.ok(growth < 200, `RSS grew by ${growth.toFixed(0)} MiB`);
  });
});
