// The Verifier's epoch loop (paper §3.2, made hard to dodge): audit at secret, jittered times
// with ordinary client sessions; re-check every hop; turn a failure into evidence that the
// committee re-checks and co-signs on gossip, and that slashes on chain. Each epoch's report
// (acc and audited work per server) is committed in the first half of the next epoch,
// revealed in the second, and settled in the one after by the rotation's aggregator — or by
// anyone past the fallback deadline. Probes between audits find servers that crashed: one
// silent all epoch is reported unreachable (prober.ts), and the ledger takes it off routes.
import type { TypedDataDomain } from "ethers";
import type { PubSubNode } from "../p2p/host.ts";
import type { Auditor } from "./auditor.ts";
import { buildEvidence } from "./evidence.ts";
import { EvidenceDuty, type EvidenceGossip } from "./evidence-duty.ts";
import { auditTimes, epochSeed, planAudit, seededRandom } from "./plan.ts";
import type { SettlementPort } from "./port.ts";
import { EpochReports, type ReportGossip } from "./reporting.ts";
import { canAttest, EpochAttestations, type AttestationGossip } from "./attesting.ts";
import type { Rechecker, RecheckResult } from "./recheck.ts";
import { EpochTallies } from "./tally.ts";
import { withUnreachable } from "./liveness.ts";
import { Prober, type Probe } from "./prober.ts";
import type { SessionRecord } from "../client/remote.ts";

export interface VerifierOptions {
  readonly auditsPerEpoch?: number;
  /** Reachability probe rounds an epoch (default 4; needs a `probe`). */
  readonly probesPerEpoch?: number;
  /** Secret prompts for an epoch (token ids, BOS first), from a secret per-epoch seed. */
  readonly prompts: (seed: string) => Promise<number[][]>;
  /** The verifier's secret: audit times and prompts are unpredictable without it. */
  readonly secret: string;
  readonly bos: number;
  readonly contextLength: number;
  readonly aggregateAt?: number;
  readonly fallbackAt?: number;
  readonly log?: (line: string) => void;
  /** Log every audit (route, steps, time). */
  readonly verbose?: boolean;
  /** Test only: report this accuracy for every server whatever the audits say. */
  readonly lieAccBps?: number;
}

export const verifierTopic = (chainId: bigint, ledger: string) => `/efed/verifiers/2/${chainId}/${ledger.toLowerCase()}`;

type Gossip = EvidenceGossip | ReportGossip | AttestationGossip;

export class VerifierDaemon {
  private readonly node: PubSubNode;
  private readonly port: SettlementPort;
  private readonly auditor: Auditor;
  private readonly rechecker: Rechecker;
  private readonly domain: TypedDataDomain;
  private readonly o: VerifierOptions;
  private readonly topic: string;
  private readonly tallies = new EpochTallies();
  private readonly evidence: EvidenceDuty;
  private readonly plans = new Map<number, { at: number[]; pool: number[][]; rand: () => number }>();
  private readonly reports: EpochReports;
  private readonly attestations?: EpochAttestations;
  private reorgsSeen = 0;
  private readonly prober?: Prober;
  private timing = { genesis: 0, epochLength: 1 };
  private timer?: NodeJS.Timeout;
  private busy = false;
  private stopping = false;
  private worker?: Promise<void>;
  /** Chain time at the last tick (0 before the first). */
  private now = 0;
  readonly stats = { audits: 0, failedChecks: 0, evidence: 0, cosigned: 0, submittedEvidence: 0, auditComputeMs: 0, auditPositions: 0, handed: 0 };

  /** `probe`: how to try every active server (prober.ts ledgerProbe); none: no liveness reports. */
  constructor(c: { node: PubSubNode; port: SettlementPort; auditor: Auditor; rechecker: Rechecker; domain: TypedDataDomain; probe?: Probe }, o: VerifierOptions) {
    this.node = c.node;
    this.port = c.port;
    this.auditor = c.auditor;
    this.rechecker = c.rechecker;
    this.domain = c.domain;
    this.o = o;
    this.topic = verifierTopic(BigInt(c.domain.chainId!), String(c.domain.verifyingContract));
    if (c.probe !== undefined) this.prober = new Prober({ probe: c.probe, timing: () => ({ now: this.now, ...this.timing }) }, { rounds: o.probesPerEpoch, secret: o.secret, say: (l) => this.say(l) });
    this.evidence = new EvidenceDuty({ port: c.port, rechecker: c.rechecker, domain: c.domain, say: (l) => this.say(l), publish: (g) => this.publish(g), stats: this.stats });
    const attestations = canAttest(c.port) ? (this.attestations = new EpochAttestations(c.port, (g) => this.publish(g))) : undefined;
    this.reports = new EpochReports(c.port, { aggregateAt: o.aggregateAt, fallbackAt: o.fallbackAt, say: (l) => this.say(l), publish: (g) => this.publish(g), attestations });
  }

  /** Report duties done so far (commitments, batches, reveals, settlements). */
  get reportStats(): EpochReports["stats"] {
    return this.reports.stats;
  }

  get gossipTopic(): string {
    return this.topic;
  }

  async start(): Promise<void> {
    this.timing = await this.port.timing();
    const pubsub = this.node.services.pubsub;
    pubsub.subscribe(this.topic);
    pubsub.addEventListener("message", (evt) => {
      if (evt.detail.topic !== this.topic) return;
      try {
        this.onGossip(JSON.parse(new TextDecoder().decode(evt.detail.data)) as Gossip);
      } catch {
        // not for us: ignore
      }
    });
    this.timer = setInterval(() => void this.tick(), 250);
    this.worker = this.work();
    this.prober?.start();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    if (this.timer) clearInterval(this.timer);
    while (this.busy) await new Promise((r) => setTimeout(r, 50));
    await this.worker;
    await this.prober?.stop();
  }

  /** A session a client handed in: checked like an audit of the current epoch. */
  async checkHanded(records: SessionRecord[], tokens: number[]): Promise<RecheckResult[]> {
    const epoch = this.epochAt(await this.port.now());
    const results: RecheckResult[] = [];
    for (const r of records) {
      const res = await this.rechecker.recheck(r, tokens, this.domain);
      results.push(res);
      await this.judge(epoch, r, tokens, res);
    }
    this.stats.handed++;
    return results;
  }

  private epochAt(now: number): number {
    return Math.floor((now - this.timing.genesis) / this.timing.epochLength);
  }

  /** Chain duties: short, every 250 ms, never behind an audit (their windows are half an epoch). */
  private async tick(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      const now = await this.port.now();
      const epoch = this.epochAt(now);
      const into = (now - this.timing.genesis - epoch * this.timing.epochLength) / this.timing.epochLength;
      this.now = now;
      if ((this.port.reorgs ?? 0) !== this.reorgsSeen) {
        this.reorgsSeen = this.port.reorgs ?? 0;
        this.reports.reorged(); // what it counted as committed, revealed or settled may be gone
      }
      // each duty on its own: one failing (a window missed, a transaction lost) stops none other
      if (epoch >= 1) await this.duty(() => this.reports.report(epoch - 1, into, () => this.results(epoch - 1)));
      if (epoch >= 2) await this.duty(() => this.settle(epoch - 2, into));
      await this.duty(() => this.evidence.submit(epoch));
      this.tallies.prune(epoch - 3);
      for (const e of this.plans.keys()) if (e < epoch - 1) this.plans.delete(e);
      this.reports.prune(epoch - 3);
    } catch (err) {
      this.say(`verifier: ${(err as Error).message}`);
    } finally {
      this.busy = false;
    }
  }

  /** A log line, stamped with the chain's epoch and the time into it. */
  private say(line: string): void {
    if (this.o.log === undefined) return;
    const t = this.now - this.timing.genesis;
    this.o.log(this.now > 0 ? `[epoch ${Math.floor(t / this.timing.epochLength)} +${(t % this.timing.epochLength).toFixed(0)}s] ${line}` : line);
  }

  private async duty(f: () => Promise<void>): Promise<void> {
    try {
      await f();
    } catch (err) {
      this.say(`verifier: ${(err as Error).message}`);
    }
  }

  /** Compute duties, one at a time: re-checking others' evidence first, then due audits. */
  private async work(): Promise<void> {
    while (!this.stopping) {
      try {
        if (this.evidence.pending) {
          await this.evidence.confirmNext();
          continue;
        }
        const now = this.now;
        if (now > 0) {
          const epoch = this.epochAt(now);
          await this.plan(epoch);
          if (await this.runDueAudit(epoch, now)) continue;
        }
      } catch (err) {
        this.say(`verifier: ${(err as Error).message}`);
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  /** Secret, fresh every epoch: the audit times and the prompt pool. */
  private async plan(epoch: number): Promise<void> {
    if (this.plans.has(epoch)) return;
    const seed = epochSeed(this.o.secret, epoch);
    const rand = seededRandom(seed);
    const start = this.timing.genesis + epoch * this.timing.epochLength;
    this.plans.set(epoch, { at: auditTimes(start, this.timing.epochLength, this.o.auditsPerEpoch ?? 2, rand), pool: await this.o.prompts(seed), rand });
  }

  private async runDueAudit(epoch: number, now: number): Promise<boolean> {
    const p = this.plans.get(epoch)!;
    if (p.at.length === 0 || p.at[0] > now) return false;
    p.at.shift();
    const plan = planAudit(p.pool, this.o.bos, this.o.contextLength, p.rand);
    const t0 = performance.now();
    const a = await this.auditor.audit(plan, p.rand);
    this.stats.audits++;
    if (a.error !== undefined) this.say(`audit: the session ended early: ${a.error}`);
    if (this.o.verbose) this.say(`audit: ${a.records.reduce((n, r) => n + r.steps.length, 0)} steps over ${a.records.map((r) => r.route.map((h) => `${h.start}-${h.end}@${h.peer.slice(-6)}`).join(" ")).join(", ")} in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    for (let i = 0; i < a.records.length; i++) await this.judge(epoch, a.records[i], a.tokens, a.results[i]);
    return true;
  }

  /** The port keeps what it found (at the confirmed block, forgotten on a deep reorg). */
  private async accountOf(peer: string): Promise<string | undefined> {
    return (await this.port.serverOfPeer(peer))?.toLowerCase();
  }

  /** Scores a re-check; a failure becomes evidence, co-signed by us and sent to the committee. */
  private async judge(epoch: number, record: SessionRecord, tokens: number[], r: RecheckResult): Promise<void> {
    const accounts = new Map<string, string | undefined>();
    for (const h of r.hops) accounts.set(h.peer, await this.accountOf(h.peer));
    this.tallies.add(epoch, r, (peer) => accounts.get(peer));
    this.stats.auditComputeMs += r.computeMs;
    this.stats.auditPositions += r.hops.reduce((a, h) => a + h.positions, 0);
    if (r.failure === undefined) return;
    this.stats.failedChecks++;
    const peer = record.route[r.failure.hop].peer;
    const server = accounts.get(peer);
    this.say(`check failed: ${peer.slice(-8)} (layers ${record.route[r.failure.hop].start}-${record.route[r.failure.hop].end}, server ${server ?? "unknown"}) at position ${r.failure.position}: error ${r.failure.error.toExponential(2)} > ${r.failure.tolerance}`);
    if (server === undefined) return;
    // a receipt signed in an epoch far from now cannot be brought as evidence (the ledger
    // takes only recent ones): say so rather than fail later on the committee's lookup
    const signedIn = record.steps[r.failure.step].receipts[r.failure.hop].epoch;
    if (signedIn > BigInt(epoch) + 1n || signedIn + 2n < BigInt(epoch)) {
      this.say(`check failed, but ${peer.slice(-8)} signed in epoch ${signedIn} (now ${epoch}): not usable as evidence`);
      return;
    }
    const ev = buildEvidence(this.domain, record, tokens, r.failure);
    this.stats.evidence++;
    await this.evidence.raise(ev, server);
  }

  private onGossip(g: Gossip): void {
    if (g.kind === "commitment" || g.kind === "reveal") this.reports.onGossip(g);
    else if (g.kind === "evidence" || g.kind === "cosign") this.evidence.onGossip(g);
    else if (g.kind === "attestation") this.attestations?.onGossip(g);
  }

  /** This verifier's report on `epoch`: what its audits found, the servers that answered
   * nothing all epoch (or, in tests, a lie). */
  private results(epoch: number) {
    const honest = withUnreachable(this.tallies.results(epoch), this.prober?.unreachable(epoch) ?? []);
    return this.o.lieAccBps === undefined ? honest : honest.map((x) => ({ ...x, accBps: this.o.lieAccBps! }));
  }

  private async settle(epoch: number, into: number): Promise<void> {
    const before = this.reports.stats.settlements;
    await this.reports.settle(epoch, into);
    // once an epoch: slashes whose challenge window has passed (the one who settles, or anyone late)
    if (this.slashesDoneFor !== epoch && (this.reports.stats.settlements > before || into >= 0.6)) {
      this.slashesDoneFor = epoch;
      await this.port.executeDueSlashes();
    }
  }

  private slashesDoneFor = -1;

  private async publish(g: Gossip): Promise<void> {
    await this.node.services.pubsub.publish(this.topic, new TextEncoder().encode(JSON.stringify(g))).catch(() => {});
  }
}
