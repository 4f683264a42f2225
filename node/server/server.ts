// A Server's parts put together: its layers of the model as an ONNX shard (from a local
// file, or fetched from a peer over /efed/weights/1), a libp2p node, the /efed/infer/1
// service, and — when it holds the whole model and shares it — /efed/weights/1.
import type { PrivateKey } from "@libp2p/interface";
import type { TypedDataDomain } from "ethers";
import { generateKeyPair } from "@libp2p/crypto/keys";
import { tmpdir } from "node:os";
import { LOCAL_DOMAIN, ReceiptSigner } from "../swarm/receipt.ts";
import { faultTransform, type Fault } from "./faults.ts";
import { isGguf, loadModel } from "../model/load.ts";
import { mapGgufLayers } from "../model/gguf-map.ts";
import { buildShardGraph, denseSource, type LinearSource, type ShardGraphOptions } from "../model/onnx/layers.ts";
import { buildFusedShardGraph, fusedGraphRuns } from "../model/onnx/fused-layers.ts";
import { DEFAULT_BATCH_THREADS, ShardRunner, type Device, type ShardCompute } from "../model/onnx/runtime.ts";
import { BatchRunner, DEFAULT_MAX_BATCH } from "../model/onnx/batch-runner.ts";
import { WorkerShard } from "../model/onnx/worker-shard.ts";
import { createNode, type EfedNode } from "../p2p/host.ts";
import { InferService, type InferServiceOptions } from "./infer-service.ts";
import { fetchLayersFromAny, type FetchedLayers } from "./weights-fetch.ts";
import type { ProgressFactory, StepProgress } from "./progress.ts";
import { WeightsService } from "./weights-service.ts";
import type { LlamaConfig } from "../model/types.ts";

export interface WeightsFrom {
  /** Multiaddrs of peers that may share the model, each ending in /p2p/<peer id>, tried in order. */
  readonly providers: readonly string[];
  /** Dense weights (checked against the manifest), or SVD factors at this energy. */
  readonly svdEnergy?: number;
  /** The ledger's model hash, to check the provider's manifest against. */
  readonly expectedRoot?: string;
}

export interface ServerOptions extends Omit<InferServiceOptions, "receipts"> {
  /** The ledger's EIP-712 domain receipts are signed under (a local test domain by default). */
  readonly receiptDomain?: TypedDataDomain;
  /** The ledger epoch now (0 without a ledger). */
  readonly epoch?: () => bigint;
  readonly layers: readonly [number, number];
  readonly model?: string;
  readonly weightsFrom?: WeightsFrom;
  /** Load the whole model and serve it to other servers over /efed/weights/1. */
  readonly shareWeights?: boolean;
  /** Load the whole model so the server can move to other layers (reassignment). */
  readonly wholeModel?: boolean;
  readonly device?: Device;
  readonly listen?: string[];
  /** Addresses others reach this server at, announced instead of the listen addresses. */
  readonly announce?: string[];
  /** Offer circuit relay v2 to nodes behind NAT. */
  readonly relay?: boolean;
  readonly privateKey?: PrivateKey;
  /** Misbehave (tests and demos): see faults.ts. */
  readonly fault?: Fault;
  /** Shows the progress of loading or fetching the weights (bytes and rate). */
  readonly progress?: ProgressFactory;
  /** Worker threads computing the shard (each holds its own copy of the weights); 0 computes
   * on the event loop, as before (kept for the benchmark's comparison). 1 by default. */
  readonly workers?: number;
  /** Decode steps of concurrent sessions computed in one run, at most (continuous batching,
   * model/onnx/batch-runner.ts); 1 computes each step alone, as before. 16 by default. */
  readonly maxBatch?: number;
  /** CPU threads a batched run of several sessions' rows computes with (a second onnxruntime
   * session, a second copy of the layers, where it differs from `--threads`); 1 by default
   * (model/onnx/runtime.ts DEFAULT_BATCH_THREADS). */
  readonly batchThreads?: number;
}

/** Builds the compute of layers [start, end): the batched graph unless `maxBatch` is 1,
 * with fused operators where they run (fused-layers.ts: CPU, head size a multiple of 16;
 * batched, its rows are exactly each session alone), else plain (layers.ts). External
 * weights, if any, are read from `externalDir`. */
function openShard(o: ServerOptions, c: LlamaConfig, g: Omit<ShardGraphOptions, "batched">, externalDir?: string): Promise<ShardCompute> {
  const workers = o.workers ?? 1;
  const maxBatch = o.maxBatch ?? DEFAULT_MAX_BATCH;
  const device = o.device ?? "cpu";
  const fused = fusedGraphRuns(c, device);
  const model = (fused ? buildFusedShardGraph : buildShardGraph)(c, { ...g, batched: maxBatch > 1 });
  const padding = fused ? "right" : "left";
  const batchThreads = o.batchThreads ?? DEFAULT_BATCH_THREADS;
  if (workers > 0) return WorkerShard.create(c, g.start, g.end, model, device, workers, maxBatch, externalDir, batchThreads, padding);
  return maxBatch > 1 ? BatchRunner.create(c, g.start, g.end, model, device, maxBatch, externalDir, batchThreads, padding) : ShardRunner.create(c, g.start, g.end, model, device, externalDir, fused);
}

export interface RunningServer {
  readonly node: EfedNode;
  readonly runner: ShardCompute;
  readonly service: InferService;
  readonly weights?: WeightsService;
  readonly fetched?: FetchedLayers;
  readonly config: LlamaConfig;
  /** Multiaddrs to announce, each ending in /p2p/<peer id>. */
  addrs(): string[];
  /** Serves layers [start, end) from now on (needs the whole model loaded). */
  switchLayers(start: number, end: number): Promise<void>;
  stop(graceMs?: number): Promise<void>;
}

export async function startServer(o: ServerOptions): Promise<RunningServer> {
  const [start, end] = o.layers;
  if ((o.model === undefined) === (o.weightsFrom === undefined)) throw new Error("a server needs either a model file or a weights provider");
  if (o.weightsFrom !== undefined && o.shareWeights) throw new Error("only a server with the model file can share weights");
  let node: EfedNode | undefined;
  let src: ShardSource | undefined;
  const privateKey = o.privateKey ?? (await generateKeyPair("secp256k1"));
  if (privateKey.type !== "secp256k1") throw new Error(`the node key is ${privateKey.type}; servers sign receipts with a secp256k1 key (delete the key file to make one)`);
  const receipts = { signer: new ReceiptSigner(privateKey.raw, o.receiptDomain ?? LOCAL_DOMAIN), epoch: o.epoch ?? (() => 0n) };
  try {
    node = await createNode({ privateKey, listen: o.listen ?? ["/ip4/127.0.0.1/tcp/0"], announce: o.announce, relay: o.relay });
    src = o.model !== undefined ? await fromFile(o, node) : await fromPeer(o, node);
    const loaded = src;
    const { config: c, weights, fetched, build } = src;
    let runner = await openShard(o, c, { start, end, norms: src.norms, linear: src.linear }, src.externalDir);
    const retired: ShardCompute[] = [];
    let transform = o.transform;
    if (o.fault !== undefined) {
      // skip-layer runs one layer less than it claims (with a single layer: none at all)
      const short = o.fault.kind === "skip-layer" && end - start > 1 ? await ShardRunner.open(c, { start, end: end - 1, norms: src.norms, linear: src.linear }, o.device ?? "cpu", src.externalDir) : undefined;
      const inner = faultTransform(o.fault, Date.now(), short);
      transform = o.fault.kind === "skip-layer" && short === undefined ? async (_out, input) => Float32Array.from(input) : inner;
    }
    const service = new InferService({ node, runner }, { ...o, transform, receipts });
    await service.start();
    await weights?.start();
    const n = node;
    return {
      node: n,
      get runner() {
        return runner;
      },
      service,
      weights,
      fetched,
      config: c,
      addrs: () => n.getMultiaddrs().map(String),
      async switchLayers(a: number, b: number) {
        if (build === undefined) throw new Error("moving to other layers needs the whole model (--auto-cover loads it)");
        if (b > c.nLayers || a >= b) throw new Error(`layers ${a}-${b} are outside the model's ${c.nLayers}`);
        const next = await build(a, b);
        retired.push(runner); // open sessions still use it; released at stop
        runner = next;
        service.setRunner(next);
      },
      async stop(graceMs = 5000) {
        await weights?.stop();
        await service.stop(graceMs);
        await n.stop();
        for (const r of [runner, ...retired]) await r.release();
        loaded.release?.();
      },
    };
  } catch (err) {
    await node?.stop();
    src?.release?.();
    throw err;
  }
}

/** Where a server's layers come from. `src` is dropped once the runners are built, so a
 * server that loaded only its layers keeps no JS copy of them (onnxruntime holds its own);
 * `build` keeps the whole model, for servers that move to other layers. */
interface ShardSource {
  readonly config: LlamaConfig;
  readonly norms: (l: number) => { attnNorm: Float32Array; ffnNorm: Float32Array };
  readonly linear: LinearSource;
  /** Where the layers' mapped matrices are (gguf-map.ts). */
  readonly externalDir?: string;
  readonly weights?: WeightsService;
  readonly fetched?: FetchedLayers;
  readonly build?: (a: number, b: number) => Promise<ShardCompute>;
  /** Removes what loading left on disk (the scratch file of decoded layers), once no session
   * will be opened from the graph again. */
  readonly release?: () => void;
}

async function fromFile(o: ServerOptions, node: EfedNode): Promise<ShardSource> {
  const [start, end] = o.layers;
  const whole = o.shareWeights === true || o.wholeModel === true;
  const p = o.progress?.(whole ? `loading ${o.model}` : `loading layers ${start}-${end} of ${o.model}`);
  if (!whole && isGguf(o.model!)) {
    // only its layers, left in the file: onnxruntime reads them while it packs them
    const m = await step(p, async () => {
      // a Q8_0 (or F16) file's layers decoded to a scratch file onnxruntime maps (gguf-map.ts)
      const m = await mapGgufLayers(o.model!, start, end, { scratch: tmpdir(), say: o.log });
      p?.update(m.bytes, m.bytes);
      return m;
    });
    return { config: m.config, norms: m.norms, linear: m.linear, externalDir: m.externalDir, release: m.release };
  }
  const m = await step(p, () => loadModel(o.model!, whole ? {} : { layers: o.layers, client: false }, { onBytes: p?.update }));
  const c = m.config;
  if (end > c.nLayers) throw new Error(`layers ${start}-${end} are outside the model's ${c.nLayers} layers`);
  const norms = (l: number) => ({ attnNorm: m.weights.layers[l]!.attnNorm, ffnNorm: m.weights.layers[l]!.ffnNorm });
  const linear = denseSource(m.weights);
  const weights = o.shareWeights ? new WeightsService({ node, model: m }) : undefined;
  const build = whole ? (a: number, b: number) => openShard(o, c, { start: a, end: b, norms, linear }) : undefined;
  return { config: c, norms, linear, weights, build };
}

async function fromPeer(o: ServerOptions, node: EfedNode): Promise<ShardSource> {
  const [start, end] = o.layers;
  const w = o.weightsFrom!;
  const p = o.progress?.(`fetching layers ${start}-${end}`);
  const f = await step(p, () => fetchLayersFromAny(node, w.providers, { start, end, format: w.svdEnergy === undefined ? "dense" : "svd", energy: w.svdEnergy }, w.expectedRoot, p?.update));
  return { config: f.config, norms: (l) => f.norms.get(l)!, linear: (l, m) => f.linears.get(`${l}.${m}`)!, fetched: f };
}

/** Runs a long step; its progress line ends either way (a failure is said by the caller). */
async function step<T>(p: StepProgress | undefined, f: () => Promise<T>): Promise<T> {
  try {
    return await f();
  } finally {
    p?.done();
  }
}

/** Layer-tokens per second of a runner, from a few single-position steps. */
export async function measureThroughput(runner: ShardCompute, steps = 16): Promise<number> {
  const cache = runner.newCache();
  const x = new Float32Array(runner.config.dim).fill(0.01);
  await runner.step(cache, x, 1);
  const t = performance.now();
  for (let i = 0; i < steps; i++) await runner.step(cache, x, 1);
  const seconds = (performance.now() - t) / 1000;
  cache.release?.();
  return Math.max(1, Math.floor(((runner.end - runner.start) * steps) / seconds));
}
