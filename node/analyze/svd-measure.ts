// Paper §4.2 measured on a real model: the retained energy (Eq. 9) of every layer matrix at a
// share of its singular values, and the compressed model run end to end (the project's SVD
// compression and local ONNX engine): top-1 agreement with the dense model's greedy tokens
// and perplexity on them, beside Eq. 13's predicted accuracy.
import * as ort from "onnxruntime-node";
import { generate } from "../client/generate.ts";
import { openLocalEngine, type LocalEngine } from "../client/local.ts";
import type { LoadedModel } from "../model/types.ts";
import { argmax } from "../model/sampler.ts";
import { exactSvd, frobenius2 } from "../model/svd/decompose.ts";
import { compressionRatio, rankForShare, retainedEnergy } from "../model/svd/rank.ts";
import { LAYER_MATRICES, matrixShape, type LayerMatrix } from "../model/types.ts";
import { eq13Total } from "./svd-claims.ts";

export interface MatrixSpectrum {
  readonly layer: number;
  readonly matrix: LayerMatrix;
  readonly m: number;
  readonly n: number;
  readonly sigma: Float64Array;
  readonly total: number; // ‖W‖²_F
}

/** The full singular spectrum of every layer matrix (exact SVD: fine for small models). */
export function spectra(model: LoadedModel): MatrixSpectrum[] {
  const c = model.config;
  const out: MatrixSpectrum[] = [];
  for (let l = 0; l < c.nLayers; l++) {
    for (const matrix of LAYER_MATRICES) {
      const [m, n] = matrixShape(c, matrix);
      const w = model.weights.layers[l]![matrix];
      out.push({ layer: l, matrix, m, n, sigma: exactSvd(w, m, n).s, total: frobenius2(w) });
    }
  }
  return out;
}

export interface ShareStats {
  readonly share: number;
  readonly energy: { readonly min: number; readonly mean: number; readonly max: number };
  /** Eq. 10 over all matrices together: Σ(m + n + 1)k / Σ mn. */
  readonly ratio: number;
  /** Eq. 13 with each layer's matrices as its parts. */
  readonly eq13: number;
}

export function energyAtShare(sp: readonly MatrixSpectrum[], share: number): ShareStats {
  const energies = sp.map((s) => retainedEnergy(s.sigma, rankForShare(s.m, s.n, share), s.total));
  let stored = 0;
  let dense = 0;
  for (const s of sp) {
    const k = rankForShare(s.m, s.n, share);
    stored += compressionRatio(s.m, s.n, k) * s.m * s.n;
    dense += s.m * s.n;
  }
  const layers = [...new Set(sp.map((s) => s.layer))].map((l) => energies.filter((_, i) => sp[i].layer === l));
  return {
    share,
    energy: { min: Math.min(...energies), mean: energies.reduce((a, b) => a + b, 0) / energies.length, max: Math.max(...energies) },
    ratio: stored / dense,
    eq13: eq13Total(layers),
  };
}

/** Logits for every position of `ids` (teacher forcing) in one prefill. */
export async function allLogits(engine: LocalEngine, ids: number[]): Promise<Float32Array[]> {
  const c = engine.model.config;
  const e = await engine.client.embedding.run(new ort.Tensor("int64", BigInt64Array.from(ids.map(BigInt)), [1, ids.length]));
  const session = engine.session();
  const h = await session.step(e.data as Float32Array, ids.length);
  await session.close();
  const logits = (await engine.client.head.run(new ort.Tensor("float32", h, [1, ids.length, c.dim]))).data as Float32Array;
  return ids.map((_, i) => logits.subarray(i * c.vocabSize, (i + 1) * c.vocabSize));
}

/** Top-1 agreement with `seq`'s next tokens and perplexity on them. */
export function agreementAndPerplexity(logits: readonly Float32Array[], seq: readonly number[]): { agreement: number; perplexity: number } {
  let agree = 0;
  let nll = 0;
  for (let i = 0; i < logits.length; i++) {
    const l = logits[i];
    if (argmax(l) === seq[i + 1]) agree++;
    let max = -Infinity;
    for (const v of l) max = Math.max(max, v);
    let z = 0;
    for (const v of l) z += Math.exp(v - max);
    nll -= l[seq[i + 1]] - max - Math.log(z);
  }
  return { agreement: agree / logits.length, perplexity: Math.exp(nll / logits.length) };
}

export interface ModelRun {
  readonly share: number;
  readonly agreement: number;
  readonly perplexity: number;
}

/** The dense model's greedy text, then the model compressed at each share run on it. */
export async function runCompressed(file: string, shares: readonly number[], tokens: number): Promise<{ dense: { perplexity: number }; runs: ModelRun[] }> {
  const dense = await openLocalEngine(file);
  let seq: number[];
  let base: ReturnType<typeof agreementAndPerplexity>;
  try {
    const greedy = await generate(dense.client, dense.session(), { prompt: "", maxTokens: tokens, stopAtEos: false });
    seq = [dense.model.tokenizer.bos, ...greedy.tokens];
    base = agreementAndPerplexity(await allLogits(dense, seq.slice(0, -1)), seq);
  } finally {
    await dense.close();
  }
  const runs: ModelRun[] = [];
  for (const share of shares) {
    const engine = await openLocalEngine(file, { svd: { share } });
    try {
      runs.push({ share, ...agreementAndPerplexity(await allLogits(engine, seq.slice(0, -1)), seq) });
    } finally {
      await engine.close();
    }
  }
  return { dense: { perplexity: base.perplexity }, runs };
}
