// A deployed token + ledger on Hardhat's in-process chain, with actors and helpers
// to register, sign attestations and settle epochs. Shared by tests and the gas bench.
import { network } from "hardhat";
import { parseEther, ZeroHash } from "ethers";
import type { Contract, Signer } from "ethers";
import { ledgerDomain, signAttestation, toReports } from "../../node/chain/attestation.ts";
import type { LedgerParams } from "../../node/chain/params.ts";

export const EPOCH = 100; // seconds
export const LAYERS = 5;

export function defaultParams(overrides: Partial<LedgerParams> = {}): LedgerParams {
  return {
    minServerStake: parseEther("100"),
    minVerifierStake: parseEther("50"),
    rewardPerEpoch: parseEther("1000"),
    verifierFee: parseEther("1"),
    theta: parseEther("0.9"),
    minMemoryMiB: 1024,
    minThroughput: 10,
    unbondingDelay: 2 * EPOCH,
    quorum: 3,
    slashShareBps: 5000,
    deviationBps: 500,
    strikeLimit: 3,
    sizeNeutralWeights: true,
    ...overrides,
  };
}

export const HW = { memoryMiB: 4096, throughput: 100 };

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Ethers = any;

export interface World {
  ethers: Ethers;
  helpers: Ethers;
  token: Contract;
  ledger: Contract;
  admin: Signer;
  servers: Signer[];
  verifiers: Signer[];
  outsider: Signer;
  chainId: bigint;
}

export async function connect(accounts?: number) {
  const connection = await network.create(accounts === undefined ? undefined : { override: { accounts: { count: accounts } } });
  return { ethers: connection.ethers as Ethers, helpers: connection.networkHelpers as Ethers };
}

/** Deploys token + ledger, funds everyone, approves the ledger, funds the reward pool. */
export async function deployWorld(
  ethers: Ethers,
  helpers: Ethers,
  params: LedgerParams = defaultParams(),
  opts: { verifiers?: number; servers?: number; pool?: bigint } = {},
): Promise<World> {
  const signers: Signer[] = await ethers.getSigners();
  const admin = signers[0];
  const nServers = opts.servers ?? 4;
  const nVerifiers = opts.verifiers ?? 5;
  const servers = signers.slice(1, 1 + nServers);
  const verifiers = signers.slice(1 + nServers, 1 + nServers + nVerifiers);
  const outsider = signers[1 + nServers + nVerifiers];
  const token: Contract = await ethers.deployContract("EfedToken", [await admin.getAddress(), parseEther("1000000000")]);
  const ledger: Contract = await ethers.deployContract("TrustLedger", [
    await token.getAddress(),
    await admin.getAddress(),
    ZeroHash,
    LAYERS,
    EPOCH,
    params,
  ]);
  const ledgerAddr = await ledger.getAddress();
  for (const s of [...servers, ...verifiers, outsider]) {
    await token.transfer(await s.getAddress(), parseEther("100000"));
    await (token.connect(s) as Contract).approve(ledgerAddr, parseEther("100000"));
  }
  await token.approve(ledgerAddr, parseEther("100000000"));
  await ledger.fundRewards(opts.pool ?? parseEther("1000000"));
  const chainId = BigInt((await ethers.provider.getNetwork()).chainId);
  return { ethers, helpers, token, ledger, admin, servers, verifiers, outsider, chainId };
}

export function peerId(i: number): Uint8Array {
  const id = new Uint8Array(38);
  id[0] = 0x00;
  id[1] = 0x24;
  id[37] = i + 1;
  return id;
}

export async function registerServer(w: World, i: number, start: number, end: number, stake = parseEther("100")) {
  return (w.ledger.connect(w.servers[i]) as Contract).registerServer(
    stake,
    start,
    end,
    peerId(i),
    [`/ip4/127.0.0.1/tcp/${4000 + i}`],
    HW,
  );
}

export async function registerVerifiers(w: World, n = w.verifiers.length, stake = parseEther("50")) {
  for (const v of w.verifiers.slice(0, n)) await (w.ledger.connect(v) as Contract).registerVerifier(stake);
}

/** Moves block time to the start of `epoch` (the next block is in it). */
export async function goToEpoch(w: World, epoch: number) {
  const genesis = Number(await w.ledger.genesis());
  const target = genesis + epoch * EPOCH;
  const now = Number(await w.helpers.time.latest());
  if (target > now) await w.helpers.time.increaseTo(target);
}

export async function sign(
  w: World,
  signers: Signer[],
  epoch: number | bigint,
  server: string,
  accs: number[],
  tokensServed: bigint = 1000n,
  domain = ledgerDomain(w.chainId, w.ledger.target as string),
) {
  return Promise.all(
    signers.map((s, i) =>
      signAttestation(s, domain, { epoch: BigInt(epoch), server, accBps: accs[i], probes: 20, tokensServed }),
    ),
  );
}

/** Signs with the first accs.length verifiers and submits the sorted reports. */
export async function settle(w: World, epoch: number, server: Signer, accs: number[], tokensServed = 1000n) {
  const addr = await server.getAddress();
  const atts = await sign(w, w.verifiers.slice(0, accs.length), epoch, addr, accs, tokensServed);
  return w.ledger.submitEpoch(epoch, addr, toReports(atts));
}
