// Deployment parameters: a JSON file in human units (whole tokens, seconds, θ as a
// decimal), checked with zod against the ledger's floors and caps (every problem reported at
// once) and turned into the ledger's on-chain Params struct.
import { readFileSync } from "node:fs";
import { formatUnits, parseUnits, ZeroHash } from "ethers";
import { z } from "zod";

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

const UINT32 = 2 ** 32 - 1;
const tokensText = (base: bigint) => formatUnits(base, 18).replace(/\.0$/, "");

// Each field is checked by one function that says at most one thing about it (its type, or
// its range), so a file with several mistakes gets one line per mistaken key, each once.

/** A whole number in [floor, cap]. */
const int = (floor: number, cap: number) =>
  z.unknown().transform((v, ctx) => {
    if (typeof v !== "number" || !Number.isInteger(v)) {
      ctx.addIssue({ code: "custom", message: `must be a whole number from ${floor} to ${cap} (is ${JSON.stringify(v)})` });
      return z.NEVER;
    }
    if (v < floor || v > cap) ctx.addIssue({ code: "custom", message: `must be from ${floor} to ${cap} (is ${v})` });
    return v;
  });

/** A decimal in [floor, cap] base units (1e18 = 1), string or number with up to 18 decimals;
 * kept as its text. `unit` names it in messages: tokens, or nothing for a plain decimal (θ). */
const decimal = (floor: bigint, cap: bigint, unit = " tokens") =>
  z.unknown().transform((v, ctx) => {
    const text = typeof v === "number" || typeof v === "string" ? String(v) : "";
    if (!/^\d+(\.\d{1,18})?$/.test(text)) {
      ctx.addIssue({ code: "custom", message: `must be a non-negative decimal number${unit === "" ? "" : ` of${unit}`}, e.g. "0.5" (is ${JSON.stringify(v)})` });
      return z.NEVER;
    }
    const base = parseUnits(text, 18);
    if (base < floor || base > cap) ctx.addIssue({ code: "custom", message: `must be from ${tokensText(floor)} to ${tokensText(cap)}${unit} (is ${text})` });
    return text;
  });
const tokens = decimal;

const bool = z.unknown().transform((v, ctx) => {
  if (typeof v !== "boolean") ctx.addIssue({ code: "custom", message: `must be true or false (is ${JSON.stringify(v)})` });
  return v as boolean;
});

const bytes32 = z.unknown().transform((v, ctx) => {
  if (typeof v !== "string" || !/^0x[0-9a-fA-F]{64}$/.test(v)) ctx.addIssue({ code: "custom", message: `must be 32 bytes of hex, 0x and 64 digits (is ${JSON.stringify(v)})` });
  return v as string;
});

/** A cross-field check runs when the fields it reads are valid themselves (their own
 * problems are reported already), whatever is wrong elsewhere in the file. */
const whenValid = (...keys: string[]) => ({
  when: (payload: { issues: readonly { code?: string; path?: readonly PropertyKey[] }[] }) =>
    !payload.issues.some((i) => (i.path?.length ? keys.includes(String(i.path[0])) : i.code !== "unrecognized_keys")),
});

export const DeployParamsSchema = z
  .object({
    tokenSupply: tokens(0n, 2n ** 255n).default("1000000000"),
    rewardFund: tokens(0n, 2n ** 255n).default("1000000"),
    modelHash: bytes32.default(ZeroHash),
    numLayers: int(1, 65535).default(5),
    epochSeconds: int(2, UINT32).default(10),
    minServerStake: tokens(LIMITS.stake.floor, LIMITS.stake.cap).default("100"),
    minVerifierStake: tokens(LIMITS.stake.floor, LIMITS.stake.cap).default("50"),
    rewardPerEpoch: tokens(0n, LIMITS.rewardPerEpoch.cap).default("100"),
    verifierFee: tokens(0n, LIMITS.verifierFee.cap).default("0.1"),
    theta: decimal(0n, LIMITS.theta.cap, "").default("0.9"),
    maxTokensPerEpoch: int(1, UINT32).default(1_000_000),
    minMemoryMiB: int(0, LIMITS.minMemoryMiB.cap).default(64),
    minThroughput: int(0, LIMITS.minThroughput.cap).default(1),
    unbondingSeconds: int(0, UINT32).default(70),
    slashShareBps: int(LIMITS.slashShareBps.floor, LIMITS.slashShareBps.cap).default(5000),
    strikeLimit: int(LIMITS.strikeLimit.floor, LIMITS.strikeLimit.cap).default(3),
    strikeDecayEpochs: int(LIMITS.strikeDecayEpochs.floor, LIMITS.strikeDecayEpochs.cap).default(10),
    evidenceWindowEpochs: int(LIMITS.windowEpochs.floor, LIMITS.windowEpochs.cap).default(2),
    challengeEpochs: int(LIMITS.windowEpochs.floor, LIMITS.windowEpochs.cap).default(2),
    sizeNeutralWeights: bool.default(true),
    /** TimelockController delay (seconds) before a governance change can be executed. */
    governorDelaySeconds: int(0, UINT32).default(2),
  })
  .strict()
  .superRefine(
    (p, ctx) => {
      // what one false evidence can cost a server: a verifier signing it must stake as much
      const slashed = (parseUnits(p.minServerStake, 18) * BigInt(p.slashShareBps)) / 10_000n;
      const floor = slashed > LIMITS.stake.floor ? slashed : LIMITS.stake.floor;
      if (parseUnits(p.minVerifierStake, 18) < floor) {
        ctx.addIssue({ code: "custom", path: ["minVerifierStake"], message: `must be at least minServerStake × slashShareBps / 10000 = ${tokensText(floor)} tokens, what one false evidence can cost a server (is ${p.minVerifierStake})` });
      }
    },
    whenValid("minServerStake", "minVerifierStake", "slashShareBps"),
  )
  .superRefine(
    (p, ctx) => {
      // stake stays slashable until evidence on its last epoch can be executed
      const floor = (p.evidenceWindowEpochs + p.challengeEpochs + 3) * p.epochSeconds;
      const cap = Math.max(LIMITS.unbondingSeconds.cap, floor);
      if (p.unbondingSeconds < floor || p.unbondingSeconds > cap) {
        ctx.addIssue({ code: "custom", path: ["unbondingSeconds"], message: `must be from (evidenceWindowEpochs + challengeEpochs + 3) × epochSeconds = ${floor}, so stake stays slashable until evidence on its last epoch can be executed, to ${cap} (is ${p.unbondingSeconds})` });
      }
    },
    whenValid("unbondingSeconds", "evidenceWindowEpochs", "challengeEpochs", "epochSeconds"),
  );

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

/** "key: what is wrong", one for each key (zod lists unknown keys together, at the top level). */
function describeIssue(issue: z.core.$ZodIssue): string[] {
  if (issue.code === "unrecognized_keys") return issue.keys.map((k) => `${k}: not a parameter (the known ones are in \`efed deploy --help\`)`);
  if (issue.path.length === 0) return [`the parameters must be a JSON object of key: value (${issue.message})`];
  return [`${issue.path.join(".")}: ${issue.message}`];
}

/** Parses parameters from an object (`{}` gives the local defaults); every problem is reported. */
export function parseDeployParams(input: unknown, source = "parameters"): DeployParams {
  const result = DeployParamsSchema.safeParse(input);
  if (!result.success) {
    const problems = [...new Set(result.error.issues.flatMap(describeIssue))];
    throw new DeployParamsError(`${source}: ${problems.length} problem${problems.length === 1 ? "" : "s"}: ${problems.join("; ")}`);
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
