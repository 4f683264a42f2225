// Delay on every link of the multi-host test's namespaces (test/helpers/netns.ts): `tc netem`
// where the kernel has sch_netem, else a user-space delay line (delay_line.py: each link a
// pair of TAP devices whose frames a Python process holds for the delay). Either way each
// direction of each link is delayed by the same amount, and the delay can change while the
// swarm runs (the test measures with and without it on one set of processes).
import { execFileSync, spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";

export type DelayKind = "netem" | "tap-delay-line" | "none";

const SCRIPT = join(import.meta.dirname, "delay_line.py");

function sh(args: string[]): string {
  return execFileSync(args[0], args.slice(1), { stdio: ["pipe", "pipe", "pipe"], encoding: "utf8" });
}

/** Which delay this machine can add: netem if a fresh namespace's loopback takes it, else the
 * TAP delay line if /dev/net/tun and python3 are there. */
export function delayKind(probeNs: string): DelayKind {
  try {
    sh(["ip", "netns", "add", probeNs]);
    try {
      sh(["ip", "netns", "exec", probeNs, "tc", "qdisc", "add", "dev", "lo", "root", "netem", "delay", "1ms"]);
      return "netem";
    } catch {
      // no sch_netem
    } finally {
      sh(["ip", "netns", "del", probeNs]);
    }
  } catch {
    return "none";
  }
  try {
    sh(["sh", "-c", "command -v python3"]);
  } catch {
    return "none";
  }
  return existsSync("/dev/net/tun") ? "tap-delay-line" : "none";
}

/** One link's two ends, each in its namespace. */
export interface LinkEnds {
  readonly a: { readonly ns: string; readonly dev: string };
  readonly b: { readonly ns: string; readonly dev: string };
}

export interface Delay {
  readonly kind: DelayKind;
  /** Sets the delay, each direction of every link (netem: on both ends' egress). */
  set(ms: number): Promise<void>;
  stop(): void;
}

/** netem on both ends of every veth, starting at `ms`. */
export function netemDelay(links: readonly LinkEnds[], ms: number): Delay {
  const apply = (verb: "add" | "change", d: number) => {
    for (const l of links) for (const e of [l.a, l.b]) sh(["ip", "netns", "exec", e.ns, "tc", "qdisc", verb, "dev", e.dev, "root", "netem", "delay", `${d}ms`]);
  };
  apply("add", ms);
  return { kind: "netem", set: async (d) => apply("change", d), stop: () => {} };
}

/** The TAP delay line, run in namespace `ns`, making `pairs` (names of both ends of each
 * link) there; resolves once every tap exists (the caller then moves each end to its place). */
export async function tapDelayLine(ns: string, pairs: readonly [string, string][], ms: number): Promise<Delay> {
  const child: ChildProcessWithoutNullStreams = spawn("ip", ["netns", "exec", ns, "python3", SCRIPT, String(ms), ...pairs.map((p) => p.join(","))], { stdio: ["pipe", "pipe", "pipe"] });
  let out = "";
  let err = "";
  const waiters: { line: string; resolve: () => void; reject: (e: Error) => void }[] = [];
  const fail = (why: string) => {
    for (const w of waiters.splice(0)) w.reject(new Error(`the delay line ${why}: ${err.trim()}`));
  };
  child.stdout.on("data", (d: Buffer) => {
    out += d.toString();
    for (const w of [...waiters]) {
      if (out.includes(`${w.line}\n`)) {
        out = out.replace(`${w.line}\n`, "");
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve();
      }
    }
  });
  child.stderr.on("data", (d: Buffer) => (err += d.toString()));
  child.on("exit", (code) => fail(`exited (${code})`));
  child.on("error", (e) => fail(`did not start (${e.message})`));
  const answer = (line: string) => new Promise<void>((resolve, reject) => waiters.push({ line, resolve, reject }));
  await answer("ready");
  return {
    kind: "tap-delay-line",
    set: async (d) => {
      const done = answer(`delay ${d}`);
      child.stdin.write(`${d}\n`);
      await done;
    },
    stop: () => {
      if (child.exitCode === null) child.kill("SIGTERM"); // its taps go with it
    },
  };
}
