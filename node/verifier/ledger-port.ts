// The verifier's port onto TrustLedger over JSON-RPC: committee snapshots, the commit-reveal
// report, settlement from the revealed reports (read back from the ledger's events, so the
// aggregator cannot pick a subset), and evidence with its co-signatures.
import { randomBytes } from "node:crypto";
import { keccak256, solidityPacked, verifyTypedData, type Contract, type Signer, type TypedDataDomain } from "ethers";
import { explainReverts } from "../chain/revert.ts";
import { peerSignerOf } from "../chain/peer-binding.ts";
import { chainSignature } from "../swarm/receipt.ts";
import { accusedReceipt, recordHash, type EvidenceRecord } from "./evidence.ts";
import type { Committee, CoSignature, ResultEntry, SettlementPort } from "./port.ts";
import { peerIdFromString } from "@libp2p/peer-id";
import { receiptHash } from "../swarm/receipt.ts";

export const EVIDENCE_TYPES = { Evidence: [{ name: "server", type: "address" }, { name: "receiptHash", type: "bytes32" }, { name: "recordHash", type: "bytes32" }] };

/** A report's results as the ledger reads them: 26 bytes per server, addresses increasing. */
export function packResults(entries: readonly ResultEntry[]): string {
  const sorted = [...entries].sort((a, b) => (BigInt(a.server) < BigInt(b.server) ? -1 : 1));
  const parts = sorted.map((e) => solidityPacked(["address", "uint16", "uint32"], [e.server, Math.min(10_000, e.accBps), Math.min(2 ** 32 - 1, e.tokens)]).slice(2));
  return "0x" + parts.join("");
}

const byAddress = (a: string, b: string) => (BigInt(a) < BigInt(b) ? -1 : BigInt(a) > BigInt(b) ? 1 : 0);

export class LedgerPort implements SettlementPort {
  readonly address: string;
  private readonly ledger: Contract; // connected to the verifier's signer
  private readonly signer: Signer;
  private readonly domain: TypedDataDomain;
  private readonly committees = new Map<number, Committee>();
  private readonly iface: Contract["interface"][];

  constructor(c: { ledger: Contract; signer: Signer; address: string; domain: TypedDataDomain; interfaces?: Contract["interface"][] }) {
    this.ledger = c.ledger;
    this.signer = c.signer;
    this.address = c.address.toLowerCase();
    this.domain = c.domain;
    this.iface = c.interfaces ?? [c.ledger.interface];
  }

  private tx(f: () => Promise<{ wait(): Promise<unknown> }>): Promise<unknown> {
    return explainReverts(this.iface, async () => (await f()).wait());
  }

  async now(): Promise<number> {
    return (await this.ledger.runner!.provider!.getBlock("latest"))!.timestamp;
  }

  async timing(): Promise<{ genesis: number; epochLength: number }> {
    return { genesis: Number(await this.ledger.genesis()), epochLength: Number(await this.ledger.epochLength()) };
  }

  async committee(epoch: number): Promise<Committee> {
    const cached = this.committees.get(epoch);
    if (cached !== undefined) return cached;
    const members = new Map<string, bigint>();
    const count = Number(await this.ledger.verifierCount());
    for (let offset = 0; offset < count; offset += 200) {
      const [addrs, stakes] = (await this.ledger.committee(epoch, offset, 200)) as [string[], bigint[]];
      addrs.forEach((a, i) => members.set(a.toLowerCase(), stakes[i]));
    }
    const c = { members, total: (await this.ledger.committeeStake(epoch)) as bigint };
    if (epoch < Number(await this.ledger.currentEpoch())) this.committees.set(epoch, c); // a past epoch's snapshot is final
    for (const e of this.committees.keys()) if (e < epoch - 8) this.committees.delete(e);
    return c;
  }

  async commit(epoch: number, results: ResultEntry[]): Promise<string> {
    const salt = "0x" + randomBytes(32).toString("hex");
    const commitment = await this.ledger.reportCommitment(epoch, this.address, keccak256(packResults(results)), salt);
    await this.tx(() => this.ledger.commitReport(epoch, commitment));
    return salt;
  }

  async reveal(epoch: number, results: ResultEntry[], salt: string): Promise<void> {
    await this.tx(() => this.ledger.revealReport(epoch, packResults(results), salt));
  }

  async settle(epoch: number): Promise<number> {
    const revealed = await this.ledger.queryFilter(this.ledger.filters.ReportRevealed(epoch));
    const reports = new Map<string, string>();
    for (const e of revealed) {
      const args = (e as unknown as { args: { verifier: string; results: string } }).args;
      reports.set(args.verifier, args.results);
    }
    const committed = await this.ledger.queryFilter(this.ledger.filters.ReportCommitted(epoch));
    const silent = [...new Set(committed.map((e) => (e as unknown as { args: { verifier: string } }).args.verifier))].filter((v) => !reports.has(v)).sort(byAddress);
    if (silent.length > 0) await this.tx(() => this.ledger.penalizeUnrevealed(epoch, silent)).catch(() => {}); // someone else may have
    if (reports.size === 0) return 0;
    const servers = new Set<string>();
    for (const r of reports.values()) for (let i = 2; i + 52 <= r.length; i += 52) servers.add("0x" + r.slice(i, i + 40));
    const pending: string[] = [];
    for (const s of [...servers].sort(byAddress)) if (!(await this.ledger.settled(epoch, s))) pending.push(s);
    if (pending.length === 0) return 0;
    const verifiers = [...reports.keys()].sort(byAddress);
    await this.tx(() => this.ledger.settleEpoch(epoch, pending, verifiers, verifiers.map((v) => reports.get(v)!)));
    return pending.length;
  }

  async serverOfPeer(peer: string): Promise<string | undefined> {
    let signer: string;
    try {
      signer = peerSignerOf(peerIdFromString(peer).toMultihash().bytes);
    } catch {
      return undefined;
    }
    const server = (await this.ledger.serverOfPeerSigner(signer)) as string;
    return /^0x0{40}$/.test(server) ? undefined : server.toLowerCase();
  }

  async signEvidence(server: string, ev: EvidenceRecord): Promise<string> {
    return this.signer.signTypedData(this.domain, EVIDENCE_TYPES, { server, receiptHash: receiptHash(accusedReceipt(ev)), recordHash: recordHash(ev) });
  }

  checkEvidenceSignature(server: string, ev: EvidenceRecord, c: CoSignature): boolean {
    try {
      return verifyTypedData(this.domain, EVIDENCE_TYPES, { server, receiptHash: receiptHash(accusedReceipt(ev)), recordHash: recordHash(ev) }, c.sig).toLowerCase() === c.signer.toLowerCase();
    } catch {
      return false;
    }
  }

  async submitEvidence(ev: EvidenceRecord, sigs: CoSignature[]): Promise<void> {
    const r = accusedReceipt(ev);
    const peer = ev.route[ev.failure.hop].peer;
    const sig65 = chainSignature(this.domain, r, peerSignerOf(peerIdFromString(peer).toMultihash().bytes));
    const sorted = [...sigs].sort((a, b) => byAddress(a.signer, b.signer));
    const receipt = [r.session, r.start, r.end, r.pos, r.n, r.epoch, r.inputDigest, r.outputDigest, r.commitDigest, r.prev, r.upstream];
    await this.tx(() => this.ledger.submitEvidence(receipt, sig65, recordHash(ev), sorted.map((s) => s.signer), sorted.map((s) => s.sig)));
  }

  async executeDueSlashes(): Promise<number> {
    const current = Number(await this.ledger.currentEpoch());
    const submitted = await this.ledger.queryFilter(this.ledger.filters.EvidenceSubmitted());
    let n = 0;
    for (const e of submitted) {
      const a = (e as unknown as { args: { slashId: string; executableFrom: bigint } }).args;
      if (Number(a.executableFrom) > current) continue;
      const s = await this.ledger.getSlash(a.slashId);
      if (Number(s.state ?? s[1]) !== 1) continue; // 1: pending
      await this.tx(() => this.ledger.executeSlash(a.slashId)).then(() => n++, () => {});
    }
    return n;
  }
}
