// `efed generate --local --pack-cache`: onnxruntime's packed weights kept on disk, so a later
// load maps them instead of packing the model again. Creating a CPU session re-lays every
// weight matrix out for its GEMM kernels ("prepacking"): for the 300M model that is ~0.9 s of
// a ~1.1 s load, while the session itself maps the file in 50 ms (bench/model.json
// "packCache"). onnxruntime can write the optimized graph with its packed weights to an
// external data file (session.save_external_prepacked_constant_initializers) and map them
// back; a session opened from that copy computes bit for bit what the first one did
// (test/node/model/pack-cache.test.ts).
//
// Opt-in, local generation only: a packed copy takes about twice the layers' f32 bytes on
// disk (the graph's own weights and the packed ones), and its layout is this CPU's and this
// onnxruntime's. So its key is the graph's bytes, the onnxruntime version, the CPU's model
// and feature flags, and each weights file's path, size and modification time; a copy whose
// key differs is never opened, and a newer copy of the same model file replaces the older.
// Servers and verifiers never use it: what they compute stays what the file says.
import { createHash, randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { arch, cpus, homedir } from "node:os";
import { basename, join, resolve } from "node:path";
import * as ort from "onnxruntime-node";

/** Where packed copies are kept, the files the graph's external weights are read from, and
 * which of the model's graphs this is ("layers-0-8", "head"): one copy is kept per part. */
export interface PackCache {
  readonly dir: string;
  readonly sources: readonly string[];
  readonly part: string;
}

/** `--pack-cache` without a folder: $XDG_CACHE_HOME/efed/packed, else ~/.cache/efed/packed. */
export function defaultPackDir(): string {
  return join(process.env.XDG_CACHE_HOME || join(homedir(), ".cache"), "efed", "packed");
}

/** An operator whose packed copy does not load back as it was: the 300M Q8_0 model's
 * greedy tokens differed from the first load's from the first token on (onnxruntime 1.30),
 * while f32 graphs load back bit for bit. The op type is a plain string in the graph's bytes. */
const UNPACKABLE = "MatMulNBits";

const MODEL = "model.onnx";
const DATA = "model.data";
const KEY = "key.json";

/** The CPU a packed layout is for: its model name, and its feature flags where Linux says. */
function cpuFingerprint(): string {
  let flags = "";
  try {
    flags = /^flags\s*:(.*)$/m.exec(readFileSync("/proc/cpuinfo", "utf8"))?.[1] ?? "";
  } catch {
    // not Linux: the model name and architecture stand for it
  }
  return `${arch()}\0${cpus()[0]?.model ?? ""}\0${flags.trim()}`;
}

/** What a packed copy is a copy of (see the top of this file). */
export function packKey(graph: Uint8Array, sources: readonly string[]): string {
  const h = createHash("sha256");
  h.update(graph);
  h.update(`\0${ort.env.versions.node}\0${cpuFingerprint()}`);
  for (const f of sources) {
    const s = statSync(f);
    h.update(`\0${resolve(f)}\0${s.size}\0${s.mtimeMs}`);
  }
  return h.digest("hex");
}

/** The entries of `dir` for this part of this model file: `<file name>-<part>-<key prefix>`. */
const label = (cache: PackCache) => `${basename(cache.sources[0] ?? "graph")}-${cache.part}`.replace(/[^\w.-]/g, "_");

/** Whether process `pid` is running (a temporary folder it is writing is left alone). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * A session of `graph` (`options` as runtime.ts makes them) from its packed copy in
 * `cache.dir` if one with this key is there; else created as usual while onnxruntime writes
 * the packed copy, which is then renamed into place whole (a load that stops halfway leaves
 * only a temporary folder, removed by a later one). `say` gets one line before a copy is
 * written (seconds per GB) and one if it could not be kept; the load goes on either way.
 */
export async function createPackedSession(graph: Uint8Array, options: ort.InferenceSession.SessionOptions, cache: PackCache, say: (line: string) => void = () => {}): Promise<ort.InferenceSession> {
  if (Buffer.from(graph.buffer, graph.byteOffset, graph.byteLength).includes(UNPACKABLE)) {
    say(`the ${cache.part} graph runs int8 MatMulNBits: not kept packed (onnxruntime 1.30 maps such a copy back to other values)`);
    return ort.InferenceSession.create(graph, options);
  }
  const key = packKey(graph, cache.sources);
  const name = label(cache);
  const entry = join(cache.dir, `${name}-${key.slice(0, 24)}`);
  if (existsSync(join(entry, KEY))) {
    try {
      if ((JSON.parse(readFileSync(join(entry, KEY), "utf8")) as { key?: string }).key === key) {
        const { model_external_initializers_file_folder_path: _, ...session } = (options.extra?.session ?? {}) as Record<string, unknown>;
        // its graph is optimized already, and its weights are in its own folder
        return await ort.InferenceSession.create(join(entry, MODEL), { ...options, graphOptimizationLevel: "disabled", extra: { ...options.extra, session } });
      }
    } catch {
      // unreadable, or refused by onnxruntime: packed again below
    }
  }
  say(`packing the weights into ${entry} for faster loads (once per model file)`);
  let tmp: string | undefined;
  try {
    mkdirSync(cache.dir, { recursive: true, mode: 0o700 });
    for (const old of readdirSync(cache.dir)) {
      // an older copy of this model file, or what a load that stopped left
      const pid = /\.tmp-(\d+)$/.exec(old)?.[1];
      if (old.startsWith(`${name}-`) && old !== basename(entry) && !(pid !== undefined && alive(Number(pid)))) rmSync(join(cache.dir, old), { recursive: true, force: true });
    }
    tmp = `${entry}.${randomBytes(4).toString("hex")}.tmp-${process.pid}`;
    mkdirSync(tmp, { mode: 0o700 });
    const session = await ort.InferenceSession.create(graph, {
      ...options,
      optimizedModelFilePath: join(tmp, MODEL),
      extra: {
        ...options.extra,
        session: {
          ...(options.extra?.session as object),
          optimized_model_external_initializers_file_name: DATA,
          optimized_model_external_initializers_min_size_in_bytes: "1024",
          save_external_prepacked_constant_initializers: "1",
        },
      },
    });
    try {
      writeFileSync(join(tmp, KEY), JSON.stringify({ key, sources: cache.sources.map((f) => resolve(f)), onnxruntime: ort.env.versions.node }) + "\n");
      rmSync(entry, { recursive: true, force: true });
      renameSync(tmp, entry);
    } catch (err) {
      say(`could not keep the packed weights in ${cache.dir}: ${(err as Error).message}`);
      rmSync(tmp, { recursive: true, force: true });
    }
    return session;
  } catch (err) {
    if (tmp !== undefined) rmSync(tmp, { recursive: true, force: true });
    say(`could not pack the weights into ${cache.dir}: ${((err as Error).message ?? String(err)).split("\n")[0]}`);
    return ort.InferenceSession.create(graph, options);
  }
}

/** Bytes a packed copy takes on disk (the README and the benchmark say it). */
export function packedBytes(entry: string): number {
  return readdirSync(entry).reduce((n, f) => n + statSync(join(entry, f)).size, 0);
}
