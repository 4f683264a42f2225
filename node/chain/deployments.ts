// deployments/<chainId>.json: where the token and ledger of a chain live. Written by
// `efed deploy`, read by every other command.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { z } from "zod";

const address = z.string().regex(/^0x[0-9a-fA-F]{40}$/);

export const DeploymentSchema = z.object({
  chainId: z.string().regex(/^\d+$/),
  rpc: z.string(),
  token: address,
  ledger: address,
  /** The TimelockController that governs the ledger and receives slashed stake. */
  governor: address.optional(),
  deployer: address,
  block: z.number().int().nonnegative(),
  deployedAt: z.string(),
  params: z.record(z.string(), z.unknown()),
});

export type Deployment = z.infer<typeof DeploymentSchema>;

export const DEFAULT_DEPLOYMENTS_DIR = "deployments";

export class DeploymentNotFoundError extends Error {
  override readonly name = "DeploymentNotFoundError";
}

export function deploymentFile(dir: string, chainId: bigint | string): string {
  return resolve(join(dir, `${chainId}.json`));
}

export function writeDeployment(dir: string, d: Deployment): string {
  mkdirSync(dir, { recursive: true });
  const file = deploymentFile(dir, d.chainId);
  writeFileSync(file, JSON.stringify(d, null, 2) + "\n");
  return file;
}

export function readDeployment(dir: string, chainId: bigint | string): Deployment {
  const file = deploymentFile(dir, chainId);
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch {
    throw new DeploymentNotFoundError(`no deployment for chain ${chainId} (${file}): run \`efed deploy\` first`);
  }
  const parsed = DeploymentSchema.safeParse(JSON.parse(text));
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new DeploymentNotFoundError(`${file} is damaged: ${issue.path.join(".")}: ${issue.message}`);
  }
  return parsed.data;
}
