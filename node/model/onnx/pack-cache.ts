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
// and feature flags, and each weights file's identity (real path, inode, size, times); a
// copy whose key differs, or whose files are not the size written, is never opened, and a
// newer copy of the same part of the same model file replaces the older (copies for another
// --shards layout stay until the folder is cleared). A folder another user owns or may write
// to is not used. Servers and verifiers never use it: what they compute stays what the file
// says.
import { createHash, randomBytes } from "node:crypto";
import { closeSync, fsyncSync, lstatSync, mkdirSync, openSync, readdirSync, readFileSync, realpathSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { arch, cpus, homedir } from "node:os";
import { basename, join } from "node:path";
import * as ort from "onnxruntime-node";
import { ownerGone, PROCESS_TAG, TAG_PATTERN } from "../scratch.ts";
import { DECODERS_VERSION } from "../dtypes.ts";

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

/** The CPU a packed layout is for: its model name, and its feature flags where Linux says
 * (x86 "flags", Arm "Features"). */
function cpuFingerprint(): string {
  let flags = "";
  try {
    flags = /^(?:flags|Features)\s*:(.*)$/m.exec(readFileSync("/proc/cpuinfo", "utf8"))?.[1] ?? "";
  } catch {
    // not Linux: the model name and architecture stand for it
  }
  return `${arch()}\0${cpus()[0]?.model ?? ""}\0${flags.trim()}`;
}

/** What a packed copy is a copy of (see the top of this file). A weights file is known by
 * its real path, device and inode, size, and modification and change times (the change time
 * no tool sets back, as `cp -p` or `rsync -a` do the modification time). */
export function packKey(graph: Uint8Array, sources: readonly string[]): string {
  const h = createHash("sha256");
  h.update(graph);
  // the graph may name weights decoded into a scratch file (gguf-map.ts) instead of holding them
  h.update(`\0${ort.env.versions.node}\0${cpuFingerprint()}\0decoders ${DECODERS_VERSION}`);
  for (const f of sources) {
    const s = statSync(f);
    h.update(`\0${realpathSync(f)}\0${s.dev}\0${s.ino}\0${s.size}\0${s.mtimeMs}\0${s.ctimeMs}`);
  }
  return h.digest("hex");
}

/** The name of this part's copies: `<file name>-<hash of its real path>-<part>` (two model
 * files of one name, as in model snapshots, keep copies of their own). */
function label(cache: PackCache): string {
  const source = cache.sources[0];
  const where = source === undefined ? "none" : createHash("sha256").update(realpathSync(source)).digest("hex").slice(0, 8);
  return `${basename(source ?? "graph")}-${where}-${cache.part}`.replace(/[^\w.-]/g, "_");
}

/** A folder entry of this part: its copy `<label>-<key prefix>`, or a temporary folder
 * `<copy>.<random>.tmp-<tag>` of a load writing one (its owner's tag, scratch.ts, if so). */
function entryOf(name: string, entry: string): { copy: boolean; owner?: string } | undefined {
  const m = new RegExp(`^${name.replace(/[.]/g, "\\.")}-[0-9a-f]{24}(?:\\.[0-9a-f]{8}\\.tmp-${TAG_PATTERN})?$`).exec(entry);
  return m === null ? undefined : { copy: m[1] === undefined, owner: m[1] };
}

/** Why `dir` must not be trusted with packed copies, if it must not: a folder another user
 * owns or may write to could be given copies of other weights under a valid key (the key's
 * inputs are no secret), as ssh refuses such a folder for keys. */
function untrusted(dir: string): string | undefined {
  const s = lstatSync(dir);
  if (s.isSymbolicLink() || !s.isDirectory()) return "it is not a folder";
  if (process.platform === "win32") return undefined;
  if (typeof process.getuid === "function" && s.uid !== process.getuid()) return "another user owns it";
  if ((s.mode & 0o022) !== 0) return "other users may write to it (chmod go-w)";
  return undefined;
}

/** The copy in `entry` if it is whole and has this key: key.json names the key and each
 * file's size, as written. */
function complete(entry: string, key: string): boolean {
  try {
    const k = JSON.parse(readFileSync(join(entry, KEY), "utf8")) as { key?: string; bytes?: Record<string, number> };
    return k.key === key && [MODEL, DATA].every((f) => k.bytes?.[f] === statSync(join(entry, f)).size);
  } catch {
    return false;
  }
}

/** Removes what may be removed; what cannot (open elsewhere, another owner) stays. */
function remove(path: string): void {
  try {
    rmSync(path, { recursive: true, force: true });
  } catch {
    // left for a later load
  }
}

/**
 * A session of `graph` (`options` as runtime.ts makes them) from its packed copy in
 * `cache.dir` if a whole one with this key is there; else created as usual while
 * onnxruntime writes the packed copy, which is then renamed into place whole (a load that
 * stops halfway leaves only a temporary folder, removed by a later one; when two loads pack
 * at once, the first copy in place stays). `say` gets one line before a copy is written
 * (seconds per GB) and one if the folder is not used; the load goes on either way.
 */
export async function createPackedSession(graph: Uint8Array, options: ort.InferenceSession.SessionOptions, cache: PackCache, say: (line: string) => void = () => {}): Promise<ort.InferenceSession> {
  if (Buffer.from(graph.buffer, graph.byteOffset, graph.byteLength).includes(UNPACKABLE)) {
    say(`the ${cache.part} graph runs int8 MatMulNBits: not kept packed (onnxruntime 1.30 maps such a copy back to other values)`);
    return ort.InferenceSession.create(graph, options);
  }
  let key: string;
  let name: string;
  try {
    mkdirSync(cache.dir, { recursive: true, mode: 0o700 });
    const why = untrusted(cache.dir);
    if (why !== undefined) throw new Error(`not used: ${why}`);
    key = packKey(graph, cache.sources);
    name = label(cache);
  } catch (err) {
    say(`packed weights: ${cache.dir}: ${(err as Error).message}`);
    return ort.InferenceSession.create(graph, options);
  }
  const entry = join(cache.dir, `${name}-${key.slice(0, 24)}`);
  if (complete(entry, key)) {
    try {
      const { model_external_initializers_file_folder_path: _, ...session } = (options.extra?.session ?? {}) as Record<string, unknown>;
      // its graph is optimized already, and its weights are in its own folder
      return await ort.InferenceSession.create(join(entry, MODEL), { ...options, graphOptimizationLevel: "disabled", extra: { ...options.extra, session } });
    } catch {
      // refused by onnxruntime although whole: removed, and packed again below (left in
      // place, a later load's copy would be thrown away as "already there", every time)
      remove(entry);
    }
  }
  say(`packing the weights into ${entry} for faster loads (once per model file)`);
  for (const old of readdirSync(cache.dir)) {
    // an older copy of this part, or what a load that stopped left
    const e = entryOf(name, old);
    if (e !== undefined && old !== basename(entry) && (e.owner === undefined || ownerGone(e.owner))) remove(join(cache.dir, old));
  }
  const tmp = `${entry}.${randomBytes(4).toString("hex")}.tmp-${PROCESS_TAG}`;
  let session: ort.InferenceSession;
  try {
    mkdirSync(tmp, { mode: 0o700 });
    session = await ort.InferenceSession.create(graph, {
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
  } catch (err) {
    remove(tmp);
    say(`could not pack the weights into ${cache.dir}: ${((err as Error).message ?? String(err)).split("\n")[0]}`);
    return ort.InferenceSession.create(graph, options);
  }
  try {
    const bytes = Object.fromEntries([MODEL, DATA].map((f) => [f, statSync(join(tmp, f)).size]));
    writeFileSync(join(tmp, KEY), JSON.stringify({ key, bytes, sources: cache.sources.map((f) => realpathSync(f)), onnxruntime: ort.env.versions.node }) + "\n");
    if (complete(entry, key)) remove(tmp); // another load put the same copy in place first
    else {
      // on disk before it is named: after a power loss a renamed copy whose files were not
      // written yet would have the sizes key.json gives, zeros for weights, and be mapped
      for (const f of [MODEL, DATA, KEY]) syncFile(join(tmp, f));
      syncFolder(tmp);
      remove(entry);
      renameSync(tmp, entry);
      syncFolder(cache.dir);
    }
  } catch (err) {
    say(`could not keep the packed weights in ${cache.dir}: ${(err as Error).message}`);
    remove(tmp);
  }
  return session;
}

/** fsync of a file (opened for writing: Windows refuses to sync a read-only handle). */
function syncFile(path: string): void {
  const fd = openSync(path, "r+");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** fsync of a folder's entries where the platform allows it (not Windows, not every file
 * system): best effort, a copy is kept either way. */
function syncFolder(path: string): void {
  try {
    const fd = openSync(path, "r");
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    // EISDIR, EINVAL, EPERM: nothing more to do here
  }
}

/** Bytes a packed copy takes on disk (the benchmark says it). */
export function packedBytes(entry: string): number {
  return readdirSync(entry).reduce((n, f) => n + statSync(join(entry, f)).size, 0);
}
