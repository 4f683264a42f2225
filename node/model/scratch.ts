// Scratch folders of a running process (a server's decoded weights, gguf-map.ts) and the
// temporary folders of packed copies (onnx/pack-cache.ts): each named with its owner's tag,
// so a later process can tell what one that died left behind and remove it. The tag is the
// process id and where that id means something: the host's boot and the pid namespace. A
// folder such as /tmp may be shared by containers (other pid namespaces), and one such as
// ~/.cache by hosts (a home on NFS): there a process id names another process, or none, and
// a folder of a live server or load must never look abandoned. Folders of another host or
// namespace are left alone; so are folders another user owns (removing them fails).
import { createHash } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";

/** Whether process `pid` is running (what it is writing is left alone). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

const read = (f: () => string) => {
  try {
    return f().trim();
  } catch {
    return "";
  }
};

/** Where this process's id means this process: its host's boot (the hostname where there is
 * no boot id to read) and its pid namespace, as 8 hex characters. */
const WHERE = createHash("sha256")
  .update(`${read(() => readFileSync("/proc/sys/kernel/random/boot_id", "utf8")) || hostname()}/${read(() => readlinkSync("/proc/self/ns/pid"))}`)
  .digest("hex")
  .slice(0, 8);

/** This process's tag in folder names: `<where>.<pid>`. */
export const PROCESS_TAG = `${WHERE}.${process.pid}`;

/** The pattern of a tag in a folder name (one capture group): this version's `<where>.<pid>`,
 * or an earlier version's bare `<pid>`. */
export const TAG_PATTERN = "((?:[0-9a-f]{8}\\.)?\\d+)";

/** Whether the owner a tag names is gone: a process of this host's boot and pid namespace,
 * other than this one, that is not running. An earlier version's bare pid is judged as that
 * version judged it, by the pid alone. */
export function ownerGone(tag: string): boolean {
  const dot = tag.indexOf(".");
  if (dot >= 0 && tag.slice(0, dot) !== WHERE) return false;
  const pid = Number(tag.slice(dot + 1));
  return pid !== process.pid && !processAlive(pid);
}

/** A new folder `<prefix>-<tag>-<random>` in `parent`, after removing the folders of that
 * prefix whose owners are gone. `prefix`: letters, digits and dashes. */
export function scratchFolder(parent: string, prefix: string): string {
  const pattern = new RegExp(`^${prefix.replace(/[^\w-]/g, "")}-${TAG_PATTERN}-\\w{6}$`);
  for (const e of readdirSync(parent)) {
    const m = pattern.exec(e);
    if (m !== null && ownerGone(m[1])) {
      try {
        rmSync(join(parent, e), { recursive: true, force: true });
      } catch {
        // another user's, or busy: left
      }
    }
  }
  return mkdtempSync(join(parent, `${prefix}-${PROCESS_TAG}-`));
}
