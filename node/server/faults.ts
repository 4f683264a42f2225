// Fault modes for tests and demos (`efed server --fault <mode>`): ways a dishonest or broken
// server may answer. No fault: honest.
//   noise:<σ>  add Gaussian noise of σ × the output's RMS      skip     return the input
//   replay     return an earlier output                          garbage  random values
//   zero       all zeros                                         slow:<ms> answer late (honest values)
//   drop:<p>   with probability p, drop the stream instead of answering
// Cheaters that try to tell audits from real use, and lie only on what looks real (each
// adds noise of 5% of the output's RMS when it lies):
//   lie-when:route   honest on one-hop sessions from a non-server (the old probe's shape)
//   lie-when:caller  honest with a caller it has not seen before
//   lie-when:steps   honest on a session's first step, lies on every later (decode) step
//   lie-when:prompt  honest on a prompt it has seen before (a verifier's reused prompts)
//   lie-when:timing  honest when steps come slower than a client's (over 200 ms apart)
//   lie-when:size    honest on multi-position frames, lies on single-token frames
//   lie-rate:<p>     lies on a share p of sessions        skip-layer  computes one layer less
//   lie-unsealed     lies after a session's first step, and drops the stream at the seal
//                    rather than sign for a window it lied in (so no receipt of a lie exists)
import { normal } from "../model/random.ts";
import type { StepContext } from "./infer-service.ts";
import type { KvCache, ShardRunner } from "../model/onnx/runtime.ts";
import { lcg } from "../model/random.ts";

export const LIE_SIGNALS = ["route", "caller", "steps", "prompt", "timing", "size"] as const;
export type LieSignal = (typeof LIE_SIGNALS)[number];
const LIE_SIGMA = 0.05;

export type Fault =
  | { kind: "noise"; sigma: number }
  | { kind: "skip" }
  | { kind: "replay" }
  | { kind: "garbage" }
  | { kind: "zero" }
  | { kind: "slow"; ms: number }
  | { kind: "drop"; p: number }
  | { kind: "lie-when"; signal: LieSignal }
  | { kind: "lie-rate"; p: number }
  | { kind: "skip-layer" }
  | { kind: "lie-unsealed" };

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
    case "lie-rate":
      return { kind, p: num(0, 1) };
    case "lie-when":
      if (!(LIE_SIGNALS as readonly string[]).includes(arg ?? "")) throw new FaultSpecError(`lie-when needs a signal: ${LIE_SIGNALS.join(", ")}`);
      return { kind, signal: arg as LieSignal };
    case "skip-layer":
    case "lie-unsealed":
    case "skip":
    case "replay":
    case "garbage":
    case "zero":
      if (arg !== undefined) throw new FaultSpecError(`${kind} takes no argument`);
      return { kind };
    default:
      throw new FaultSpecError(`unknown fault "${spec}" (noise:<σ>, skip, replay, garbage, zero, slow:<ms>, drop:<p>, lie-when:<signal>, lie-rate:<p>, skip-layer, lie-unsealed)`);
  }
}

export class DroppedError extends Error {
  override readonly name = "DroppedError";
}

/** Whether a signal-reading cheater lies on this step (it is honest when the step looks
 * like a check by its signal). */
export function liesOn(signal: LieSignal, ctx: StepContext, seen: { callers: Set<string>; sessions: Map<string, boolean>; prompts: Map<string, string> }): boolean {
  switch (signal) {
    case "route":
      return ctx.hasNext || ctx.fromServer;
    case "caller": {
      // decided when the session starts: a caller seen in an earlier session is "real use"
      if (ctx.step === 0) {
        seen.sessions.set(ctx.session, seen.callers.has(ctx.caller));
        seen.callers.add(ctx.caller);
      }
      return seen.sessions.get(ctx.session) ?? false;
    }
    case "steps":
      return ctx.step > 0;
    case "prompt": {
      const owner = seen.prompts.get(ctx.firstInput);
      if (owner === undefined) seen.prompts.set(ctx.firstInput, ctx.session);
      return owner === undefined || owner === ctx.session; // first time this prompt is seen: real use
    }
    case "timing":
      return ctx.gapMs === undefined || ctx.gapMs < 200;
    case "size":
      return ctx.n === 1;
  }
}

/** The output transform a faulty server applies (input is what it received). `short` is a
 * runner for one layer less than the server's range (skip-layer). */
export function faultTransform(f: Fault, seed = 1, short?: ShardRunner): (out: Float32Array, input: Float32Array, ctx?: StepContext) => Promise<Float32Array> {
  const rand = normal(seed);
  const seen = { callers: new Set<string>(), sessions: new Map<string, boolean>(), prompts: new Map<string, string>() };
  const lyingSessions = new Map<string, boolean>();
  const liedUnsealed = new Set<string>();
  const shortCaches = new Map<string, KvCache>();
  const noisy = (out: Float32Array, sigma: number) => {
    let ss = 0;
    for (const v of out) ss += v * v;
    const rms = Math.sqrt(ss / out.length);
    return out.map((v) => v + sigma * rms * rand());
  };
  let last: { input: Float32Array; out: Float32Array } | undefined;
  const same = (a: Float32Array, b: Float32Array) => a.length === b.length && a.every((v, i) => v === b[i]);
  const uniform = lcg(seed);
  return async (out, input, ctx) => {
    if (ctx?.seal === true) {
      // a seal carries no positions: only a liar that will not sign has anything to do
      if (f.kind === "lie-unsealed" && liedUnsealed.delete(ctx.session)) throw new DroppedError("dropped rather than sign for a lie (fault injection)");
      return out;
    }
    switch (f.kind) {
      case "noise":
        return noisy(out, f.sigma);
      case "lie-when":
        return ctx !== undefined && liesOn(f.signal, ctx, seen) ? noisy(out, LIE_SIGMA) : out;
      case "lie-rate": {
        if (ctx === undefined) return out;
        let lies = lyingSessions.get(ctx.session);
        if (lies === undefined) {
          lies = uniform() < f.p;
          lyingSessions.set(ctx.session, lies);
          if (lyingSessions.size > 10_000) lyingSessions.delete(lyingSessions.keys().next().value!);
        }
        return lies ? noisy(out, LIE_SIGMA) : out;
      }
      case "lie-unsealed": {
        if (ctx === undefined || ctx.step === 0) return out;
        liedUnsealed.add(ctx.session);
        return noisy(out, LIE_SIGMA);
      }
      case "skip-layer": {
        if (short === undefined || ctx === undefined) throw new Error("skip-layer needs a runner for one layer less");
        const cache = shortCaches.get(ctx.session) ?? short.newCache();
        shortCaches.set(ctx.session, cache);
        if (shortCaches.size > 1000) shortCaches.delete(shortCaches.keys().next().value!);
        return short.step(cache, input, ctx.n);
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
