// How receipts are made, travel and are checked along a route. A server signs one per
// window of steps when the client seals it, and first checks the receipt the hop before
// sent with the seal against the bytes it received in that window, so no hop can commit
// to one output and send another; the client checks that the window's receipts form one
// unbroken, signed chain from what it sent to what it got back.
import { z } from "zod";
import type { TypedDataDomain } from "ethers";
import { WireError } from "../p2p/wire.ts";
import { commitDigest, project } from "./commitment.ts";
import { receiptHash, sessionWord, verifyReceipt, ZERO, type ReceiptSigner, type SignedReceipt } from "./receipt.ts";
import type { HopReceiptBytes, UpstreamReceiptBytes } from "./receipt-wire.ts";

/** What a window's receipt is about: `pos` and `n` span every position of the window. */
export interface WindowFacts {
  readonly session: string; // 32 hex characters
  readonly start: number;
  readonly end: number;
  readonly pos: number;
  readonly n: number;
  readonly dim: number;
  readonly epoch: bigint;
}

/** The receipt a server signs for a window: its input and output digest chains, and the
 * projections of every output position seeded by the output chain (Fiat–Shamir: fixed
 * only once every output of the window was sent). */
export function makeReceipt(signer: ReceiptSigner, f: WindowFacts, inputDigest: string, outputDigest: string, outputs: Float32Array, prev: string, upstream: string): SignedReceipt {
  const proj = project(outputs, f.n, f.dim, outputDigest);
  return signer.sign(
    { session: sessionWord(f.session), start: f.start, end: f.end, pos: f.pos, n: f.n, epoch: f.epoch, inputDigest, outputDigest, commitDigest: commitDigest(proj), prev, upstream },
    proj,
  );
}

/** A hop's check of the receipt the hop before sent with a seal: rebuilt from what this hop
 * received (its input chain and projections of its inputs) and verified against the
 * sender's key, it only verifies if the hop before signed for exactly these bytes. Returns
 * the receipt's struct hash (this hop's `upstream`). */
export function checkUpstream(domain: TypedDataDomain, up: UpstreamReceiptBytes, senderKey: Uint8Array, f: WindowFacts, inputDigest: string, inputs: Float32Array, prev: string): string {
  if (up.start >= f.start) throw new WireError("bad_receipt", `upstream receipt starts at ${up.start}, this hop starts at ${f.start}`);
  const proj = project(inputs, f.n, f.dim, inputDigest);
  const r: SignedReceipt = { session: sessionWord(f.session), start: up.start, end: f.start, pos: f.pos, n: f.n, epoch: up.epoch, inputDigest: up.inputDigest, outputDigest: inputDigest, commitDigest: commitDigest(proj), prev, upstream: up.upstream, sig: up.sig, proj };
  if (!verifyReceipt(domain, r, senderKey)) throw new WireError("bad_receipt", "the hop before did not sign for the input this hop received");
  return receiptHash(r);
}

/** Why a window's receipts do not hold together, and which hop is to blame. */
export class BrokenReceiptsError extends Error {
  override readonly name = "BrokenReceiptsError";
  readonly hop: number;
  constructor(hop: number, message: string) {
    super(message);
    this.hop = hop;
  }
}

export interface ChainHop {
  readonly start: number;
  readonly end: number;
  /** The secp256k1 public key of the hop's peer id. */
  readonly publicKey: Uint8Array;
}

export interface WindowSeen {
  readonly session: string;
  readonly pos: number;
  readonly n: number;
  /** The chain of what the client sent, and of what it got back. */
  readonly inputDigest: string;
  readonly outputDigest: string;
}

/** The client's check of one window: one receipt per hop, in route order, each signed by
 * its hop's key for the window, chained from the client's input to its result and to the
 * hop's previous receipt. Returns the full receipts (their hashes are the next `prev`). */
export function checkWindowReceipts(domain: TypedDataDomain, route: readonly ChainHop[], parts: readonly HopReceiptBytes[], w: WindowSeen, prev: readonly string[]): SignedReceipt[] {
  if (parts.length !== route.length) throw new BrokenReceiptsError(Math.min(parts.length, route.length - 1), `${parts.length} receipts for ${route.length} hops`);
  const out: SignedReceipt[] = [];
  let inputDigest = w.inputDigest;
  let upstream = ZERO;
  for (let k = 0; k < route.length; k++) {
    const p = parts[k];
    const h = route[k];
    const r: SignedReceipt = { session: sessionWord(w.session), start: h.start, end: h.end, pos: w.pos, n: w.n, epoch: p.epoch, inputDigest, outputDigest: p.outputDigest, commitDigest: commitDigest(p.proj), prev: prev[k] ?? ZERO, upstream, sig: p.sig, proj: p.proj };
    // one check covers range, window, input, chain and commitment: each is in what was signed
    if (!verifyReceipt(domain, r, h.publicKey)) throw new BrokenReceiptsError(k, `hop ${k}'s receipt is not its signature over this window, its input and the receipts before it`);
    out.push(r);
    inputDigest = r.outputDigest;
    upstream = receiptHash(r);
  }
  if (inputDigest !== w.outputDigest) throw new BrokenReceiptsError(route.length - 1, "the result is not what the last hop signed for");
  return out;
}

const word = z.string().regex(/^0x[0-9a-f]{64}$/, "must be 32 bytes of lowercase hex");
/** A receipt as JSON (evidence records, sessions handed to a verifier): all but the session. */
export const receiptJson = z.object({
  start: z.number().int().min(0).max(65535),
  end: z.number().int().min(1).max(65535),
  pos: z.number().int().min(0).max(2 ** 32 - 1),
  n: z.number().int().min(1).max(2 ** 32 - 1),
  epoch: z.string().regex(/^\d{1,20}$/, "must be a decimal epoch"),
  inputDigest: word,
  outputDigest: word,
  prev: word,
  upstream: word,
  sig: z.string().regex(/^0x[0-9a-f]{128}$/, "must be a 64-byte signature"),
  proj: z.string().max(4 * 1024 * 1024).regex(/^[A-Za-z0-9+/]*={0,2}$/, "must be base64"),
}).strict();
export type ReceiptJson = z.infer<typeof receiptJson>;

export function toJson(r: SignedReceipt): ReceiptJson {
  return {
    start: r.start,
    end: r.end,
    pos: r.pos,
    n: r.n,
    epoch: r.epoch.toString(),
    inputDigest: r.inputDigest,
    outputDigest: r.outputDigest,
    prev: r.prev,
    upstream: r.upstream,
    sig: r.sig,
    proj: Buffer.from(r.proj.buffer, r.proj.byteOffset, r.proj.byteLength).toString("base64"),
  };
}

export function fromJson(w: ReceiptJson, session: string): SignedReceipt {
  const bytes = Buffer.from(w.proj, "base64");
  if (bytes.length % 4 !== 0) throw new WireError("bad_receipt", `projections of ${bytes.length} bytes`);
  const proj = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length));
  return { session: sessionWord(session), start: w.start, end: w.end, pos: w.pos, n: w.n, epoch: BigInt(w.epoch), inputDigest: w.inputDigest, outputDigest: w.outputDigest, commitDigest: commitDigest(proj), prev: w.prev, upstream: w.upstream, sig: w.sig, proj };
}
