// The ledger as a registry of servers: what a Client routes over, and what a Server
// writes about itself (stake, layers, peer id, addrs, hardware).
import { totalmem } from "node:os";
import { formatUnits, type Contract } from "ethers";
import { peerIdFromBytes } from "../p2p/peer-id.ts";
import type { Candidate } from "../swarm/types.ts";
import { explainReverts } from "./revert.ts";
import { ledgerDomain } from "./domain.ts";
import { signPeerBinding } from "./peer-binding.ts";
import { ServerStatus, VerifierStatus } from "./enums.ts";

const PAGE = 200;

interface ServerViewRow {
  account: string;
  peerId: string;
  peerSigner: string;
  addrs: string[];
  start: bigint;
  end: bigint;
  trust: bigint;
  throughput: bigint;
}

/** Active servers from the ledger, read page by page, as routing candidates (peer ids decoded);
 * at `blockTag` when given (clients give the confirmed block: chain/confirmed.ts). */
export async function readCandidates(ledger: Contract, pageSize = PAGE, blockTag?: number): Promise<Candidate[]> {
  const at = blockTag === undefined ? {} : { blockTag };
  const count = Number(await ledger.activeServerCount(at));
  const pages: Promise<ServerViewRow[]>[] = [];
  for (let offset = 0; offset < count; offset += pageSize) pages.push(ledger.activeServersPage(offset, pageSize, at));
  const out: Candidate[] = [];
  for (const page of await Promise.all(pages)) {
    for (const v of page) {
      let peer: string;
      try {
        peer = peerIdFromBytes(Buffer.from(v.peerId.slice(2), "hex")).toString();
      } catch {
        continue; // a peer id libp2p cannot parse can never be dialled
      }
      out.push({ peer, account: v.account, signer: v.peerSigner, addrs: [...v.addrs], start: Number(v.start), end: Number(v.end), trust: Number(v.trust) / 1e18, throughput: Number(v.throughput) });
    }
  }
  return out;
}

export interface ServerRegistration {
  readonly stake: bigint;
  readonly start: number;
  readonly end: number;
  readonly peerId: Uint8Array;
  /** The 32-byte secp256k1 private key of the peer id: it signs the PeerBinding proof. */
  readonly peerPrivateKey: Uint8Array;
  readonly addrs: string[];
  readonly throughput: number;
}

/** Registers the signer's server, or brings an active registration up to date.
 * Returns what was done, for the log. */
export async function registerOrUpdate(ledger: Contract, token: Contract, address: string, r: ServerRegistration): Promise<string> {
  const iface = [ledger.interface, token.interface];
  const current = await ledger.getServer(address);
  const status = Number(current.status);
  if (status === ServerStatus.none) {
    const balance: bigint = await token.balanceOf(address);
    if (balance < r.stake) {
      throw new Error(`${address} holds ${formatUnits(balance, 18)} tokens; staking needs ${formatUnits(r.stake, 18)} (on the local chain: \`efed fund ${address}\`)`);
    }
    await explainReverts(iface, async () => (await token.approve(await ledger.getAddress(), r.stake)).wait());
    const hw = { memoryMiB: Math.floor(totalmem() / 2 ** 20), throughput: r.throughput };
    const { chainId } = await ledger.runner!.provider!.getNetwork();
    const proof = signPeerBinding(r.peerPrivateKey, ledgerDomain(chainId, await ledger.getAddress()), address);
    await explainReverts(iface, async () => (await ledger.registerServer(r.stake, r.start, r.end, r.peerId, r.addrs, hw, proof)).wait());
    return "registered";
  }
  if (status === ServerStatus.deactivated && Number(current.pendingSlash) === 0) {
    // Eq. 4: S_i under θ (audits failed, or the committee could not reach it). The stake is
    // untouched, but the ledger re-activates no one (only a refuted slash does): leave and
    // register anew
    const leave = current.unbonding > 0n ? "" : "`efed unstake`, then ";
    throw new Error(`this wallet's server was deactivated (S_i under θ: failed audits, or unreachable all epoch), not slashed; the ledger cannot re-activate it: ${leave}\`efed withdraw\` once the delay has passed, then start the server again to register anew`);
  }
  if (status !== ServerStatus.active) {
    const what = status === ServerStatus.exiting ? "exiting (unbonded)" : status === ServerStatus.deactivated ? "deactivated on evidence (a slash is pending)" : "slashed";
    throw new Error(`this wallet's server is ${what}: withdraw with \`efed withdraw\` once the delay has passed, then register again`);
  }
  const done: string[] = [];
  if (Number(current.start) !== r.start || Number(current.end) !== r.end) {
    await explainReverts(iface, async () => (await ledger.updateLayers(r.start, r.end)).wait());
    done.push(`layers ${r.start}-${r.end}`);
  }
  if (Buffer.from(current.peerId.slice(2), "hex").compare(Buffer.from(r.peerId)) !== 0) {
    throw new Error("this wallet's server is registered with another peer id: use its original .p2p.key file");
  }
  if (JSON.stringify([...current.addrs]) !== JSON.stringify(r.addrs)) {
    await explainReverts(iface, async () => (await ledger.updateAddrs(r.addrs)).wait());
    done.push("addresses");
  }
  return done.length ? `updated ${done.join(" and ")}` : "registration up to date";
}

export interface VerifierEntry {
  readonly account: string;
  readonly peer: string;
  readonly addrs: string[];
}

/** Active verifiers with a peer id and addresses: where clients hand sessions for audit. */
export async function readVerifiers(ledger: Contract, pageSize = PAGE): Promise<VerifierEntry[]> {
  const count = Number(await ledger.verifierCount());
  const out: VerifierEntry[] = [];
  for (let offset = 0; offset < count; offset += pageSize) {
    for (const v of (await ledger.verifiersPage(offset, pageSize)) as { account: string; status: bigint; peerId: string; addrs: string[] }[]) {
      if (Number(v.status) !== VerifierStatus.active || v.addrs.length === 0) continue;
      try {
        out.push({ account: v.account, peer: peerIdFromBytes(Buffer.from(v.peerId.slice(2), "hex")).toString(), addrs: [...v.addrs] });
      } catch {
        // an unparseable peer id cannot be dialled
      }
    }
  }
  return out;
}
