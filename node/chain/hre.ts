// A Hardhat runtime for the CLI, rooted at this package (not the caller's directory),
// with the contracts compiled on first use.
import { dirname, join } from "node:path";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";

export const PROJECT_ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

let cached: Promise<HardhatRuntimeEnvironment> | undefined;

export function loadHre(): Promise<HardhatRuntimeEnvironment> {
  cached ??= (async () => {
    const { createHardhatRuntimeEnvironment } = await import("hardhat/hre");
    const { default: config } = await import(join(PROJECT_ROOT, "hardhat.config.ts"));
    return createHardhatRuntimeEnvironment(config, {}, PROJECT_ROOT);
  })();
  return cached;
}

export function artifactPath(contract: string): string {
  return join(PROJECT_ROOT, "artifacts", "contracts", `${contract}.sol`, `${contract}.json`);
}

/** Compiles the contracts if their artifacts are missing. */
export async function ensureBuilt(log: (line: string) => void = () => {}): Promise<void> {
  if (existsSync(artifactPath("TrustLedger")) && existsSync(artifactPath("EfedToken"))) return;
  log("compiling contracts (first run, about 15 s)…");
  const hre = await loadHre();
  await hre.tasks.getTask("build").run({ quiet: true, noTests: true });
}
