// The model hash the ledger records: sha256 of the model file (of a checkpoint directory's
// config.json and safetensors files, in name order).
import { createHash } from "node:crypto";
import { createReadStream, readdirSync, statSync } from "node:fs";
import { join } from "node:path";

async function hashFiles(files: string[]): Promise<string> {
  const h = createHash("sha256");
  for (const f of files) {
    for await (const chunk of createReadStream(f)) h.update(chunk as Buffer);
  }
  return "0x" + h.digest("hex");
}

export async function modelHash(path: string): Promise<string> {
  if (!statSync(path).isDirectory()) return hashFiles([path]);
  const files = readdirSync(path).filter((f) => f === "config.json" || f.endsWith(".safetensors")).sort();
  return hashFiles(files.map((f) => join(path, f)));
}
