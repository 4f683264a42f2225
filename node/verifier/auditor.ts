// Audits are ordinary client sessions (mystery shoppers): a fresh libp2p identity for each,
// a route from the client's own routing code, a secret prompt, prefill then decode steps
// sampled like a client's, through the same FailoverChain a user's `efed generate` uses.
// Nothing a server can observe — caller, route position, step pattern, prompt, timing, frame
// sizes — differs from real use. Afterwards the verifier re-checks every hop of every step.
import type { Contract, TypedDataDomain } from "ethers";
import type { ConfirmedReader } from "../chain/confirmed.ts";
import type { LoadedModel } from "../model/types.ts";
import type { Device } from "../model/onnx/runtime.ts";
import { createNode } from "../p2p/host.ts";
import { generate, type ClientModel } from "../client/generate.ts";
import { routeFinder } from "../client/network.ts";
import { FailoverChain, type SessionRecord } from "../client/remote.ts";
import type { RouteHop } from "../swarm/types.ts";
import type { Rechecker, RecheckResult } from "./recheck.ts";
import type { AuditPlan } from "./plan.ts";
import { closeClientModel, openClientModel } from "../client/client-model.ts";

export interface AuditOutcome {
  readonly records: SessionRecord[];
  /** Every position's token id sent through the swarm. */
  readonly tokens: number[];
  readonly results: RecheckResult[];
  /** Why the session itself failed (no route, every hop failed…), if it did. */
  readonly error?: string;
}

/** Where an audit's routes come from (the ledger for real; a fixed list in tests). */
export type RouteSource = (node: Awaited<ReturnType<typeof createNode>>, rand: () => number) => (exclude: ReadonlySet<string>) => Promise<RouteHop[]>;

/** Routes over the servers of the confirmed block when `confirmed` is given (as a client's):
 * a server whose registration or layer range a reorg may drop is not audited on it. */
export function ledgerRoutes(ledger: Contract, numLayers: number, confirmed?: ConfirmedReader): RouteSource {
  return (node, rand) => routeFinder(node, ledger, numLayers, rand, confirmed);
}

export class Auditor {
  private readonly client: Promise<ClientModel>;
  private readonly dim: number;
  private readonly routes: RouteSource;
  private readonly domain: TypedDataDomain;
  private readonly rechecker: Rechecker;
  private readonly timeoutMs: number;

  private readonly epoch?: () => bigint;

  /** `epoch`: the ledger's epoch, which audited receipts must be signed in. */
  constructor(c: { model: LoadedModel; routes: RouteSource; domain: TypedDataDomain; rechecker: Rechecker; device?: Device; epoch?: () => bigint }, o: { timeoutMs?: number } = {}) {
    this.epoch = c.epoch;
    const m = c.model;
    const device = c.device ?? "cpu";
    this.dim = m.config.dim;
    this.client = openClientModel(m, device);
    this.routes = c.routes;
    this.domain = c.domain;
    this.rechecker = c.rechecker;
    this.timeoutMs = o.timeoutMs ?? 30_000;
  }

  async audit(plan: AuditPlan, rand: () => number): Promise<AuditOutcome> {
    const node = await createNode(); // a fresh identity, as every `efed generate` run has
    const chain = new FailoverChain(node, this.dim, { route: this.routes(node, rand), domain: this.domain, timeoutMs: this.timeoutMs, epoch: this.epoch });
    const tokens = [...plan.promptIds];
    let error: string | undefined;
    try {
      await generate(await this.client, chain, { prompt: "", promptIds: plan.promptIds, maxTokens: plan.maxTokens, temperature: plan.temperature, topP: plan.topP, seed: plan.seed, onToken: (id) => tokens.push(id) });
    } catch (err) {
      error = (err as Error).message;
    } finally {
      await chain.close().catch(() => {});
      await Promise.resolve(node.stop()).catch(() => {});
    }
    const results: RecheckResult[] = [];
    for (const record of chain.records) results.push(await this.rechecker.recheck(record, tokens, this.domain));
    return { records: chain.records, tokens, results, error };
  }

  async close(): Promise<void> {
    await closeClientModel(await this.client);
  }
}
