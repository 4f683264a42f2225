// §4.2–4.3 measured: bytes a real /efed/weights/1 transfer moves for dense and SVD weights
// (an in-process WeightsService and fetchLayers over loopback TCP, as a server fetching its
// layers does), and the time of a dense layer against a factored one on onnxruntime.
import { fetchLayers } from "../server/weights-fetch.ts";
import { WeightsService } from "../server/weights-service.ts";
import { createNode } from "../p2p/host.ts";
import type { LoadedModel } from "../model/types.ts";
import type { Linear } from "../model/onnx/layers.ts";
import { ShardRunner } from "../model/onnx/runtime.ts";
import { rankForRatio } from "../model/svd/rank.ts";
import { normal } from "../model/random.ts";
import { LAYER_MATRICES, matrixShape, type LlamaConfig } from "../model/types.ts";

export interface TransferRow {
  readonly format: "dense" | "svd";
  readonly ratio?: number;
  /** Tensor payload bytes received, and every byte on the stream (headers, framing). */
  readonly bytes: number;
  readonly wireBytes: number;
  /** Payload predicted: norms + mn per dense matrix, or (m + n + 1)k̂ by Eq. 10 / 15, × 4 bytes. */
  readonly predictedBytes: number;
  readonly ms: number;
}

/** Fetches layers [0, L) dense and at each compression ratio from a WeightsService on loopback. */
export async function measureTransfers(model: LoadedModel, ratios: readonly number[]): Promise<TransferRow[]> {
  const c = model.config;
  const provider = await createNode({ listen: ["/ip4/127.0.0.1/tcp/0"] });
  const client = await createNode();
  const service = new WeightsService({ node: provider, model });
  await service.start();
  try {
    const addr = provider.getMultiaddrs()[0].toString(); // includes /p2p/<peer id>
    const norms = 2 * c.dim * c.nLayers;
    const predict = (k?: (m: number, n: number) => number) => {
      let numbers = norms;
      for (const name of LAYER_MATRICES) {
        const [m, n] = matrixShape(c, name);
        numbers += c.nLayers * (k === undefined ? m * n : (m + n + 1) * k(m, n));
      }
      return 4 * numbers;
    };
    const rows: TransferRow[] = [];
    for (const ratio of [undefined, ...ratios]) {
      const t = performance.now();
      const f = ratio === undefined
        ? await fetchLayers(client, addr, { start: 0, end: c.nLayers, format: "dense" }, service.root)
        : await fetchLayers(client, addr, { start: 0, end: c.nLayers, format: "svd", ratio });
      const ms = performance.now() - t;
      rows.push({
        format: ratio === undefined ? "dense" : "svd",
        ratio,
        bytes: f.bytes,
        wireBytes: f.wireBytes,
        predictedBytes: predict(ratio === undefined ? undefined : (m, n) => rankForRatio(m, n, ratio)),
        ms,
      });
    }
    return rows;
  } finally {
    await service.stop();
    await Promise.all([client.stop(), provider.stop()]);
  }
}

export interface LayerTiming {
  readonly ratio?: number; // undefined: dense
  readonly prefillMs: number; // t positions at once
  readonly decodeMs: number; // one position
}

/** A one-layer config of the given widths (heads of 64). */
export function layerConfig(dim: number, hiddenDim: number): LlamaConfig {
  const heads = Math.max(1, dim / 64);
  return { dim, hiddenDim, nLayers: 1, nHeads: heads, nKvHeads: heads, headSize: dim / heads, vocabSize: 256, contextLength: 512, normEps: 1e-5, ropeTheta: 10000, ropeLayout: "halves" };
}

/**
 * Times one transformer layer on onnxruntime (CPU) with dense matrices and with factored
 * ones of rank k̂ (Eq. 15) at each ratio. The factors are random: the time depends only on
 * the shapes. The variants run interleaved, round after round, so that load from other
 * processes falls on all of them alike; each reports its fastest round (the least disturbed).
 */
export async function timeLayers(c: LlamaConfig, ratios: readonly number[], t: number, reps: number): Promise<LayerTiming[]> {
  const rand = normal(7);
  const fill = (len: number) => Float32Array.from({ length: len }, () => rand() * 0.02);
  const norms = () => ({ attnNorm: new Float32Array(c.dim).fill(1), ffnNorm: new Float32Array(c.dim).fill(1) });
  const variants = [undefined, ...ratios];
  const runners: ShardRunner[] = [];
  try {
    for (const ratio of variants) {
      const linears = new Map<string, Linear>();
      for (const name of LAYER_MATRICES) {
        const [m, n] = matrixShape(c, name);
        if (ratio === undefined) {
          linears.set(name, { kind: "dense", w: fill(m * n) });
        } else {
          const k = rankForRatio(m, n, ratio);
          linears.set(name, { kind: "factored", a: fill(n * k), b: fill(k * m), rank: k });
        }
      }
      runners.push(await ShardRunner.open(c, { start: 0, end: 1, norms, linear: (_l, m) => linears.get(m)! }, "cpu"));
    }
    const x = fill(t * c.dim);
    const prefill = variants.map(() => Infinity);
    const decode = variants.map(() => Infinity);
    for (let r = 0; r <= reps; r++) {
      for (let v = 0; v < runners.length; v++) {
        const cache = runners[v].newCache();
        let s = performance.now();
        await runners[v].step(cache, x, t);
        const p = performance.now() - s;
        s = performance.now();
        await runners[v].step(cache, x.subarray(0, c.dim), 1);
        const d = performance.now() - s;
        if (r === 0) continue; // the first round warms up
        prefill[v] = Math.min(prefill[v], p);
        decode[v] = Math.min(decode[v], d);
      }
    }
    return variants.map((ratio, v) => ({ ratio, prefillMs: prefill[v], decodeMs: decode[v] }));
  } finally {
    for (const r of runners) await r.release();
  }
}
