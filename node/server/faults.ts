// Fault modes for tests and demos (`efed server --fault <mode>`): ways a dishonest or broken
// server may answer. No fault: honest.
//   noise:<σ>  add Gaussian noise of σ × the output's RMS      skip     return the input
//   replay     return an earlier output                          garbage  random values
//   zero       all zeros                                         slow:<ms> answer late (honest values)
//   drop:<p>   with probability p, drop the stream instead of answering
import { normal } from "../model/synth.ts";

export type Fault =
  | { kind: "noise"; sigma: number }
  | { kind: "skip" }
  | { kind: "replay" }
  | { kind: "garbage" }
  | { kind: "zero" }
  | { kind: "slow"; ms: number }
  | { kind: "drop"; p: number };

export class FaultSpecError extends Error {
  override readonly name = "FaultSpecError";
}

export function parseFault(spec: string): Fault {
  const [kind, arg] = spec.split(":");
  const num = (lo: number, hi: number) => {
    const x = Number(arg);
    if (arg === undefined || !Number.isFinite(x) || x < lo || x > hi) throw new FaultSpecError(`${kind} needs a number in [${lo}, ${hi}], e.g. ${kind}:${kind === "slow" ? 200 : 0.01}`);
    return x;
  };
  switch (kind) {
    case "noise":
      return { kind, sigma: num(0, 1e6) };
    case "slow":
      return { kind, ms: num(0, 600_000) };
    case "drop":
      return { kind, p: num(0, 1) };
    case "skip":
    case "replay":
    case "garbage":
    case "zero":
      if (arg !== undefined) throw new FaultSpecError(`${kind} takes no argument`);
      return { kind };
    default:
      throw new FaultSpecError(`unknown fault "${spec}" (noise:<σ>, skip, replay, garbage, zero, slow:<ms>, drop:<p>)`);
  }
}

export class DroppedError extends Error {
  override readonly name = "DroppedError";
}

/** The output transform a faulty server applies (input is what it received). */
export function faultTransform(f: Fault, seed = 1): (out: Float32Array, input: Float32Array) => Promise<Float32Array> {
  const rand = normal(seed);
  let last: { input: Float32Array; out: Float32Array } | undefined;
  const same = (a: Float32Array, b: Float32Array) => a.length === b.length && a.every((v, i) => v === b[i]);
  let u = seed >>> 0 || 1;
  const uniform = () => ((u = (Math.imul(u, 1664525) + 1013904223) >>> 0) / 4294967296);
  return async (out, input) => {
    switch (f.kind) {
      case "noise": {
        let ss = 0;
        for (const v of out) ss += v * v;
        const rms = Math.sqrt(ss / out.length);
        return out.map((v) => v + f.sigma * rms * rand());
      }
      case "skip":
        return Float32Array.from(input);
      case "replay": {
        // an earlier answer to a different question (the same question's answer would be right)
        const usable = last !== undefined && last.out.length === out.length && !same(last.input, input);
        const earlier = usable ? last!.out : new Float32Array(out.length).fill(out[0] ?? 0);
        last = { input: Float32Array.from(input), out: Float32Array.from(out) };
        return earlier;
      }
      case "garbage":
        return out.map(() => rand() * 10);
      case "zero":
        return new Float32Array(out.length);
      case "slow":
        await new Promise((r) => setTimeout(r, f.ms));
        return out;
      case "drop":
        if (uniform() < f.p) throw new DroppedError("dropped (fault injection)");
        return out;
    }
  };
}
