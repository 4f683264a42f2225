// A deployed token + ledger on Hardhat's in-process chain, with actors and helpers to
// register (with peer-key proofs), move through an epoch's windows, commit and reveal reports
// and settle. Shared by the contract tests and the gas bench.
import { network } from "hardhat";
import { getBytes, keccak256, parseEther, toUtf8Bytes, ZeroHash } from "ethers";
import type { Contract, Signer } from "ethers";
import { ledgerDomain } from "../../node/chain/domain.ts";
import { peerIdOfKey, signPeerBinding } from "../../node/chain/peer-binding.ts";
import { commitReport, encodeResults, revealReport, settleEpoch, type ResultEntry } from "../../node/chain/settlement.ts";
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
    maxTokensPerEpoch: 1_000_000,
    minMemoryMiB: 1024,
    minThroughput: 10,
    unbondingDelay: 7 * EPOCH, // (evidence 2 + challenge 2 + 3) epochs: the floor
    slashShareBps: 5000,
    strikeLimit: 3,
    strikeDecayEpochs: 10,
    evidenceWindowEpochs: 2,
    challengeEpochs: 2,
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
  treasury: string;
  servers: Signer[];
  verifiers: Signer[];
  outsider: Signer;
  chainId: bigint;
}

/** Deploys a TrustLedger with the registry and court it delegates to; `args` are
 * (token, admin, treasury, modelHash, numLayers, epochLength, params). */
export async function deployLedger(ethers: Ethers, args: unknown[]): Promise<Contract> {
  const registry: Contract = await ethers.deployContract("TrustLedgerRegistry", args);
  const court: Contract = await ethers.deployContract("TrustLedgerCourt", [registry.target, ...args]);
  return ethers.deployContract("TrustLedger", [registry.target, court.target, ...args]);
}

export async function connect(accounts?: number) {
  const connection = await network.create(accounts === undefined ? undefined : { override: { accounts: { count: accounts } } });
  return { ethers: connection.ethers as Ethers, helpers: connection.networkHelpers as Ethers };
}

/** Deploys token + ledger (the admin EOA governs; treasury is its own account), funds
 * everyone, approves the ledger, funds the reward pool. */
export async function deployWorld(
  ethers: Ethers,
  helpers: Ethers,
  params: LedgerParams = defaultParams(),
  opts: { verifiers?: number; servers?: number; pool?: bigint } = {},
): Promise<World> {
  const signers: Signer[] = await ethers.getSigners();
  const admin = signers[0];
  const treasury = await signers[1].getAddress();
  const nServers = opts.servers ?? 4;
  const nVerifiers = opts.verifiers ?? 5;
  const servers = signers.slice(2, 2 + nServers);
  const verifiers = signers.slice(2 + nServers, 2 + nServers + nVerifiers);
  const outsider = signers[2 + nServers + nVerifiers];
  const token: Contract = await ethers.deployContract("EfedToken", [await admin.getAddress(), parseEther("1000000000")]);
  const ledger = await deployLedger(ethers, [await token.getAddress(), await admin.getAddress(), treasury, ZeroHash, LAYERS, EPOCH, params]);
  const ledgerAddr = await ledger.getAddress();
  for (const s of [...servers, ...verifiers, outsider]) {
    await token.transfer(await s.getAddress(), parseEther("100000"));
    await (token.connect(s) as Contract).approve(ledgerAddr, parseEther("100000"));
  }
  await token.approve(ledgerAddr, parseEther("100000000"));
  if ((opts.pool ?? 1n) !== 0n) await ledger.fundRewards(opts.pool ?? parseEther("1000000"));
  const chainId = BigInt((await ethers.provider.getNetwork()).chainId);
  return { ethers, helpers, token, ledger, admin, treasury, servers, verifiers, outsider, chainId };
}

export const as = (w: World, s: Signer) => w.ledger.connect(s) as Contract;
export const domainOf = (w: World) => ledgerDomain(w.chainId, w.ledger.target as string);

/** The secp256k1 peer key of server i (deterministic). */
export function peerKey(i: number): Uint8Array {
  return getBytes(keccak256(toUtf8Bytes(`efed peer ${i}`)));
}

export function peerId(i: number): Uint8Array {
  return peerIdOfKey(peerKey(i));
}

export async function registerServer(w: World, i: number, start: number, end: number, stake = parseEther("100"), key = peerKey(i)) {
  const server = w.servers[i];
  const proof = signPeerBinding(key, domainOf(w), await server.getAddress());
  return as(w, server).registerServer(stake, start, end, peerIdOfKey(key), [`/ip4/127.0.0.1/tcp/${4000 + i}`], HW, proof);
}

export async function registerVerifiers(w: World, n = w.verifiers.length, stake = parseEther("50")) {
  for (const [i, v] of w.verifiers.slice(0, n).entries()) {
    await as(w, v).registerVerifier(stake, peerIdOfKey(getBytes(keccak256(toUtf8Bytes(`efed verifier ${i}`)))), [`/ip4/127.0.0.1/tcp/${5000 + i}`]);
  }
}

/** Moves block time to `offset` seconds into `epoch` (the next block is there). */
export async function goTo(w: World, epoch: number, offset = 0) {
  const genesis = Number(await w.ledger.genesis());
  const target = genesis + epoch * EPOCH + offset;
  const now = Number(await w.helpers.time.latest());
  if (target > now) await w.helpers.time.increaseTo(target);
}

export const goToEpoch = (w: World, epoch: number) => goTo(w, epoch);
/** Commit window of the report on `epoch`: the first half of epoch + 1. */
export const goToCommit = (w: World, epoch: number) => goTo(w, epoch + 1);
/** Reveal window of the report on `epoch`: the second half of epoch + 1. */
export const goToReveal = (w: World, epoch: number) => goTo(w, epoch + 1, EPOCH / 2);
/** Settlement window of `epoch`: epoch + 2. */
export const goToSettle = (w: World, epoch: number) => goTo(w, epoch + 2);

export type Reports = Map<number, ResultEntry[]>; // verifier index → its entries

/** Commits and reveals each verifier's report on `epoch` (moving through both windows). */
export async function report(w: World, epoch: number, reports: Reports) {
  await goToCommit(w, epoch);
  const salts = new Map<number, string>();
  for (const [v, entries] of reports) salts.set(v, await commitReport(as(w, w.verifiers[v]), epoch, encodeResults(entries)));
  await goToReveal(w, epoch);
  for (const [v, entries] of reports) await revealReport(as(w, w.verifiers[v]), epoch, encodeResults(entries), salts.get(v)!);
}

/** The same view of every listed server from verifiers 0..n−1. */
export function unanimous(n: number, servers: string[], accBps = 10_000, tokens = 1000): Reports {
  const m: Reports = new Map();
  for (let v = 0; v < n; v++) m.set(v, servers.map((server) => ({ server, accBps, tokens })));
  return m;
}

/** report + settle: the whole life of `epoch`'s reports; returns the settlement receipt. */
export async function runEpoch(w: World, epoch: number, reports: Reports) {
  await report(w, epoch, reports);
  await goToSettle(w, epoch);
  return settleEpoch(w.ledger, epoch);
}

export function parseLogs(w: World, rc: { logs: readonly unknown[] }) {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  return rc.logs.map((l) => w.ledger.interface.parseLog(l as never)).filter((e): e is NonNullable<typeof e> => e !== null) as any[];
}
