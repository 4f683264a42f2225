// A Verifier's probe (paper §3.2): take a real prompt, compute the hidden state entering a
// server's range with its own reference copy, send it through an ordinary /efed/infer/1
// session (same protocol, a fresh session id), and compare the answer with its own
// recomputation of the server's layers.
import * as ort from "onnxruntime-node";
import type { LoadedModel } from "../model/load.ts";
import { buildEmbeddingGraph, buildShardGraph, denseSource } from "../model/onnx/layers.ts";
import { ClientGraph, ShardRunner, type Device } from "../model/onnx/runtime.ts";
import { RemoteSession } from "../client/remote.ts";
import type { RouteHop } from "../client/route.ts";
import type { EfedNode } from "../p2p/host.ts";
import { compareOutputs, DEFAULT_TOLERANCE, type Comparison, type Tolerance } from "./tolerance.ts";

export interface ProbeResult extends Partial<Comparison> {
  readonly pass: boolean;
  readonly positions: number;
  readonly error?: string;
  /** Verifier compute spent on the probe (reference layers), ms. */
  readonly computeMs: number;
}

export class Prober {
  private readonly model: LoadedModel;
  private readonly device: Device;
  private readonly tolerance: Tolerance;
  private readonly runners = new Map<string, Promise<ShardRunner>>();
  private embedding?: Promise<ClientGraph>;

  constructor(model: LoadedModel, o: { device?: Device; tolerance?: Tolerance } = {}) {
    this.model = model;
    this.device = o.device ?? "cpu";
    this.tolerance = o.tolerance ?? DEFAULT_TOLERANCE;
  }

  private runner(start: number, end: number): Promise<ShardRunner> {
    const key = `${start}-${end}`;
    let r = this.runners.get(key);
    if (r === undefined) {
      const c = this.model.config;
      const w = this.model.weights;
      const norms = (l: number) => ({ attnNorm: w.layers[l]!.attnNorm, ffnNorm: w.layers[l]!.ffnNorm });
      r = ShardRunner.create(c, start, end, buildShardGraph(c, { start, end, norms, linear: denseSource(w) }), this.device);
      this.runners.set(key, r);
    }
    return r;
  }

  /** The hidden states entering layer `start` for `tokens` (and the compute it took). */
  private async entering(tokens: number[], start: number): Promise<Float32Array> {
    this.embedding ??= ClientGraph.create(buildEmbeddingGraph(this.model.config, this.model.weights.embedding!), this.device);
    const e = await (await this.embedding).run(new ort.Tensor("int64", BigInt64Array.from(tokens.map(BigInt)), [1, tokens.length]));
    let x = e.data as Float32Array;
    if (start > 0) {
      const prefix = await this.runner(0, start);
      x = await prefix.step(prefix.newCache(), x, tokens.length);
    }
    return x;
  }

  async probe(node: EfedNode, hop: RouteHop, tokens: number[], timeoutMs = 10_000): Promise<ProbeResult> {
    const t0 = performance.now();
    const input = await this.entering(tokens, hop.start);
    const ref = await this.runner(hop.start, hop.end);
    const want = await ref.step(ref.newCache(), input, tokens.length);
    const computeMs = performance.now() - t0;
    const session = new RemoteSession(node, [hop], this.model.config.dim, { timeoutMs });
    try {
      await session.open();
      const got = await session.step(input, tokens.length);
      return { ...compareOutputs(got, want, this.tolerance), positions: tokens.length, computeMs };
    } catch (err) {
      return { pass: false, positions: tokens.length, error: (err as Error).message, computeMs };
    } finally {
      await session.close().catch(() => {});
    }
  }

  async close(): Promise<void> {
    for (const r of this.runners.values()) await (await r).release();
    await (await this.embedding)?.release();
  }
}
