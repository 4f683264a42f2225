// The Verifier's epoch loop (paper §3.2): probe every active server at jittered times during
// the epoch; when it ends, sign an EIP-712 attestation per server (acc = passed / probes)
// and share it on gossipsub; during the next epoch, the verifier chosen by rotation gathers a
// quorum and calls submitEpochs — and if it has not by the deadline, any other verifier does.
import type { Contract, Signer, TypedDataDomain } from "ethers";
import type { PubSubNode } from "../p2p/host.ts";
import { signAttestation } from "../chain/attestation.ts";
import { readCandidates } from "../chain/registry.ts";
import { explainReverts } from "../chain/revert.ts";
import type { Candidate } from "../client/route.ts";
import { AttestationPool } from "./pool.ts";
import type { Prober, ProbeResult } from "./prober.ts";

export interface VerifierOptions {
  readonly probesPerEpoch?: number; // per server
  readonly prompts: number[][]; // token sequences to probe with
  /** Fraction of the next epoch after which the rotation's aggregator submits, and after which anyone does. */
  readonly aggregateAt?: number;
  readonly fallbackAt?: number;
  readonly log?: (line: string) => void;
  readonly seed?: number;
  /** Test-only: report this accuracy whatever the probes say (a lying verifier). */
  readonly lieAccBps?: number;
}

interface Tally {
  probes: number;
  passed: number;
  positions: number;
}

export const attestationTopic = (chainId: bigint, ledger: string) => `/efed/attestations/1/${chainId}/${ledger.toLowerCase()}`;

export class VerifierDaemon {
  private readonly node: PubSubNode;
  private readonly ledger: Contract; // connected to the verifier's signer
  private readonly signer: Signer;
  private readonly domain: TypedDataDomain;
  private readonly prober: Prober;
  private readonly o: VerifierOptions;
  private readonly topic: string;
  private readonly pool: AttestationPool;
  private readonly tallies = new Map<string, Map<string, Tally>>(); // epoch → server → tally
  private readonly plans = new Map<string, { at: number; server: Candidate }[]>();
  private readonly attested = new Set<string>();
  private readonly submitted = new Set<string>();
  private verifiers = new Set<string>();
  private verifiersEpoch = -1;
  private timer?: NodeJS.Timeout;
  private busy = false;
  private rand: () => number;
  private genesis = 0;
  private epochLength = 1;
  private quorum = 1;
  readonly stats = { probes: 0, failed: 0, attestations: 0, submissions: 0, probeComputeMs: 0, probePositions: 0 };
  private address = "";

  constructor(c: { node: PubSubNode; ledger: Contract; signer: Signer; domain: TypedDataDomain; prober: Prober; chainId: bigint }, o: VerifierOptions) {
    this.node = c.node;
    this.ledger = c.ledger;
    this.signer = c.signer;
    this.domain = c.domain;
    this.prober = c.prober;
    this.o = o;
    this.topic = attestationTopic(c.chainId, String(c.domain.verifyingContract));
    this.pool = new AttestationPool(c.domain);
    let s = (o.seed ?? Date.now()) >>> 0 || 1;
    this.rand = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296);
  }

  async start(): Promise<void> {
    this.address = (await this.signer.getAddress()).toLowerCase();
    this.genesis = Number(await this.ledger.genesis());
    this.epochLength = Number(await this.ledger.epochLength());
    // TODO(lead): the ledger has no quorum any more: one committed-then-revealed report per
    // committee member per epoch (node/chain/settlement.ts: commitReport, revealReport,
    // settleEpoch, epochPhase); results need ≥ 2/3 of the committee stake.
    this.quorum = Number((await this.ledger.params()).quorum ?? 1);
    const pubsub = this.node.services.pubsub;
    pubsub.subscribe(this.topic);
    pubsub.addEventListener("message", (evt) => {
      if (evt.detail.topic !== this.topic) return;
      try {
        const a = JSON.parse(new TextDecoder().decode(evt.detail.data)) as Record<string, unknown>;
        this.pool.add(
          { epoch: BigInt(a.epoch as string), server: String(a.server), accBps: Number(a.accBps), probes: Number(a.probes), tokensServed: BigInt(a.tokensServed as string), signer: String(a.signer), signature: String(a.signature) },
          (v) => this.verifiers.has(v.toLowerCase()),
        );
      } catch {
        // not an attestation: ignore
      }
    });
    this.timer = setInterval(() => void this.tick(), 250);
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    while (this.busy) await new Promise((r) => setTimeout(r, 50));
  }

  /** Chain time: the latest block's timestamp (the local chain mines every second). */
  private async now(): Promise<number> {
    return (await this.ledger.runner!.provider!.getBlock("latest"))!.timestamp;
  }

  private async tick(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      const now = await this.now();
      const epoch = Math.floor((now - this.genesis) / this.epochLength);
      const into = (now - this.genesis - epoch * this.epochLength) / this.epochLength;
      if (this.verifiersEpoch !== epoch) {
        await this.refreshVerifiers();
        this.verifiersEpoch = epoch;
      }
      await this.plan(epoch);
      // settlement has a one-epoch window: attest and settle before probing, and probe in
      // bounded slices so a busy epoch never crowds it out
      if (epoch > 0) {
        await this.attest(epoch - 1);
        await this.settle(epoch - 1, into);
      }
      await this.runDueProbes(epoch, now, performance.now() + 1000);
      this.pool.prune(BigInt(Math.max(0, epoch - 2)));
    } catch (err) {
      this.o.log?.(`verifier: ${(err as Error).message}`);
    } finally {
      this.busy = false;
    }
  }

  /** The verifiers whose signatures the ledger accepts now: active, with enough stake. */
  private async refreshVerifiers(): Promise<void> {
    const all = (await this.ledger.allVerifiers()) as string[];
    const min = (await this.ledger.params()).minVerifierStake as bigint;
    const eligible = await Promise.all(
      all.map(async (a) => {
        const v = await this.ledger.getVerifier(a);
        return Number(v.status) === 1 && (v.stake as bigint) >= min ? a.toLowerCase() : undefined;
      }),
    );
    this.verifiers = new Set(eligible.filter((a): a is string => a !== undefined));
  }

  /** Probe times for the epoch: jittered over its first 70%, so probes look like traffic. */
  private async plan(epoch: number): Promise<void> {
    const key = String(epoch);
    if (this.plans.has(key)) return;
    const servers = await readCandidates(this.ledger);
    const start = this.genesis + epoch * this.epochLength;
    const plan: { at: number; server: Candidate }[] = [];
    for (const s of servers) {
      for (let i = 0; i < (this.o.probesPerEpoch ?? 3); i++) plan.push({ at: start + this.rand() * 0.7 * this.epochLength, server: s });
    }
    plan.sort((a, b) => a.at - b.at);
    this.plans.set(key, plan);
    for (const k of this.plans.keys()) if (Number(k) < epoch - 1) this.plans.delete(k);
  }

  private async runDueProbes(epoch: number, now: number, until: number): Promise<void> {
    const plan = this.plans.get(String(epoch))!;
    while (plan.length > 0 && plan[0].at <= now && performance.now() < until) {
      const planned = plan.shift()!.server;
      // the server's range now: it may have moved (reassignment) since the plan was made
      const s = await this.ledger.getServer(planned.account!);
      if (Number(s.status) !== 1) continue;
      const server = { ...planned, start: Number(s.start), end: Number(s.end), addrs: [...s.addrs] as string[] };
      const prompt = this.o.prompts[Math.floor(this.rand() * this.o.prompts.length)];
      const tokens = prompt.slice(0, Math.max(2, Math.ceil(prompt.length * (0.5 + 0.5 * this.rand()))));
      const r = await this.prober.probe(this.node, { peer: server.peer, addrs: server.addrs, start: server.start, end: server.end }, tokens);
      this.record(epoch, server, r);
    }
  }

  private record(epoch: number, server: Candidate, r: ProbeResult): void {
    const byServer = this.tallies.get(String(epoch)) ?? new Map<string, Tally>();
    const t = byServer.get(server.account!) ?? { probes: 0, passed: 0, positions: 0 };
    t.probes++;
    t.positions += r.positions;
    if (r.pass) t.passed++;
    byServer.set(server.account!, t);
    this.tallies.set(String(epoch), byServer);
    this.stats.probes++;
    this.stats.probeComputeMs += r.computeMs;
    this.stats.probePositions += r.positions;
    if (!r.pass) {
      this.stats.failed++;
      this.o.log?.(`probe of ${server.peer.slice(-8)} (layers ${server.start}-${server.end}) failed: ${r.error ?? `relative error ${r.relativeError?.toExponential(2)}, cosine distance ${r.cosineDistance?.toExponential(2)}`}`);
    }
  }

  /** Signs and shares one attestation per server probed in `epoch`. */
  private async attest(epoch: number): Promise<void> {
    if (this.attested.has(String(epoch))) return;
    this.attested.add(String(epoch));
    const byServer = this.tallies.get(String(epoch));
    if (byServer === undefined) return;
    for (const [account, t] of byServer) {
      const a = await signAttestation(this.signer, this.domain, {
        epoch: BigInt(epoch),
        server: account,
        accBps: this.o.lieAccBps ?? Math.round((10_000 * t.passed) / t.probes),
        probes: t.probes,
        tokensServed: BigInt(t.positions),
      });
      this.pool.add(a, () => true);
      this.stats.attestations++;
      const wire = { ...a, epoch: a.epoch.toString(), tokensServed: a.tokensServed.toString() };
      await this.node.services.pubsub.publish(this.topic, new TextEncoder().encode(JSON.stringify(wire))).catch(() => {});
    }
    this.tallies.delete(String(epoch));
  }

  /** The rotation's aggregator settles early; anyone settles after the fallback deadline. */
  private async settle(epoch: number, into: number): Promise<void> {
    const sorted = [...this.verifiers].sort();
    const aggregator = sorted[epoch % Math.max(1, sorted.length)];
    const mine = aggregator === this.address;
    if (into < (mine ? (this.o.aggregateAt ?? 0.25) : (this.o.fallbackAt ?? 0.6))) return;
    const ready = this.pool.ready(BigInt(epoch), this.quorum, (signer) => this.verifiers.has(signer));
    const pending: { server: string; reports: (typeof ready)[number]["reports"] }[] = [];
    for (const r of ready) {
      const key = `${epoch}:${r.server}`;
      if (this.submitted.has(key)) continue;
      const s = await this.ledger.getServer(r.server);
      if (s.lastSettledEpoch === BigInt(epoch) || (Number(s.status) !== 1 && Number(s.status) !== 2)) {
        this.submitted.add(key);
        continue;
      }
      pending.push(r);
    }
    if (pending.length === 0) return;
    try {
      // TODO(lead): submitEpochs is gone; settle with settleEpoch(ledger, epoch) from node/chain/settlement.ts
      await explainReverts(this.ledger.interface, async () => (await this.ledger.submitEpochs(epoch, pending.map((p) => p.server), pending.map((p) => p.reports))).wait());
      this.stats.submissions++;
      this.o.log?.(`settled epoch ${epoch} for ${pending.length} server(s)${mine ? "" : " (after the aggregator's deadline)"}`);
    } catch (err) {
      this.o.log?.(`settling epoch ${epoch}: ${(err as Error).message}`);
    }
    for (const p of pending) this.submitted.add(`${epoch}:${p.server}`);
  }
}
