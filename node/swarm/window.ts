// A window of steps that one receipt covers. Signing every step would cost a 64-byte
// signature per token per hop on its own; a window binds each of its steps through digest
// chains (sha256 over the steps' exact input and output digests, in order), so one
// signature receipts them all and an auditor, knowing only where the steps began and
// ended, can hold a server to each of them.
import { createHash } from "node:crypto";
import { tensorDigest } from "./commitment.ts";

/** Steps a server holds unsealed at most, and positions (bounds its memory per session). */
export const MAX_WINDOW_STEPS = 64;
export const MAX_WINDOW_POSITIONS = 4096;

/** sha256 over step digests in order: one digest that binds every step of a window. */
export function chainDigest(digests: readonly string[]): string {
  const h = createHash("sha256");
  for (const d of digests) h.update(Buffer.from(d.slice(2), "hex"));
  return "0x" + h.digest("hex");
}

function concat(parts: readonly Float32Array[], length: number): Float32Array {
  const out = new Float32Array(length);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

export class StepWindow {
  /** First position of the window. */
  pos: number;
  positions = 0;
  private inDigests: string[] = [];
  private outDigests: string[] = [];
  private ins: Float32Array[] = [];
  private outs: Float32Array[] = [];
  /** Whether the tensors are kept (a server needs them to project at the seal). */
  private readonly keep: boolean;

  constructor(pos: number, keep: boolean) {
    this.pos = pos;
    this.keep = keep;
  }

  get steps(): number {
    return this.inDigests.length;
  }

  add(input: Float32Array, output: Float32Array, n: number): void {
    this.inDigests.push(tensorDigest(input));
    this.outDigests.push(tensorDigest(output));
    if (this.keep) {
      this.ins.push(input);
      this.outs.push(output);
    }
    this.positions += n;
  }

  inputDigest(): string {
    return chainDigest(this.inDigests);
  }

  outputDigest(): string {
    return chainDigest(this.outDigests);
  }

  /** The window's inputs, [positions × dim] (kept windows only). */
  inputs(): Float32Array {
    return concat(this.ins, this.ins.reduce((a, x) => a + x.length, 0));
  }

  outputs(): Float32Array {
    return concat(this.outs, this.outs.reduce((a, x) => a + x.length, 0));
  }

  /** Starts the next window where this one ended. */
  reset(): void {
    this.pos += this.positions;
    this.positions = 0;
    this.inDigests = [];
    this.outDigests = [];
    this.ins = [];
    this.outs = [];
  }
}
