// Options and error handling shared by every `efed` command.
import { InvalidArgumentError, Option } from "commander";
import { multiaddr } from "@multiformats/multiaddr";
import { existsSync, openSync, writeSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { REMOTE_CONFIRMATIONS } from "../chain/confirmed.ts";
import { DEFAULT_THREADS } from "../model/onnx/runtime.ts";
import { defaultPackDir } from "../model/onnx/pack-cache.ts";
import { isGguf } from "../model/load.ts";
import { StatusLine } from "./progress.ts";

export const DEFAULT_RPC = process.env.EFED_RPC ?? "http://127.0.0.1:8545";

/** Deployments live beside the wallets (~/.efed/deployments), not in the current directory,
 * so every command finds them wherever it is run from. */
export function defaultDeploymentsDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.EFED_DEPLOYMENTS ?? join(env.EFED_HOME ?? join(homedir(), ".efed"), "deployments");
}
export const DEFAULT_DEPLOYMENTS = defaultDeploymentsDir();

/** `--confirmations <n>` (server, generate, api): see chain/confirmed.ts for the default. */
export const CONFIRMATIONS_HELP = `act on the ledger only once this many blocks are on top of a change (default: 0 on the local chain, ${REMOTE_CONFIRMATIONS} elsewhere)`;

/** The file --log copies notices to (one per process: a long-running role's own log). */
let logFd: number | undefined;

/** Progress and notices go to stderr, so stdout stays clean for data (and generated text);
 * with --log, also to a file, each line with its time. */
export function log(line: string): void {
  progressLine.around(() => process.stderr.write(line + "\n"));
  if (logFd !== undefined) writeSync(logFd, `${new Date().toISOString()} ${line.replace(/^\n+/, "")}\n`);
}

/** The one progress line of this process, on stderr (its full lines go through log()): one
 * per process because a terminal has one cursor. */
export const progressLine = new StatusLine(process.stderr, { line: log });

/** `--log <file>`: appends every notice to `file` from now on. */
export function logToFile(file: string): void {
  try {
    logFd = openSync(file, "a");
  } catch (err) {
    throw new InvalidArgumentError(`--log: cannot write ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
}

export function parsePort(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError("must be a port number 0-65535");
  return n;
}

export function parseUrl(value: string): string {
  try {
    const u = new URL(value);
    if (u.protocol !== "http:" && u.protocol !== "https:") throw new Error();
    return value;
  } catch {
    throw new InvalidArgumentError(`must be an http(s) URL, e.g. http://127.0.0.1:8545`);
  }
}

/** A multiaddr flag, checked when parsed (repeatable flags collect into a list). */
export function parseMultiaddr(value: string, acc?: string[]): string[] {
  try {
    multiaddr(value);
  } catch {
    throw new InvalidArgumentError(`not a multiaddr, e.g. /ip4/127.0.0.1/tcp/4001 (or …/p2p/16Uiu2… for a peer)`);
  }
  return [...(acc ?? []), value];
}

export function parsePeerMultiaddr(value: string): string {
  parseMultiaddr(value);
  if (!value.includes("/p2p/")) throw new InvalidArgumentError("must name the peer: …/p2p/<peer id>");
  return value;
}

/** `--threads <n>` for every command that computes; cli.ts hands the value to onnxruntime
 * (runtime.ts setThreads) before the command runs. */
export function threadsOption(byDefault = DEFAULT_THREADS): Option {
  return new Option("--threads <n>", "CPU threads per onnxruntime session (intra-op)")
    .argParser((v: string) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 1 || n > 1024) throw new InvalidArgumentError("must be an integer from 1 to 1024");
      return n;
    })
    .default(byDefault);
}

/** `--pack-cache [dir]` (generate --local, api --local): see model/onnx/pack-cache.ts. */
export function packCacheOption(): Option {
  return new Option("--pack-cache [dir]", `--local, an F32 or F16 GGUF model: keep onnxruntime's packed f32 weights in dir (default ${defaultPackDir()}) and map them on later loads instead of packing again; about twice the layers' f32 bytes on disk, written on the first load (slower); a quantized model's int8 graphs are not kept`).argParser((v: string) => {
    if (v.trim() === "") throw new InvalidArgumentError("give a folder, or no value for the default");
    return v;
  });
}

/** The folder `--pack-cache` names (its default for no value), once it is known to apply:
 * the CPU's packing, a GGUF file's weights as they are. */
export function packCacheDir(o: { packCache?: string | true; device: string; svd?: unknown; model?: string }): string | undefined {
  if (o.packCache === undefined) return undefined;
  if (o.model !== undefined && existsSync(o.model) && !isGguf(o.model)) throw new InvalidArgumentError(`--pack-cache keeps the packed weights of a GGUF model file; ${o.model} is not one`);
  if (o.device !== "cpu") throw new InvalidArgumentError("--pack-cache keeps onnxruntime's CPU packing: it applies to --device cpu only");
  if (o.svd !== undefined) throw new InvalidArgumentError("--pack-cache keeps a GGUF file's packed weights; it does not apply to SVD-compressed ones (--svd-*)");
  return o.packCache === true ? defaultPackDir() : o.packCache;
}

/** Errors we raise on purpose carry a user-facing message: print it on one line. */
const EXPECTED = new Set([
  "ChainUnreachableError",
  "DeployParamsError",
  "DeploymentNotFoundError",
  "LocalChainError",
  "ModelFileError",
  "ModelFormatError",
  "DeviceUnavailableError",
  "RangeError",
  "WalletError",
  "PasswordError",
  "FundingRefusedError",
  "LedgerRevertError",
  "NoRouteError",
  "HopFailedError",
  "WeightsFetchError",
  "NetworkConfigError",
  "StakeTokenError",
  "DeployerKeyError",
  "WeightsSourceError",
]);

export function reportError(err: unknown): number {
  const e = err as Error & { code?: string };
  if (e?.code === "commander.invalidArgument") {
    log(`efed: ${e.message}`);
    return 2;
  }
  if (e?.name !== undefined && EXPECTED.has(e.name)) {
    log(`efed: ${e.message}`);
  } else if (e?.code === "EADDRINUSE") {
    log(`efed: ${e.message}: is another chain or node already running? pick another --port`);
  } else {
    log(`efed: ${e?.message ?? String(err)}`);
    if (process.env.EFED_DEBUG) log(e?.stack ?? "");
  }
  return 1;
}
