// Deployment parameters: a JSON file in human units (whole tokens, seconds, θ as a
// decimal), checked with zod and turned into the ledger's on-chain Params struct.
import { readFileSync } from "node:fs";
import { parseUnits, ZeroHash } from "ethers";
import { z } from "zod";

const tokens = z
  .union([z.string(), z.number()])
  .transform((v) => String(v))
  .refine((v) => /^\d+(\.\d{1,18})?$/.test(v), "must be a non-negative decimal number of tokens");
const uint = (max: number) => z.number().int().min(0).max(max);

export const DeployParamsSchema = z
  .object({
    tokenSupply: tokens.default("1000000000"),
    rewardFund: tokens.default("1000000"),
    modelHash: z.string().regex(/^0x[0-9a-fA-F]{64}$/, "must be 32 bytes of hex").default(ZeroHash),
    numLayers: uint(65535).min(1).default(5),
    epochSeconds: uint(2 ** 32 - 1).min(1).default(10),
    minServerStake: tokens.default("100"),
    minVerifierStake: tokens.default("50"),
    rewardPerEpoch: tokens.default("100"),
    verifierFee: tokens.default("0.1"),
    theta: z
      .union([z.string(), z.number()])
      .transform((v) => String(v))
      .refine((v) => /^(0(\.\d{1,18})?|1(\.0{1,18})?)$/.test(v), "must be a decimal in [0, 1]")
      .default("0.9"),
    minMemoryMiB: uint(2 ** 32 - 1).default(64),
    minThroughput: uint(2 ** 32 - 1).default(1),
    unbondingSeconds: uint(2 ** 32 - 1).default(20),
    quorum: uint(65535).min(1).default(3),
    slashShareBps: uint(10_000).default(5000),
    deviationBps: uint(10_000).default(500),
    strikeLimit: uint(65535).min(1).default(3),
    sizeNeutralWeights: z.boolean().default(true),
  })
  .strict()
  .refine((p) => p.unbondingSeconds >= p.epochSeconds, {
    message: "unbondingSeconds must be at least epochSeconds (a slash must be able to land before stake leaves)",
    path: ["unbondingSeconds"],
  });

export type DeployParams = z.output<typeof DeployParamsSchema>;

/** The Solidity `ITrustLedger.Params` struct, field for field. */
export interface LedgerParams {
  minServerStake: bigint;
  minVerifierStake: bigint;
  rewardPerEpoch: bigint;
  verifierFee: bigint;
  theta: bigint;
  minMemoryMiB: number;
  minThroughput: number;
  unbondingDelay: number;
  quorum: number;
  slashShareBps: number;
  deviationBps: number;
  strikeLimit: number;
  sizeNeutralWeights: boolean;
}

export class DeployParamsError extends Error {
  override readonly name = "DeployParamsError";
}

/** Parses parameters from an object (`{}` gives the local defaults). */
export function parseDeployParams(input: unknown, source = "parameters"): DeployParams {
  const result = DeployParamsSchema.safeParse(input);
  if (!result.success) {
    const issue = result.error.issues[0];
    const where = issue.path.length > 0 ? issue.path.join(".") : "(top level)";
    throw new DeployParamsError(`${source}: ${where}: ${issue.message}`);
  }
  return result.data;
}

export function readDeployParams(file: string): DeployParams {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    throw new DeployParamsError(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new DeployParamsError(`${file} is not valid JSON: ${(err as Error).message.replace(/\s+/g, " ")}`);
  }
  return parseDeployParams(json, file);
}

export function toLedgerParams(p: DeployParams): LedgerParams {
  return {
    minServerStake: parseUnits(p.minServerStake, 18),
    minVerifierStake: parseUnits(p.minVerifierStake, 18),
    rewardPerEpoch: parseUnits(p.rewardPerEpoch, 18),
    verifierFee: parseUnits(p.verifierFee, 18),
    theta: parseUnits(p.theta, 18),
    minMemoryMiB: p.minMemoryMiB,
    minThroughput: p.minThroughput,
    unbondingDelay: p.unbondingSeconds,
    quorum: p.quorum,
    slashShareBps: p.slashShareBps,
    deviationBps: p.deviationBps,
    strikeLimit: p.strikeLimit,
    sizeNeutralWeights: p.sizeNeutralWeights,
  };
}
