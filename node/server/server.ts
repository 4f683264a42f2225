// A Server's parts put together: its layers of the model as an ONNX shard, a libp2p node,
// and the /efed/infer/1 service. Chain registration lives in the CLI (roles/server).
import type { PrivateKey } from "@libp2p/interface";
import { loadModel } from "../model/load.ts";
import { buildShardGraph, denseSource } from "../model/onnx/layers.ts";
import { ShardRunner, type Device } from "../model/onnx/runtime.ts";
import { createNode, type EfedNode } from "../p2p/host.ts";
import { InferService, type InferServiceOptions } from "./infer-service.ts";
import type { LlamaConfig } from "../model/types.ts";

export interface ServerOptions extends InferServiceOptions {
  readonly model: string;
  readonly layers: readonly [number, number];
  readonly device?: Device;
  readonly listen?: string[];
  readonly privateKey?: PrivateKey;
}

export interface RunningServer {
  readonly node: EfedNode;
  readonly runner: ShardRunner;
  readonly service: InferService;
  readonly config: LlamaConfig;
  /** Multiaddrs to announce, each ending in /p2p/<peer id>. */
  addrs(): string[];
  stop(graceMs?: number): Promise<void>;
}

export async function startServer(o: ServerOptions): Promise<RunningServer> {
  const m = await loadModel(o.model, { layers: o.layers, client: false });
  const c = m.config;
  const [start, end] = o.layers;
  const norms = (l: number) => ({ attnNorm: m.weights.layers[l]!.attnNorm, ffnNorm: m.weights.layers[l]!.ffnNorm });
  const runner = await ShardRunner.create(c, start, end, buildShardGraph(c, { start, end, norms, linear: denseSource(m.weights) }), o.device ?? "cpu");
  const node = await createNode({ privateKey: o.privateKey, listen: o.listen ?? ["/ip4/127.0.0.1/tcp/0"] });
  const service = new InferService({ node, runner }, o);
  await service.start();
  return {
    node,
    runner,
    service,
    config: c,
    addrs: () => node.getMultiaddrs().map(String),
    async stop(graceMs = 5000) {
      await service.stop(graceMs);
      await node.stop();
      await runner.release();
    },
  };
}

/** Layer-tokens per second of a runner, from a few single-position steps. */
export async function measureThroughput(runner: ShardRunner, steps = 16): Promise<number> {
  const cache = runner.newCache();
  const x = new Float32Array(runner.config.dim).fill(0.01);
  await runner.step(cache, x, 1);
  const t = performance.now();
  for (let i = 0; i < steps; i++) await runner.step(cache, x, 1);
  const seconds = (performance.now() - t) / 1000;
  return Math.max(1, Math.floor(((runner.end - runner.start) * steps) / seconds));
}
