// The wire codec: round trips, and a named error for every kind of malformed frame.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { decodeFrame, encodeFrame, WireError, type Frame } from "../../../node/p2p/wire.ts";

const session = "0123456789abcdef0123456789abcdef";
const step = (tensor = Float32Array.of(1, -2, 3.5, 0.25), extra: Record<string, unknown> = {}): Frame =>
  ({ type: "STEP", header: { session, seq: 0, pos: 0, n: 2, dim: 2, dtype: "f32", ...extra }, tensor }) as Frame;

function code(bytes: Uint8Array): string {
  try {
    decodeFrame(bytes);
  } catch (err) {
    assert.ok(err instanceof WireError, String(err));
    return err.code;
  }
  return "ok";
}

function raw(type: number, header: unknown, body = new Uint8Array(0), version = 3): Uint8Array {
  const json = new TextEncoder().encode(typeof header === "string" ? header : JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + body.length);
  out.set([0x45, 0x46, version, type]);
  new DataView(out.buffer).setUint32(4, json.length, true);
  out.set(json, 8);
  out.set(body, 8 + json.length);
  return out;
}

const receipts = Uint8Array.from({ length: 104 + 16 }, (_, i) => i); // one hop receipt, one position

describe("wire frames", () => {
  it("round-trips every frame type", () => {
    const frames: Frame[] = [
      { type: "OPEN", header: { session, hops: [{ peer: "12D3KooWabc", addrs: ["/ip4/127.0.0.1/tcp/1"], start: 0, end: 2 }] } },
      { type: "OPENED", header: { session } },
      step(),
      { type: "RESULT", header: { session, seq: 3, n: 1, dim: 2, dtype: "f32" }, tensor: Float32Array.of(7, 8) },
      step(undefined, { seal: true }),
      { type: "STEP", header: { session, seq: 1, pos: 2, n: 0, dim: 2, dtype: "f32", seal: true }, tensor: new Float32Array(0) }, // a seal-only step
      { type: "ERROR", header: { code: "busy", message: "server busy", session, peer: "x" } },
      { type: "CLOSE", header: { session } },
    ];
    for (const f of frames) assert.deepEqual({ ...decodeFrame(encodeFrame(f)), receipts: undefined }, { ...f, receipts: undefined });
    // receipt bytes travel after the tensor, counted in the header
    const sealed = { type: "RESULT", header: { session, seq: 3, n: 1, dim: 2, dtype: "f32" }, tensor: Float32Array.of(7, 8), receipts } as Frame;
    const back = decodeFrame(encodeFrame(sealed));
    assert.deepEqual(back, { ...sealed, header: { ...sealed.header, rb: receipts.length } });
  });

  it("carries f16 tensors at half the bytes, within half precision", () => {
    const t = Float32Array.of(1, -2, 3.14159, 1e-3);
    const bytes = encodeFrame(step(t, { dtype: "f16" }));
    assert.equal(bytes.length, encodeFrame(step(t)).length - 8);
    const back = decodeFrame(bytes) as { tensor: Float32Array };
    t.forEach((v, i) => assert.ok(Math.abs(back.tensor[i] - v) <= Math.abs(v) * 1e-3));
  });

  it("names what is wrong with a malformed frame", () => {
    assert.equal(code(new Uint8Array(3)), "short_frame");
    assert.equal(code(raw(3, {}).map((b, i) => (i === 0 ? 0x00 : b))), "bad_magic");
    assert.equal(code(raw(6, { session }, undefined, 1)), "bad_version");
    assert.equal(code(raw(99, { session })), "bad_type");
    assert.equal(code(raw(6, "{not json")), "bad_header");
    assert.equal(code(raw(6, { session: "short" })), "bad_header");
    assert.equal(code(raw(6, { session, extra: 1 })), "bad_header");
    assert.equal(code(raw(6, { session }, Uint8Array.of(1))), "unexpected_tensor");
    const body = new Uint8Array(Float32Array.of(1, 2, 3).buffer);
    assert.equal(code(raw(3, { session, seq: 0, pos: 0, n: 2, dim: 2, dtype: "f32" }, body)), "bad_tensor");
    const nan = new Uint8Array(Float32Array.of(1, NaN, 3, 4).buffer);
    assert.equal(code(raw(3, { session, seq: 0, pos: 0, n: 2, dim: 2, dtype: "f32" }, nan)), "bad_tensor");
    assert.equal(code(raw(3, { session, seq: 0, pos: 0, n: 0, dim: 2, dtype: "f32" })), "bad_header"); // no positions and no seal
    assert.equal(code(raw(3, { session, seq: 0, pos: -1, n: 1, dim: 2, dtype: "f32" })), "bad_header");
    assert.equal(code(raw(3, { session, seq: 0, pos: 0, n: 1, dim: 2, dtype: "bf16" })), "bad_header");
    assert.equal(code(raw(1, { session, hops: [] })), "bad_header");
    assert.equal(code(raw(1, { session, hops: [{ peer: "p", addrs: [], start: 3, end: 2 }] })), "bad_header");
    const len = raw(6, { session });
    new DataView(len.buffer).setUint32(4, 5000, true);
    assert.equal(code(len), "short_frame");
    new DataView(len.buffer).setUint32(4, 0xffffffff, true);
    assert.equal(code(len), "header_too_large");
    const result = { session, seq: 0, n: 1, dim: 2, dtype: "f32" };
    const t = new Uint8Array(Float32Array.of(1, 2).buffer);
    assert.equal(code(raw(4, { ...result, rb: 4 }, t)), "bad_tensor"); // receipt bytes promised, none sent
    assert.equal(code(raw(4, { ...result, rb: 0 }, t)), "bad_header");
    assert.equal(code(raw(4, { ...result, receipts: [] }, t)), "bad_header"); // version 2's JSON receipts
    assert.equal(code(raw(3, { session, seq: 0, pos: 0, n: 1, dim: 2, dtype: "f32", seal: false }, t)), "bad_header");
  });

  it("never throws anything but WireError on random bytes", () => {
    let s = 1;
    const rnd = () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) >>> 24);
    const codes = new Set<string>();
    for (let i = 0; i < 5000; i++) {
      const b = Uint8Array.from({ length: rnd() % 64 }, rnd);
      if (i % 2 === 0 && b.length > 8) {
        b.set([0x45, 0x46, 3, 1 + (rnd() % 6)]);
        new DataView(b.buffer).setUint32(4, rnd() % 80, true); // a plausible header length
      }
      codes.add(code(b)); // throws if anything but a WireError escapes
    }
    // the random frames reached the checks past the magic, not just the first one
    for (const c of ["short_frame", "bad_magic", "bad_header"]) assert.ok(codes.has(c), `no ${c} among ${[...codes].join(", ")}`);
  });
});
