// The compact binary forms receipts travel in on /efed/infer/3. Everything the receiver can
// work out itself is left out: the session, range and positions (from the session and
// route), `prev` and `upstream` (the receipts it already holds), the input digest (the hop
// before's output digest, or the client's own chain) and the commit digest (from the
// projections). What remains for the client, per hop and window, is the epoch, the output
// digest, the signature and 16 bytes of projections per position.
import { WireError } from "../p2p/wire.ts";
import { PROJECTIONS } from "./commitment.ts";
import type { SignedReceipt } from "./receipt.ts";

/** A hop's receipt as the client receives it. */
export interface HopReceiptBytes {
  readonly epoch: bigint;
  readonly outputDigest: string;
  readonly sig: string;
  readonly proj: Float32Array;
}

/** The receipt the hop before sends with a seal, for a hop to check before it signs. */
export interface UpstreamReceiptBytes {
  readonly epoch: bigint;
  readonly start: number;
  readonly inputDigest: string;
  readonly upstream: string;
  readonly sig: string;
}

const FIXED = 8 + 32 + 64;
export const UPSTREAM_RECEIPT_BYTES = 8 + 2 + 32 + 32 + 64;

export function hopReceiptBytes(positions: number): number {
  return FIXED + positions * PROJECTIONS * 4;
}

const hex = (b: Uint8Array) => "0x" + Buffer.from(b).toString("hex");
const put = (out: Uint8Array, at: number, h: string) => out.set(Buffer.from(h.slice(2), "hex"), at);

export function encodeHopReceipt(r: SignedReceipt): Uint8Array {
  const out = new Uint8Array(FIXED + r.proj.byteLength);
  new DataView(out.buffer).setBigUint64(0, r.epoch, true);
  put(out, 8, r.outputDigest);
  put(out, 40, r.sig);
  out.set(new Uint8Array(r.proj.buffer, r.proj.byteOffset, r.proj.byteLength), FIXED);
  return out;
}

/** The receipts of the hops from the answering one on, each for `positions` positions. */
export function decodeHopReceipts(bytes: Uint8Array, positions: number): HopReceiptBytes[] {
  const size = hopReceiptBytes(positions);
  if (bytes.length % size !== 0) throw new WireError("bad_receipt", `${bytes.length} receipt bytes are not receipts of ${size} bytes`);
  const out: HopReceiptBytes[] = [];
  for (let at = 0; at < bytes.length; at += size) {
    const b = bytes.subarray(at, at + size);
    const proj = new Float32Array((size - FIXED) / 4);
    new Uint8Array(proj.buffer).set(b.subarray(FIXED)); // a copy: `bytes` may be a view into a pool
    if (proj.some((v) => !Number.isFinite(v))) throw new WireError("bad_receipt", "a projection is not finite");
    out.push({ epoch: new DataView(b.buffer, b.byteOffset).getBigUint64(0, true), outputDigest: hex(b.subarray(8, 40)), sig: hex(b.subarray(40, 104)), proj });
  }
  return out;
}

export function encodeUpstream(r: SignedReceipt): Uint8Array {
  const out = new Uint8Array(UPSTREAM_RECEIPT_BYTES);
  const v = new DataView(out.buffer);
  v.setBigUint64(0, r.epoch, true);
  v.setUint16(8, r.start, true);
  put(out, 10, r.inputDigest);
  put(out, 42, r.upstream);
  put(out, 74, r.sig);
  return out;
}

export function decodeUpstream(bytes: Uint8Array): UpstreamReceiptBytes {
  if (bytes.length !== UPSTREAM_RECEIPT_BYTES) throw new WireError("bad_receipt", `upstream receipt of ${bytes.length} bytes, expected ${UPSTREAM_RECEIPT_BYTES}`);
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return { epoch: v.getBigUint64(0, true), start: v.getUint16(8, true), inputDigest: hex(bytes.subarray(10, 42)), upstream: hex(bytes.subarray(42, 74)), sig: hex(bytes.subarray(74, 138)) };
}
