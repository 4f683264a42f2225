// How receipts are made, travel and are checked along a route. A server makes one per step
// and checks the one that came with its input (the upstream hop's) against the bytes it
// received, so no hop can commit to one output and send another; the client checks that
// the receipts of a step form one unbroken, signed chain from its input to its result.
import type { TypedDataDomain } from "ethers";
import { WireError, type WireReceipt } from "../p2p/wire.ts";
import { commitDigest, project, tensorDigest } from "./commitment.ts";
import { receiptHash, sessionWord, verifyReceipt, ZERO, type ReceiptSigner, type SignedReceipt } from "./receipt.ts";

export interface StepFacts {
  readonly session: string; // 32 hex characters
  readonly start: number;
  readonly end: number;
  readonly pos: number;
  readonly n: number;
  readonly dim: number;
  readonly epoch: bigint;
}

/** The receipt a server signs for one step. */
export function makeReceipt(signer: ReceiptSigner, f: StepFacts, input: Float32Array, output: Float32Array, prev: string, upstream: string): SignedReceipt {
  const outputDigest = tensorDigest(output);
  const proj = project(output, f.n, f.dim, outputDigest);
  return signer.sign(
    { session: sessionWord(f.session), start: f.start, end: f.end, pos: f.pos, n: f.n, epoch: f.epoch, inputDigest: tensorDigest(input), outputDigest, commitDigest: commitDigest(proj), prev, upstream },
    proj,
  );
}

export function toWire(r: SignedReceipt): WireReceipt {
  return {
    start: r.start,
    end: r.end,
    epoch: r.epoch.toString(),
    inputDigest: r.inputDigest,
    outputDigest: r.outputDigest,
    prev: r.prev,
    upstream: r.upstream,
    sig: r.sig,
    proj: Buffer.from(r.proj.buffer, r.proj.byteOffset, r.proj.byteLength).toString("base64"),
  };
}

export function fromWire(w: WireReceipt, session: string, pos: number, n: number): SignedReceipt {
  const bytes = Buffer.from(w.proj, "base64");
  if (bytes.length % 4 !== 0) throw new WireError("bad_receipt", `projections of ${bytes.length} bytes`);
  const proj = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length));
  return { session: sessionWord(session), start: w.start, end: w.end, pos, n, epoch: BigInt(w.epoch), inputDigest: w.inputDigest, outputDigest: w.outputDigest, commitDigest: commitDigest(proj), prev: w.prev, upstream: w.upstream, sig: w.sig, proj };
}

/** A server's check of the receipt that came with its input: the hop before it must have
 * committed to exactly these bytes, for this step, ending where this hop starts. */
export function checkUpstream(up: SignedReceipt, input: Float32Array, f: StepFacts): void {
  if (up.end !== f.start) throw new WireError("bad_receipt", `upstream receipt covers ${up.start}-${up.end}, this hop starts at ${f.start}`);
  const digest = tensorDigest(input);
  if (up.outputDigest !== digest) throw new WireError("bad_receipt", "upstream receipt's output digest does not match the input received");
  const proj = project(input, f.n, f.dim, digest);
  if (proj.length !== up.proj.length || proj.some((v, i) => v !== up.proj[i])) throw new WireError("bad_receipt", "upstream receipt's commitment does not match the input received");
}

/** Why a step's receipts do not hold together, and which hop is to blame. */
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

/** The client's check of one step: one receipt per hop, in route order, each signed by its
 * hop's key, chained input to output and to the previous step's receipt of the same hop.
 * Returns the receipts' struct hashes (the next step's `prev`). */
export function checkStepReceipts(domain: TypedDataDomain, route: readonly ChainHop[], receipts: readonly SignedReceipt[], input: Float32Array, output: Float32Array, prev: readonly string[]): string[] {
  if (receipts.length !== route.length) throw new BrokenReceiptsError(Math.min(receipts.length, route.length - 1), `${receipts.length} receipts for ${route.length} hops`);
  const hashes: string[] = [];
  let inputDigest = tensorDigest(input);
  let upstream = ZERO;
  for (let k = 0; k < route.length; k++) {
    const r = receipts[k];
    const h = route[k];
    if (r.start !== h.start || r.end !== h.end) throw new BrokenReceiptsError(k, `receipt for layers ${r.start}-${r.end} from the hop serving ${h.start}-${h.end}`);
    if (!verifyReceipt(domain, r, h.publicKey)) throw new BrokenReceiptsError(k, `hop ${k}'s receipt is not signed by its peer key`);
    if (r.inputDigest !== inputDigest) throw new BrokenReceiptsError(k, `hop ${k} signed for an input other than the one sent to it`);
    if (r.upstream !== upstream) throw new BrokenReceiptsError(k, `hop ${k}'s receipt does not point at the receipt before it`);
    if (r.prev !== (prev[k] ?? ZERO)) throw new BrokenReceiptsError(k, `hop ${k}'s receipt does not follow its previous one`);
    const hash = receiptHash(r);
    hashes.push(hash);
    inputDigest = r.outputDigest;
    upstream = hash;
  }
  if (inputDigest !== tensorDigest(output)) throw new BrokenReceiptsError(route.length - 1, "the result is not what the last hop signed for");
  return hashes;
}
