// The verifier's port onto TrustLedger over JSON-RPC: committee snapshots, the report's signed
// commitment (batched) and reveal (carried by the settlement, or on chain as a fallback),
// settlement naming the whole committee (so nobody picks a subset), and evidence with its
// co-signatures. The calls themselves
// are node/chain/settlement.ts's; this adapts them to the daemon's SettlementPort.
// What decides a duty (the committee, who owns a peer, report states, due slashes) is read at
// the confirmed block (confirmed-view.ts); transactions, and the reads that compose them, go
// to the head.
import { verifyTypedData, type Contract, type Signer, type TypedDataDomain } from "ethers";
import { ConfirmedReader, readEvents } from "../chain/confirmed.ts";
import { peerIdFromString } from "@libp2p/peer-id";
import { EVIDENCE_TYPES } from "../chain/domain.ts";
import { peerSignerOf } from "../chain/peer-binding.ts";
import { explainReverts } from "../chain/revert.ts";
import * as settlement from "../chain/settlement.ts";
import * as attested from "../chain/attested.ts";
import { settledOf } from "../chain/settled.ts";
import { chainSignature, receiptHash } from "../swarm/receipt.ts";
import { accusedReceipt, recordHash, type EvidenceRecord } from "./evidence.ts";
import type { Committee, CoSignature, ResultEntry, SettlementPort } from "./port.ts";
import { ConfirmedView } from "./confirmed-view.ts";
import type { ReportState, SignedCommitment } from "./reporting.ts";
import { ServerStatus, SlashState } from "../chain/enums.ts";

export class LedgerPort implements SettlementPort {
  readonly address: string;
  private readonly ledger: Contract; // connected to the verifier's signer
  private readonly signer: Signer;
  private readonly domain: TypedDataDomain;
  private readonly committees = new Map<number, Committee>();
  private readonly servers = new Map<string, string>(); // peer → server account, as confirmed
  private readonly iface: Contract["interface"][];
  private readonly view: ConfirmedView;
  /** The deployment's block: no ledger event is older. */
  private readonly fromBlock: number;
  /** Evidence seen so far whose slash may still be due: slash id → first epoch it can be executed. */
  private slashes: { next: number; due: Map<string, number> };
  private reorgCount = 0;

  /** `confirmed`: where decisions are read (default: the head, no confirmations); `log` hears
   * of reorgs deeper than its confirmations. `maxAgeMs`: how long one confirmed-block look-up
   * serves (tests give 0). */
  constructor(c: { ledger: Contract; signer: Signer; address: string; domain: TypedDataDomain; interfaces?: Contract["interface"][]; confirmed?: ConfirmedReader; log?: (line: string) => void; maxAgeMs?: number; fromBlock?: number }) {
    this.ledger = c.ledger;
    this.signer = c.signer;
    this.address = c.address.toLowerCase();
    this.domain = c.domain;
    this.iface = c.interfaces ?? [c.ledger.interface];
    this.fromBlock = c.fromBlock ?? 0;
    this.slashes = { next: this.fromBlock, due: new Map() };
    const reader = c.confirmed ?? new ConfirmedReader(c.ledger.runner!.provider!, 0);
    this.view = new ConfirmedView(c.ledger, reader, (from) => {
      // what was read at or after `from` may be gone: read it again
      this.committees.clear();
      this.servers.clear();
      this.slashes = { next: this.fromBlock, due: new Map() };
      this.reorgCount++;
      c.log?.(`the chain reorganised from block ${from}, deeper than --confirmations ${reader.confirmations}: reading the ledger again`);
    }, c.maxAgeMs);
  }

  /** Reorgs deeper than the confirmations seen so far (the daemon then re-checks its duties). */
  get reorgs(): number {
    return this.reorgCount;
  }

  async blocks(): Promise<{ head: number; confirmed: number }> {
    const v = await this.view.at(true); // asked right after a settlement: its block is in this head
    return { head: v.head, confirmed: v.block };
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
    const { ledger } = await this.view.at(); // first: a deep reorg empties the cache
    const cached = this.committees.get(epoch);
    if (cached !== undefined) return cached;
    const c = await settlement.readCommittee(ledger, epoch);
    const out = { members: new Map(c.members.map((m) => [m.address.toLowerCase(), m.stake])), total: c.total };
    // snapshotted at its start: final once the confirmed block is past it (until a deep reorg)
    if (epoch <= Number(await ledger.currentEpoch())) this.committees.set(epoch, out);
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

  async reportState(epoch: number, verifier: string): Promise<ReportState> {
    const { ledger } = await this.view.at();
    const [confirmed, head] = await Promise.all([ledger.reportState(epoch, verifier), this.ledger.reportState(epoch, verifier)]);
    return { confirmed: Number(confirmed), head: Number(head) };
  }

  async revealOnChain(epoch: number, text: string, salt: string): Promise<void> {
    await this.explain(() => settlement.revealReport(this.ledger, epoch, text, salt));
  }

  async settle(epoch: number, reveals: ReadonlyMap<string, settlement.Reveal>, late: boolean): Promise<number> {
    if (late) await this.explain(() => settlement.penalizeUnrevealed(this.ledger, epoch)).catch(() => {}); // someone else may have
    const rc = (await this.explain(() => settlement.settleEpoch(this.ledger, epoch, { reveals }))) as { logs: never[] } | undefined;
    if (rc === undefined) {
      // nothing sent: everything is settled already (by the reports, or by signed medians, which leave no text on chain), or nothing is revealed yet
      if (await settlement.settledByAttestation(this.ledger, epoch)) return -1;
      return (await settlement.readRevealed(this.ledger, epoch)).some((r) => r.results !== "0x") ? -1 : 0;
    }
    return settledOf(rc.logs.map((l) => this.ledger.interface.parseLog(l)).filter((e) => e !== null)).length;
  }

  async prepareAttestation(epoch: number, reveals: ReadonlyMap<string, settlement.Reveal>): Promise<attested.Attestation | undefined> {
    return attested.prepareAttestation(this.ledger, epoch, reveals);
  }

  async signAttestation(epoch: number, d: attested.AttestationDigest): Promise<string> {
    return attested.signAttestation(this.signer, this.domain, epoch, d);
  }

  checkAttestation(epoch: number, d: attested.AttestationDigest, verifier: string, sig: string): boolean {
    return attested.checkAttestation(this.domain, epoch, d, verifier, sig);
  }

  async settleAttested(epoch: number, a: attested.Attestation, sigs: ReadonlyMap<string, string>): Promise<number> {
    const rc = await this.explain(() => attested.settleAttested(this.ledger, a, sigs));
    return settledOf(rc.logs.map((l) => this.ledger.interface.parseLog(l)).filter((e) => e !== null)).length;
  }

  async serverOfPeer(peer: string): Promise<string | undefined> {
    let signer: string;
    try {
      signer = peerSignerOf(peerIdFromString(peer).toMultihash().bytes);
    } catch {
      return undefined;
    }
    const { ledger } = await this.view.at(); // first: a deep reorg empties the cache
    const known = this.servers.get(signer);
    if (known !== undefined) return known;
    const server = (await ledger.serverOfPeerSigner(signer)) as string;
    if (/^0x0{40}$/.test(server)) return undefined; // not (yet, at the confirmed block) registered
    this.servers.set(signer, server.toLowerCase());
    return server.toLowerCase();
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
    if (await this.alreadyAccused(await this.ledger.serverOfPeerSigner(peerSigner))) return; // one slash at a time is enough
    const sig65 = chainSignature(this.domain, r, peerSigner);
    const receipt = { session: r.session, start: r.start, end: r.end, pos: r.pos, n: r.n, epoch: r.epoch, inputDigest: r.inputDigest, outputDigest: r.outputDigest, commitDigest: r.commitDigest, prev: r.prev, upstream: r.upstream };
    await this.explain(() => settlement.submitEvidence(this.ledger, receipt, sig65, recordHash(ev), sigs.map((s) => ({ signer: s.signer, signature: s.sig }))));
  }

  async alreadyAccused(server: string): Promise<boolean> {
    const { ledger } = await this.view.at(); // as confirmed: a slash a reorg drops is no reason to skip
    const s = await ledger.getServer(server);
    return Number(s.pendingSlash) > 0 || Number(s.status) === ServerStatus.slashed;
  }

  async executeDueSlashes(): Promise<number> {
    // evidence and slashes as confirmed; the window (executableFrom) is the head's time. The
    // evidence is read once, from where the last look stopped (a long-lived chain's whole
    // history in one eth_getLogs is refused by RPC providers), and kept until the slash is done
    const { ledger, block } = await this.view.at();
    const scan = this.slashes;
    for (const e of await readEvents(this.ledger, ["EvidenceSubmitted"], scan.next, block)) {
      const a = e.args as unknown as { slashId: string; executableFrom: bigint };
      scan.due.set(a.slashId, Number(a.executableFrom));
    }
    scan.next = Math.max(scan.next, block + 1);
    const current = Number(await this.ledger.currentEpoch());
    let n = 0;
    for (const [id, from] of scan.due) {
      if (from > current) continue;
      const s = await ledger.getSlash(id);
      if (Number(s.state) !== SlashState.pending) {
        scan.due.delete(id); // executed or refuted: settled for good once confirmed
        continue;
      }
      await this.explain(() => settlement.executeSlash(this.ledger, id)).then(() => n++, () => {}); // another verifier may have
    }
    return n;
  }
}
