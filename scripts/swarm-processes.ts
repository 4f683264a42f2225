// The swarm benchmark's servers as child processes (scripts/swarm-server.ts), one per layer
// range, each on a loopback port of its own.
import { spawn, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import type { RouteHop } from "../node/swarm/types.ts";

const ENTRY = new URL("./swarm-server.ts", import.meta.url).pathname;

export interface ServerStats {
  readonly steps: number;
  readonly tokens: number;
  readonly computeMs: number;
  readonly receiptMs: number;
}

export interface ServerProcess {
  readonly hop: RouteHop;
  /** Zeroes the server's counters. */
  reset(): void;
  stats(): Promise<ServerStats>;
  stop(): Promise<void>;
}

function start(file: string, [a, b]: readonly [number, number], root?: string): Promise<ServerProcess> {
  const child: ChildProcess = spawn(process.execPath, [...(process.env.EFED_BENCH_CHILD_ARGS?.split(" ").filter(Boolean) ?? []), ENTRY, file, String(a), String(b)], { stdio: ["pipe", "pipe", "inherit"], env: { ...process.env, ...(root === undefined ? {} : { EFED_BENCH_ROOT: root }) } });
  const lines = createInterface({ input: child.stdout! });
  const waiting: ((line: string) => void)[] = [];
  lines.on("line", (l) => waiting.shift()?.(l));
  const next = () => new Promise<string>((resolve, reject) => {
    waiting.push(resolve);
    child.once("exit", (code) => reject(new Error(`server ${a}-${b} exited (code ${code})`)));
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  return next().then((first) => ({
    hop: JSON.parse(first) as RouteHop,
    reset: () => void child.stdin!.write("reset\n"),
    stats: async () => {
      const line = next();
      child.stdin!.write("stats\n");
      return JSON.parse(await line) as ServerStats;
    },
    stop: async () => {
      child.stdin!.end();
      await exited;
    },
  }));
}

/** Starts one server process per range and waits until every one serves; `root` is the
 * checkout whose server code they run (this one by default). */
export async function spawnServers(file: string, layout: readonly (readonly [number, number])[], root?: string): Promise<ServerProcess[]> {
  const started = await Promise.allSettled(layout.map((r) => start(file, r, root)));
  const ok = started.flatMap((s) => (s.status === "fulfilled" ? [s.value] : []));
  const failed = started.find((s) => s.status === "rejected");
  if (failed !== undefined) {
    await Promise.all(ok.map((s) => s.stop()));
    throw failed.reason;
  }
  return ok;
}
