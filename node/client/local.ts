// `efed generate --local`: the whole model in one process, split into k shards that run
// through exactly the code a swarm runs, so shard boundaries are exercised.
import { tmpdir } from "node:os";
import { isGguf, loadModel, type LoadedModel } from "../model/load.ts";
import { mapGgufClient, mapGgufLayers, type MappedLayers } from "../model/gguf-map.ts";
import { readGgufHeader } from "../model/gguf.ts";
import { denseSource, type LinearSource } from "../model/onnx/layers.ts";
import { ShardRunner, type Device, type KvCache, type SessionExtras } from "../model/onnx/runtime.ts";
import { closeClientModel, clientWeightsOf, openClientModel, type ClientWeights } from "./client-model.ts";
import { splitLayers } from "../model/partition.ts";
import { compressLayers, type MatrixReport, type SvdSpec } from "../model/svd/compress.ts";
import type { ClientModel, ShardChain } from "./generate.ts";

export interface LocalOptions {
  readonly shards?: number;
  readonly device?: Device;
  readonly svd?: SvdSpec;
  /** Run Q8_0, Q4_0, Q4_K and Q6_K weights (layers and output head) as MatMulNBits with int8
   * activations and gather a Q8_0 embedding's rows as int8 (default true), each taken from
   * the file as stored. Only here:
   * a swarm's servers and verifiers keep float graphs, because int8 activations do not
   * recompute within the audits' tolerance (quant.ts). */
  readonly quantized?: boolean;
  /** Run the layers as the fused graph where it runs (fused-layers.ts; default true): local
   * only, for the same reason. */
  readonly fused?: boolean;
  /** Keep onnxruntime's packed weights in this folder and map them on later loads
   * (pack-cache.ts: GGUF files only, about twice the layers' f32 bytes on disk). */
  readonly packCache?: string;
  /** Where a load says it is writing a packed copy (stderr for the CLI). */
  readonly say?: (line: string) => void;
}

export interface LocalEngine {
  /** The model; opened from a GGUF file, its f32 matrices stay in the file (weights is empty). */
  readonly model: LoadedModel;
  readonly client: ClientModel;
  readonly runners: ShardRunner[];
  readonly svdReport?: MatrixReport[];
  /** A fresh inference session through every shard. */
  session(): ShardChain & { readonly caches: KvCache[] };
  close(): Promise<void>;
}

export async function openLocalEngine(file: string, o: LocalOptions = {}): Promise<LocalEngine> {
  if (o.svd !== undefined || !isGguf(file)) {
    if (o.packCache !== undefined) throw new Error("--pack-cache keeps the packed weights of a GGUF model file's graph; it does not apply to other model files or SVD-compressed weights");
    return localEngineOf(await loadModel(file), o);
  }
  // a GGUF file's f32 matrices stay in the file (gguf-map.ts): onnxruntime reads them
  // itself; `model` then holds no weights
  const header = await readGgufHeader(file); // parsed once for both
  const quantized = o.quantized ?? true;
  const client = await mapGgufClient(file, { quantized, header });
  // matrices decoded to f32 (F16; with `quantized` false the quantized types too, and the f32
  // ones copied) go to a scratch file onnxruntime maps, not into the graph (protobuf's 2 GB
  // would cap such a model at ~500M parameters)
  const layers = await mapGgufLayers(file, 0, client.model.config.nLayers, { quantized, header, scratch: tmpdir(), say: o.say });
  // each part (layers, head) says what it does; a line about the folder itself, once
  const said = new Set<string>();
  const say = (line: string) => {
    if (!said.has(line)) o.say?.(line);
    said.add(line);
  };
  const pack = o.packCache === undefined ? undefined : (part: string): SessionExtras => ({ pack: { dir: o.packCache!, sources: [file], part }, say });
  try {
    const engine = await engineOf(client.model, layers, client, o, undefined, pack, () => layers.release());
    // every session it will ever have is open, and onnxruntime's mappings outlive the file's
    // name: the scratch file goes now, not at close (a killed run leaves none). Windows
    // keeps a mapped file, so there it goes at close.
    if (process.platform !== "win32") layers.release();
    return engine;
  } catch (err) {
    layers.release();
    throw err;
  }
}

/** A local engine over a model already in memory (a verifier reuses its reference copy). */
export async function localEngineOf(model: LoadedModel, o: LocalOptions = {}): Promise<LocalEngine> {
  const c = model.config;
  let source: LinearSource = denseSource(model.weights);
  let svdReport: MatrixReport[] | undefined;
  if (o.svd !== undefined) {
    const compressed = compressLayers(c, model.weights, 0, c.nLayers, o.svd);
    source = compressed.source;
    svdReport = compressed.report;
  }
  const norms = (l: number) => ({ attnNorm: model.weights.layers[l]!.attnNorm, ffnNorm: model.weights.layers[l]!.ffnNorm });
  return engineOf(model, { norms, linear: source }, clientWeightsOf(model), o, svdReport);
}

async function engineOf(model: LoadedModel, layers: Pick<MappedLayers, "norms" | "linear"> & { externalDir?: string }, cw: ClientWeights, o: LocalOptions, svdReport?: MatrixReport[], pack?: (part: string) => SessionExtras, release = () => {}): Promise<LocalEngine> {
  const c = model.config;
  const device = o.device ?? "cpu";
  const { norms, linear } = layers;
  const runners = await Promise.all(
    splitLayers(c.nLayers, o.shards ?? 1).map(([start, end]) =>
      ShardRunner.open(c, { start, end, norms, linear, quantized: o.quantized ?? true, fused: o.fused ?? true }, device, layers.externalDir, pack?.(`layers-${start}-${end}`)),
    ),
  );
  const client = await openClientModel(model, device, cw, { quantized: o.quantized ?? true, head: pack?.("head") });
  return {
    model,
    client,
    runners,
    svdReport,
    session() {
      const caches = runners.map((r) => r.newCache());
      return {
        caches,
        async step(hidden: Float32Array, seq: number) {
          let h = hidden;
          for (let i = 0; i < runners.length; i++) h = await runners[i].step(caches[i], h, seq);
          return h;
        },
        async close() {},
      };
    },
    async close() {
      try {
        await Promise.all([...runners.map((r) => r.release()), closeClientModel(client)]);
      } finally {
        release();
      }
    },
  };
}
