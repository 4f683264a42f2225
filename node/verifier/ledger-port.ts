// The verifier's port onto TrustLedger over JSON-RPC: committee snapshots, the report's signed
// commitment (batched) and reveal (carried by the settlement, or on chain as a fallback),
// settlement naming the whole committee (so nobody picks a subset), and evidence with its
// co-signatures. The calls themselves
// are node/chain/settlement.ts's; this adapts them to the daemon's SettlementPort.
import { verifyTypedData, type Contract, type Signer, type TypedDataDomain } from "ethers";
import { peerIdFromString } from "@libp2p/peer-id";
import { EVIDENCE_TYPES } from "../chain/domain.ts";
import { peerSignerOf } from "../chain/peer-binding.ts";
import { explainReverts } from "../chain/revert.ts";
import * as settlement from "../chain/settlement.ts";
import { settledOf } from "../chain/settled.ts";
import { chainSignature, receiptHash } from "../swarm/receipt.ts";
import { accusedReceipt, recordHash, type EvidenceRecord } from "./evidence.ts";
import type { Committee, CoSignature, ResultEntry, SettlementPort } from "./port.ts";
import type { SignedCommitment } from "./reporting.ts";

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

  private async explain<T>(f: () => Promise<T>): Promise<T> {
    try {
      return await explainReverts(this.iface, f);
    } catch (err) {
      // a transaction that failed before it was sent still took a nonce from the manager
      (this.signer as { reset?: () => void }).reset?.();
      throw err;
    }
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
    const c = await settlement.readCommittee(this.ledger, epoch);
    const out = { members: new Map(c.members.map((m) => [m.address.toLowerCase(), m.stake])), total: c.total };
    if (epoch <= Number(await this.ledger.currentEpoch())) this.committees.set(epoch, out); // snapshotted at its start: final
    for (const e of this.committees.keys()) if (e < epoch - 8) this.committees.delete(e);
    return out;
  }

  async signCommitment(epoch: number, results: ResultEntry[]) {
    const text = settlement.encodeResults(results);
    const s = await settlement.signCommitment(this.signer, this.domain, epoch, text);
    return { signed: { ...s.signed, verifier: s.signed.verifier.toLowerCase() }, salt: s.salt, text };
  }

  checkCommitment(epoch: number, c: SignedCommitment): boolean {
    return settlement.checkCommitment(this.domain, epoch, c);
  }

  async commitBatch(epoch: number, signed: SignedCommitment[]): Promise<void> {
    await this.explain(() => settlement.commitReports(this.ledger, epoch, signed));
  }

  async commitOwn(epoch: number, commitment: string): Promise<void> {
    await this.explain(async () => (await this.ledger.commitReport(epoch, commitment)).wait());
  }

  async reportState(epoch: number, verifier: string): Promise<number> {
    return Number(await this.ledger.reportState(epoch, verifier));
  }

  async revealOnChain(epoch: number, text: string, salt: string): Promise<void> {
    await this.explain(() => settlement.revealReport(this.ledger, epoch, text, salt));
  }

  async settle(epoch: number, reveals: ReadonlyMap<string, settlement.Reveal>, late: boolean): Promise<number> {
    if (late) await this.explain(() => settlement.penalizeUnrevealed(this.ledger, epoch)).catch(() => {}); // someone else may have
    const rc = (await this.explain(() => settlement.settleEpoch(this.ledger, epoch, { reveals }))) as { logs: never[] } | undefined;
    if (rc === undefined) return (await settlement.readRevealed(this.ledger, epoch)).some((r) => r.results !== "0x") ? -1 : 0;
    return settledOf(rc.logs.map((l) => this.ledger.interface.parseLog(l)).filter((e) => e !== null)).length;
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

  private evidenceMessage(server: string, ev: EvidenceRecord) {
    return { server, receiptHash: receiptHash(accusedReceipt(ev)), recordHash: recordHash(ev) };
  }

  async signEvidence(server: string, ev: EvidenceRecord): Promise<string> {
    return (await settlement.signEvidence(this.signer, this.domain, this.evidenceMessage(server, ev))).signature;
  }

  checkEvidenceSignature(server: string, ev: EvidenceRecord, c: CoSignature): boolean {
    try {
      return verifyTypedData(this.domain, EVIDENCE_TYPES, this.evidenceMessage(server, ev), c.sig).toLowerCase() === c.signer.toLowerCase();
    } catch {
      return false;
    }
  }

  async submitEvidence(ev: EvidenceRecord, sigs: CoSignature[]): Promise<void> {
    const r = accusedReceipt(ev);
    const peerSigner = peerSignerOf(peerIdFromString(ev.route[ev.failure.hop].peer).toMultihash().bytes);
    const server = await this.ledger.getServer(await this.ledger.serverOfPeerSigner(peerSigner));
    if (Number(server.pendingSlash) > 0 || Number(server.status) === 4) return; // one slash at a time is enough
    const sig65 = chainSignature(this.domain, r, peerSigner);
    const receipt = { session: r.session, start: r.start, end: r.end, pos: r.pos, n: r.n, epoch: r.epoch, inputDigest: r.inputDigest, outputDigest: r.outputDigest, commitDigest: r.commitDigest, prev: r.prev, upstream: r.upstream };
    await this.explain(() => settlement.submitEvidence(this.ledger, receipt, sig65, recordHash(ev), sigs.map((s) => ({ signer: s.signer, signature: s.sig }))));
  }

  async executeDueSlashes(): Promise<number> {
    const current = Number(await this.ledger.currentEpoch());
    let n = 0;
    for (const e of await this.ledger.queryFilter(this.ledger.filters.EvidenceSubmitted())) {
      const a = (e as unknown as { args: { slashId: string; executableFrom: bigint } }).args;
      if (Number(a.executableFrom) > current) continue;
      const s = await this.ledger.getSlash(a.slashId);
      if (Number(s.state) !== 1) continue; // 1: pending
      await this.explain(() => settlement.executeSlash(this.ledger, a.slashId)).then(() => n++, () => {}); // another verifier may have
    }
    return n;
  }
}
