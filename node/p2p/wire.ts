// /efed/infer/3 wire format. Each frame (inside libp2p's length prefix) is
//   "EF" | version u8 | type u8 | header length u32 LE | JSON header | raw tensor bytes (LE)
//   | receipt bytes (the header's `rb` of them)
// Receipts are signed per window of steps, not per step (version 3): a STEP with `seal`
// closes the window on every hop; such a STEP from a server carries the hop before's
// receipt, and its RESULT the receipts of every hop from the answering one on, in the
// compact binary forms of node/swarm/receipt-wire.ts. A seal-only STEP has n = 0.
// A STEP's `budget` is the milliseconds left for the rest of the route: each hop waits for
// the next a little less than it was given and passes on less again, so when a hop stalls
// the hop before it gives up first and names it (not the client, blaming the first hop).
// Every frame is validated here before anything uses it; a bad frame is a WireError
// with a stable code, answered with an ERROR frame.
import { z } from "zod";
import { floatToHalf, halfToFloat } from "../model/dtypes.ts";

export const INFER_PROTOCOL = "/efed/infer/3";
export const WIRE_VERSION = 3;
export const HEADER_OFFSET = 8;
export const MAX_HEADER_BYTES = 8 * 1024 * 1024;
export const MAX_FRAME_BYTES = 64 * 1024 * 1024;
export const MAX_HOPS = 64;
export const MAX_STEP_POSITIONS = 4096;
export const MAX_RECEIPT_BYTES = 4 * 1024 * 1024;
/** What each hop keeps back from its budget for an answer (or an error) to travel back. */
export const RELAY_MS = 250;

export const FRAME_TYPES = { OPEN: 1, OPENED: 2, STEP: 3, RESULT: 4, ERROR: 5, CLOSE: 6 } as const;
export type FrameType = keyof typeof FRAME_TYPES;
const TYPE_NAMES = Object.fromEntries(Object.entries(FRAME_TYPES).map(([k, v]) => [v, k])) as Record<number, FrameType>;

export class WireError extends Error {
  override readonly name = "WireError";
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.code = code;
  }
}

const sessionId = z.string().regex(/^[0-9a-f]{32}$/, "session must be 32 hex characters");
const peer = z.string().min(1).max(128);
const hop = z.object({
  peer,
  addrs: z.array(z.string().min(1).max(256)).max(8),
  start: z.number().int().min(0).max(65535),
  end: z.number().int().min(1).max(65535),
}).strict().refine((h) => h.start < h.end, "a hop's start must be below its end");
const dtype = z.enum(["f32", "f16"]);
const tensorHeader = { n: z.number().int().min(0).max(MAX_STEP_POSITIONS), dim: z.number().int().min(1).max(1 << 16), dtype, rb: z.number().int().min(1).max(MAX_RECEIPT_BYTES).optional() };

export const HEADERS = {
  OPEN: z.object({ session: sessionId, hops: z.array(hop).min(1).max(MAX_HOPS) }).strict(),
  OPENED: z.object({ session: sessionId }).strict(),
  STEP: z.object({ session: sessionId, seq: z.number().int().min(0), pos: z.number().int().min(0), ...tensorHeader, seal: z.literal(true).optional(), budget: z.number().int().min(1).max(600_000).optional() }).strict()
    .refine((h) => h.n > 0 || h.seal === true, "only a seal may carry no positions"),
  RESULT: z.object({ session: sessionId, seq: z.number().int().min(0), ...tensorHeader }).strict(),
  ERROR: z.object({ code: z.string().max(64), message: z.string().max(1024), session: sessionId.optional(), peer: peer.optional() }).strict(),
  CLOSE: z.object({ session: sessionId }).strict(),
};

export type Hop = z.infer<typeof hop>;
export type Header<T extends FrameType> = z.infer<(typeof HEADERS)[T]>;
export type Frame = { [T in FrameType]: { type: T; header: Header<T>; tensor?: Float32Array; receipts?: Uint8Array } }[FrameType];

export function encodeFrame(f: Frame): Uint8Array {
  const receipts = f.receipts ?? new Uint8Array(0);
  const header = receipts.length > 0 ? { ...f.header, rb: receipts.length } : f.header;
  const json = new TextEncoder().encode(JSON.stringify(header));
  if (json.length > MAX_HEADER_BYTES) throw new WireError("header_too_large", `header of ${json.length} bytes`);
  let body: Uint8Array = new Uint8Array(0);
  if (f.tensor !== undefined) {
    const d = (f.header as { dtype?: string }).dtype;
    if (d === "f16") {
      const h = new Uint16Array(f.tensor.length);
      for (let i = 0; i < h.length; i++) h[i] = floatToHalf(f.tensor[i]);
      body = new Uint8Array(h.buffer);
    } else {
      body = new Uint8Array(f.tensor.buffer, f.tensor.byteOffset, f.tensor.byteLength);
    }
  }
  const out = new Uint8Array(HEADER_OFFSET + json.length + body.length + receipts.length);
  out[0] = 0x45; // E
  out[1] = 0x46; // F
  out[2] = WIRE_VERSION;
  out[3] = FRAME_TYPES[f.type];
  new DataView(out.buffer).setUint32(4, json.length, true);
  out.set(json, HEADER_OFFSET);
  out.set(body, HEADER_OFFSET + json.length);
  out.set(receipts, HEADER_OFFSET + json.length + body.length);
  return out;
}

/** Parses and validates one frame. Throws WireError on anything malformed. */
export function decodeFrame(bytes: Uint8Array): Frame {
  if (bytes.length < HEADER_OFFSET) throw new WireError("short_frame", `frame of ${bytes.length} bytes`);
  if (bytes[0] !== 0x45 || bytes[1] !== 0x46) throw new WireError("bad_magic", "not an eFedLLM frame");
  if (bytes[2] !== WIRE_VERSION) throw new WireError("bad_version", `wire version ${bytes[2]}, this node speaks ${WIRE_VERSION}`);
  const type = TYPE_NAMES[bytes[3]];
  if (type === undefined) throw new WireError("bad_type", `unknown frame type ${bytes[3]}`);
  const len = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(4, true);
  if (len > MAX_HEADER_BYTES) throw new WireError("header_too_large", `header of ${len} bytes`);
  if (HEADER_OFFSET + len > bytes.length) throw new WireError("short_frame", `header of ${len} bytes exceeds the frame`);
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(HEADER_OFFSET, HEADER_OFFSET + len)));
  } catch {
    throw new WireError("bad_header", "header is not UTF-8 JSON");
  }
  const parsed = HEADERS[type].safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new WireError("bad_header", `${type}: ${issue.path.join(".") || "header"}: ${issue.message}`);
  }
  const header = parsed.data as Header<typeof type>;
  const body = bytes.subarray(HEADER_OFFSET + len);
  if (type !== "STEP" && type !== "RESULT") {
    if (body.length !== 0) throw new WireError("unexpected_tensor", `${type} carries no tensor`);
    return { type, header } as Frame;
  }
  const h = header as Header<"STEP">;
  const width = h.dtype === "f16" ? 2 : 4;
  const expected = h.n * h.dim * width;
  const rb = h.rb ?? 0;
  if (body.length !== expected + rb) throw new WireError("bad_tensor", `body of ${body.length} bytes, header says ${h.n}×${h.dim} ${h.dtype} (${expected}) and ${rb} receipt bytes`);
  const receipts = rb > 0 ? Uint8Array.prototype.slice.call(body, expected) : undefined; // a copy, even of a Buffer
  let tensor: Float32Array;
  if (h.dtype === "f16") {
    const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
    tensor = new Float32Array(h.n * h.dim);
    for (let i = 0; i < tensor.length; i++) tensor[i] = halfToFloat(view.getUint16(2 * i, true));
  } else {
    tensor = new Float32Array(body.buffer.slice(body.byteOffset, body.byteOffset + expected));
  }
  for (let i = 0; i < tensor.length; i++) {
    if (!Number.isFinite(tensor[i])) throw new WireError("bad_tensor", `non-finite value at ${i}`);
  }
  return { type, header, tensor, receipts } as Frame;
}
