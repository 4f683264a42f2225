// Scratch folders of a running process (a server's decoded weights, gguf-map.ts) and the
// temporary folders of packed copies (onnx/pack-cache.ts): each named with its process id,
// so a later process can tell what one that died left behind and remove it.
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
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

/** A new folder `<prefix>-<pid>-<random>` in `parent`, after removing the folders of that
 * prefix that processes no longer running left there. */
export function scratchFolder(parent: string, prefix: string): string {
  for (const e of readdirSync(parent)) {
    const m = new RegExp(`^${prefix}-(\\d+)-\\w{6}$`).exec(e);
    if (m !== null && Number(m[1]) !== process.pid && !processAlive(Number(m[1]))) {
      try {
        rmSync(join(parent, e), { recursive: true, force: true });
      } catch {
        // another user's, or busy: left
      }
    }
  }
  return mkdtempSync(join(parent, `${prefix}-${process.pid}-`));
}
