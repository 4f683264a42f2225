// Scratch folders of a running process (a server's decoded weights, gguf-map.ts) and the
// temporary folders of packed copies (onnx/pack-cache.ts): each named with its owner's tag,
// so a later process can tell what one that died left behind and remove it. The tag is the
// process id and its pid namespace: a folder such as /tmp may be shared by containers whose
// process ids mean other processes (or none) here, and a folder of a live server in another
// container must never look abandoned. Folders of another namespace are left alone.
import { mkdtempSync, readdirSync, readlinkSync, rmSync } from "node:fs";
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

/** The inode of this process's pid namespace ("pid:[4026531836]"), or 0 where there is none
 * to read (not Linux: process ids are the host's). */
function pidNamespace(): number {
  try {
    const m = /\[(\d+)\]/.exec(readlinkSync("/proc/self/ns/pid"));
    return m === null ? 0 : Number(m[1]);
  } catch {
    return 0;
  }
}

/** This process's tag in folder names: `<pid namespace>.<pid>`. */
export const PROCESS_TAG = `${pidNamespace()}.${process.pid}`;

/** The pattern of a tag in a folder name (its own capture group). */
export const TAG_PATTERN = "(\\d+\\.\\d+)";

/** Whether the owner a tag names is gone: a process of this pid namespace, other than this
 * one, that is not running. A tag of another namespace is never judged gone. */
export function ownerGone(tag: string): boolean {
  const [ns, pid] = tag.split(".").map(Number);
  const [myNs] = PROCESS_TAG.split(".").map(Number);
  return ns === myNs && pid !== process.pid && !processAlive(pid);
}

/** A new folder `<prefix>-<tag>-<random>` in `parent`, after removing the folders of that
 * prefix whose owners are gone. */
export function scratchFolder(parent: string, prefix: string): string {
  const pattern = new RegExp(`^${prefix}-${TAG_PATTERN}-\\w{6}$`);
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
