// Deployment parameters: a JSON file in human units (whole tokens, seconds, θ as a
// decimal), checked with zod against the ledger's floors and caps (every problem reported at
// once) and turned into the ledger's on-chain Params struct.
import { readFileSync } from "node:fs";
import { parseUnits, ZeroHash } from "ethers";
import { z } from "zod";

const tokens = z
  .union([z.string(), z.number()])
  .transform((v) => String(v))
  .refine((v) => /^\d+(\.\d{1,18})?$/.test(v), "must be a non-negative decimal number of tokens");
const uint = (max: number) => z.number().int().min(0).max(max);

/** The ledger's floors and caps (contracts/ledger/LedgerParams.sol), in base units / seconds / epochs. */
export const LIMITS = {
  stake: { floor: 10n ** 18n, cap: 10n ** 27n },
  rewardPerEpoch: { cap: 10n ** 24n },
  verifierFee: { cap: 10n ** 21n },
  theta: { cap: 95n * 10n ** 16n },
  slashShareBps: { floor: 100, cap: 5000 },
  unbondingSeconds: { cap: 60 * 86400 },
  minMemoryMiB: { cap: 1 << 20 },
  minThroughput: { cap: 1_000_000 },
  strikeLimit: { floor: 2, cap: 100 },
  strikeDecayEpochs: { floor: 1, cap: 10_000 },
  windowEpochs: { floor: 1, cap: 1000 },
  paramsLeadEpochs: 3,
} as const;

export const DeployParamsSchema = z
  .object({
    tokenSupply: tokens.default("1000000000"),
    rewardFund: tokens.default("1000000"),
    modelHash: z.string().regex(/^0x[0-9a-fA-F]{64}$/, "must be 32 bytes of hex").default(ZeroHash),
    numLayers: uint(65535).min(1).default(5),
    epochSeconds: uint(2 ** 32 - 1).min(2).default(10),
    minServerStake: tokens.default("100"),
    minVerifierStake: tokens.default("50"),
    rewardPerEpoch: tokens.default("100"),
    verifierFee: tokens.default("0.1"),
    theta: z
      .union([z.string(), z.number()])
      .transform((v) => String(v))
      .refine((v) => /^(0(\.\d{1,18})?|1(\.0{1,18})?)$/.test(v), "must be a decimal in [0, 1]")
      .default("0.9"),
    maxTokensPerEpoch: uint(2 ** 32 - 1).min(1).default(1_000_000),
    minMemoryMiB: uint(2 ** 32 - 1).default(64),
    minThroughput: uint(2 ** 32 - 1).default(1),
    unbondingSeconds: uint(2 ** 32 - 1).default(70),
    slashShareBps: uint(10_000).default(5000),
    strikeLimit: uint(65535).default(3),
    strikeDecayEpochs: uint(65535).default(10),
    evidenceWindowEpochs: uint(65535).default(2),
    challengeEpochs: uint(65535).default(2),
    sizeNeutralWeights: z.boolean().default(true),
    /** TimelockController delay (seconds) before a governance change can be executed. */
    governorDelaySeconds: uint(2 ** 32 - 1).default(2),
  })
  .strict()
  .superRefine((p, ctx) => {
    const bad = (path: string, message: string) => ctx.addIssue({ code: "custom", path: [path], message });
    const base = (v: string) => parseUnits(v, 18);
    const range = (path: string, v: bigint | number, floor: bigint | number, cap: bigint | number, unit = "") => {
      if (BigInt(v) < BigInt(floor) || BigInt(v) > BigInt(cap)) bad(path, `must be within [${floor}, ${cap}]${unit} (is ${v})`);
    };
    range("minServerStake", base(p.minServerStake), LIMITS.stake.floor, LIMITS.stake.cap, " base units");
    const verifierFloor = (base(p.minServerStake) * BigInt(p.slashShareBps)) / 10_000n;
    const vFloor = verifierFloor > LIMITS.stake.floor ? verifierFloor : LIMITS.stake.floor;
    if (base(p.minVerifierStake) < vFloor || base(p.minVerifierStake) > LIMITS.stake.cap) {
      bad("minVerifierStake", `must be at least minServerStake × slashShareBps / 10000 = ${vFloor} base units (what one false evidence can cost a server) and at most ${LIMITS.stake.cap}`);
    }
    range("rewardPerEpoch", base(p.rewardPerEpoch), 0, LIMITS.rewardPerEpoch.cap, " base units");
    range("verifierFee", base(p.verifierFee), 0, LIMITS.verifierFee.cap, " base units");
    range("theta", base(p.theta), 0, LIMITS.theta.cap, " (1e18 = 1.0)");
    range("minMemoryMiB", p.minMemoryMiB, 0, LIMITS.minMemoryMiB.cap);
    range("minThroughput", p.minThroughput, 0, LIMITS.minThroughput.cap);
    range("slashShareBps", p.slashShareBps, LIMITS.slashShareBps.floor, LIMITS.slashShareBps.cap);
    range("strikeLimit", p.strikeLimit, LIMITS.strikeLimit.floor, LIMITS.strikeLimit.cap);
    range("strikeDecayEpochs", p.strikeDecayEpochs, LIMITS.strikeDecayEpochs.floor, LIMITS.strikeDecayEpochs.cap);
    range("evidenceWindowEpochs", p.evidenceWindowEpochs, LIMITS.windowEpochs.floor, LIMITS.windowEpochs.cap);
    range("challengeEpochs", p.challengeEpochs, LIMITS.windowEpochs.floor, LIMITS.windowEpochs.cap);
    const unbondingFloor = (p.evidenceWindowEpochs + p.challengeEpochs + 3) * p.epochSeconds;
    if (p.unbondingSeconds < unbondingFloor || p.unbondingSeconds > Math.max(LIMITS.unbondingSeconds.cap, unbondingFloor)) {
      bad("unbondingSeconds", `must be at least (evidenceWindowEpochs + challengeEpochs + 3) × epochSeconds = ${unbondingFloor} (stake stays slashable until evidence on its last epoch can be executed) and at most ${LIMITS.unbondingSeconds.cap} (is ${p.unbondingSeconds})`);
    }
  });

export type DeployParams = z.output<typeof DeployParamsSchema>;

/** The Solidity `ITrustLedger.Params` struct, field for field. */
export interface LedgerParams {
  minServerStake: bigint;
  minVerifierStake: bigint;
  rewardPerEpoch: bigint;
  verifierFee: bigint;
  theta: bigint;
  maxTokensPerEpoch: number;
  minMemoryMiB: number;
  minThroughput: number;
  unbondingDelay: number;
  slashShareBps: number;
  strikeLimit: number;
  strikeDecayEpochs: number;
  evidenceWindowEpochs: number;
  challengeEpochs: number;
  sizeNeutralWeights: boolean;
}

export class DeployParamsError extends Error {
  override readonly name = "DeployParamsError";
}

/** Parses parameters from an object (`{}` gives the local defaults); every problem is reported. */
export function parseDeployParams(input: unknown, source = "parameters"): DeployParams {
  const result = DeployParamsSchema.safeParse(input);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => `${issue.path.length > 0 ? issue.path.join(".") : "(top level)"}: ${issue.message}`);
    throw new DeployParamsError(`${source}: ${problems.join("; ")}`);
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
    maxTokensPerEpoch: p.maxTokensPerEpoch,
    minMemoryMiB: p.minMemoryMiB,
    minThroughput: p.minThroughput,
    unbondingDelay: p.unbondingSeconds,
    slashShareBps: p.slashShareBps,
    strikeLimit: p.strikeLimit,
    strikeDecayEpochs: p.strikeDecayEpochs,
    evidenceWindowEpochs: p.evidenceWindowEpochs,
    challengeEpochs: p.challengeEpochs,
    sizeNeutralWeights: p.sizeNeutralWeights,
  };
}
