// Starting `efed` processes for end-to-end tests, and always stopping them.
import { spawn, type ChildProcess } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const CLI = join(ROOT, "node", "cli.ts");

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The command line that runs `efed args…`, inside `wrap` when given (e.g. `ip netns exec ns`). */
function command(args: string[], wrap: string[]): [string, string[]] {
  const line = [...wrap, process.execPath, CLI, ...args];
  return [line[0], line.slice(1)];
}

/** Runs `efed args…` to completion. */
export function efed(args: string[], env: Record<string, string> = {}, timeoutMs = 60_000, wrap: string[] = []): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(...command(args, wrap), { env: { ...process.env, ...env }, cwd: ROOT });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`efed ${args.join(" ")} timed out\n${stderr}`));
    }, timeoutMs);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

export interface Background {
  readonly child: ChildProcess;
  readonly match?: RegExpMatchArray;
  readonly output: () => string;
  stop(): Promise<void>;
}

/** Starts `efed args…` and waits until its stderr matches `ready`; returns the match. */
export async function efedBackground(args: string[], ready: RegExp, timeoutMs = 60_000, env: Record<string, string> = {}, wrap: string[] = []): Promise<Background & { match: RegExpMatchArray }> {
  const child = spawn(...command(args, wrap), { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...env } });
  let out = "";
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const closed = new Promise((r) => child.once("close", r));
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
    await closed;
    clearTimeout(timer);
  };
  try {
    const match = await new Promise<RegExpMatchArray>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`efed ${args.join(" ")} not ready:\n${out}`)), timeoutMs);
      const onData = (d: Buffer) => {
        out += d;
        const m = out.match(ready);
        if (m) {
          clearTimeout(timer);
          resolve(m);
        }
      };
      child.stdout.on("data", onData);
      child.stderr.on("data", onData);
      child.once("close", (code) => reject(new Error(`efed ${args.join(" ")} exited with ${code}:\n${out}`)));
    });
    return { child, match, output: () => out, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
