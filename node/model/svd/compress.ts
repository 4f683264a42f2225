// SVD-compressing every matrix of the loaded layers, with the per-matrix report (k, P, CR).
import { exactSvd, frobenius2, randomizedSvd, type Svd } from "./decompose.ts";
import { toLinear, truncate, type SvdFactors } from "./factors.ts";
import { compressionRatio, rankForEnergy, rankForRatio, rankForShare, retainedEnergy } from "./rank.ts";
import type { Linear, LinearSource } from "../onnx/layers.ts";
import { LAYER_MATRICES, matrixShape, type LayerMatrix, type LlamaConfig, type LlamaWeights } from "../types.ts";

/** Keep energy e (Eq. 12), a compression ratio (Eq. 15), or a share of the singular values. */
export type SvdSpec = { readonly energy: number } | { readonly ratio: number } | { readonly share: number };

export interface MatrixReport {
  readonly layer: number;
  readonly matrix: LayerMatrix;
  readonly m: number;
  readonly n: number;
  readonly k: number;
  readonly energy: number; // P, Eq. 9
  readonly ratio: number; // CR, Eq. 10
  readonly runs: "factored" | "dense";
}

/** Matrices up to this size use the exact SVD; larger ones the randomized one. */
const EXACT_LIMIT = 512;

function fixedRank(m: number, n: number, spec: { ratio: number } | { share: number }): number {
  return "ratio" in spec ? rankForRatio(m, n, spec.ratio) : rankForShare(m, n, spec.share);
}

function decompose(w: Float32Array, m: number, n: number, spec: SvdSpec): { svd: Svd; k: number; total: number } {
  const total = frobenius2(w);
  if (Math.min(m, n) <= EXACT_LIMIT || ("energy" in spec && spec.energy === 1)) {
    const svd = exactSvd(w, m, n);
    const k = "energy" in spec ? rankForEnergy(svd.s, spec.energy) : fixedRank(m, n, spec);
    return { svd, k, total };
  }
  if (!("energy" in spec)) {
    const k = fixedRank(m, n, spec);
    return { svd: randomizedSvd(w, m, n, k), k, total };
  }
  // energy with a partial spectrum: grow the computed rank until it holds e·‖W‖²_F
  for (let k = Math.max(8, Math.ceil(Math.min(m, n) / 8)); ; k = Math.min(Math.min(m, n), 2 * k)) {
    const svd = randomizedSvd(w, m, n, k);
    const need = rankForEnergy(svd.s, spec.energy, total);
    if (retainedEnergy(svd.s, need, total) >= spec.energy || k === Math.min(m, n)) return { svd, k: need, total };
  }
}

export interface CompressedLayers {
  readonly source: LinearSource;
  readonly factors: Map<string, SvdFactors>;
  readonly report: MatrixReport[];
}

export function compressLayers(c: LlamaConfig, w: LlamaWeights, start: number, end: number, spec: SvdSpec): CompressedLayers {
  const linears = new Map<string, Linear>();
  const factors = new Map<string, SvdFactors>();
  const report: MatrixReport[] = [];
  for (let l = start; l < end; l++) {
    for (const name of LAYER_MATRICES) {
      const [m, n] = matrixShape(c, name);
      const { svd, k, total } = decompose(w.layers[l]![name], m, n, spec);
      const f = truncate(svd, k);
      const lin = toLinear(f);
      factors.set(`${l}.${name}`, f);
      linears.set(`${l}.${name}`, lin);
      report.push({ layer: l, matrix: name, m, n, k, energy: retainedEnergy(svd.s, k, total), ratio: compressionRatio(m, n, k), runs: lin.kind });
    }
  }
  return { source: (l, m) => linears.get(`${l}.${m}`)!, factors, report };
}
