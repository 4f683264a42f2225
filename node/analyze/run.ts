// Everything `efed analyze` reports, gathered in one object: the paper's figures, the same
// figures recomputed from its formulas, and their counterparts measured on this system.
import { loadModel } from "../model/load.ts";
import { bandwidthReduction, BERT, READINGS, T_VALUES, table3, type Table3Row } from "./bandwidth.ts";
import { table2Row, TABLE2_PAPER, theoremReduction, tiledGlobalReads, type Table2Row } from "./memory-hierarchy.ts";
import { centralizedMultiply, hierarchicalMultiply, operands, type MultiplyCounts } from "./memory-sim.ts";
import { scoreMatrix, softmaxError, softmaxShareOfLayer, verifierCosts, type SoftmaxError, type VerifierCost } from "./softmax-cost.ts";
import { compressionRatio, GPT2_EXAMPLE, rankForShare, savingAtShare, textRatio } from "./svd-claims.ts";
import { energyAtShare, runCompressed, spectra, type ModelRun, type ShareStats } from "./svd-measure.ts";
import { layerConfig, measureTransfers, timeLayers, type LayerTiming, type TransferRow } from "./transfer.ts";

export interface AnalyzeOptions {
  readonly model: string;
  /** Smaller measurements (tests, a first look): fewer tokens, shares, repetitions, a smaller layer. */
  readonly quick?: boolean;
  readonly log?: (line: string) => void;
}

export interface CountedRun {
  readonly m: number;
  readonly n: number;
  readonly k: number;
  readonly computed: boolean; // false: counted without computing the products
  readonly centralized: MultiplyCounts | { readonly globalReads: number }; // counted, or 2mnk when too large to run
  readonly hierarchical: MultiplyCounts;
  readonly theorem: number; // Eq. 6
  readonly counted: number; // 1 − hierarchical / centralized
}

export interface Analysis {
  readonly model: string;
  readonly quick: boolean;
  readonly memory: {
    readonly table2: { readonly paper: (typeof TABLE2_PAPER)[number]; readonly recomputed: Table2Row }[];
    readonly runs: CountedRun[];
    /** n = 100 with tiles of b×b: global reads, against the theorem's 2n². */
    readonly tiles: { readonly tile: number; readonly globalReads: number; readonly counted: MultiplyCounts }[];
  };
  readonly svd: {
    readonly gpt2: { readonly k: number; readonly eq10: number; readonly text: number; readonly savingAt40: number; readonly savingAt50: number };
    readonly squareSaving: { readonly n: number; readonly at40: number; readonly at50: number };
    readonly shares: ShareStats[];
    readonly denseOnModel: { readonly perplexity: number };
    readonly runs: ModelRun[];
    readonly tokens: number;
  };
  readonly bandwidth: {
    readonly ratios: number[];
    readonly table3: Table3Row[]; // t = 30, per ratio
    readonly readings: { readonly id: string; readonly short: string; readonly description: string; readonly byT: { readonly t: number; readonly rates: number[] }[] }[];
  };
  readonly measured: {
    readonly transfers: TransferRow[];
    readonly layer: { readonly dim: number; readonly hiddenDim: number; readonly t: number; readonly timings: LayerTiming[] };
  };
  readonly softmax: {
    readonly matrix: [number, number];
    readonly error: SoftmaxError;
    readonly costs: VerifierCost[];
    readonly layerShare: { readonly positions: number; readonly exps: number; readonly multiplyAdds: number; readonly share: number };
  };
}

export const FIG6_RATIOS = [0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8];

export async function runAnalysis(o: AnalyzeOptions): Promise<Analysis> {
  const quick = o.quick === true;
  const log = o.log ?? (() => {});

  const model = await loadModel(o.model); // first: a bad --model fails before any work

  log("§4.1: counting memory reads…");
  const runs: CountedRun[] = [];
  for (const [m, n, k] of [[3, 3, 3], [5, 5, 5], [10, 10, 10], [100, 100, 100], [4, 6, 3], [30, 50, 20], [10_000, 10_000, 10_000]] as const) {
    const computed = m * n * k <= 1e6;
    const hierarchical = computed ? hierarchicalMultiply(operands(m, n, k)).counts : hierarchicalMultiply({ m, n, k }, { countOnly: true }).counts;
    const centralized = computed ? centralizedMultiply(operands(m, n, k)).counts : { globalReads: 2 * m * n * k };
    runs.push({ m, n, k, computed, centralized, hierarchical, theorem: theoremReduction(m, k), counted: 1 - hierarchical.globalReads / centralized.globalReads });
  }
  const memory = {
    table2: TABLE2_PAPER.map((paper) => ({ paper, recomputed: table2Row(paper.n) })),
    runs,
    tiles: [100, 50, 20, 10, 5, 1].map((tile) => ({
      tile,
      globalReads: tiledGlobalReads(100, 100, 100, tile, tile),
      counted: hierarchicalMultiply(operands(100, 100, 100), { blockRows: tile, blockCols: tile }).counts,
    })),
  };

  log("§4.2: singular values of every matrix of the model…");
  const sp = spectra(model);
  const shareGrid = quick ? [0.4, 0.5, 1] : [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1];
  const shares = shareGrid.map((s) => energyAtShare(sp, s));
  const tokens = quick ? 24 : 256;
  log(`§4.2: running the compressed model at ${shareGrid.length} shares over ${tokens} tokens…`);
  const compressed = await runCompressed(o.model, shareGrid, tokens);
  const { m, n } = GPT2_EXAMPLE;
  const k = rankForShare(m, n, GPT2_EXAMPLE.share);

  log("§4.3: Table 3 and Eq. 16–17…");
  const bandwidth = {
    ratios: FIG6_RATIOS,
    table3: FIG6_RATIOS.map((r) => table3(BERT.m, BERT.n, BERT.t, r)),
    readings: READINGS.map((r) => ({ id: r.id, short: r.short, description: r.description, byT: T_VALUES.map((t) => ({ t, rates: FIG6_RATIOS.map((cr) => bandwidthReduction(r, BERT.m, BERT.n, t, cr)) })) })),
  };

  log("measured: weights over /efed/weights/1…");
  const transfers = await measureTransfers(model, quick ? [0.7] : [0.2, 0.5, 0.7, 0.8]);
  const [dim, hiddenDim] = quick ? [128, 512] : [BERT.n, BERT.m];
  log(`measured: one ${dim}/${hiddenDim} layer, dense and factored…`);
  const timings = await timeLayers(layerConfig(dim, hiddenDim), quick ? [0.7] : [0.2, 0.5, 0.7, 0.8], BERT.t, quick ? 2 : 15);

  log("§4.4: the split softmax…");
  const size = quick ? 64 : 256;
  const scores = scoreMatrix(size, size);
  const positions = 256;
  return {
    model: o.model,
    quick,
    memory,
    svd: {
      gpt2: { k, eq10: compressionRatio(m, n, k), text: textRatio(m, n, k), savingAt40: savingAtShare(m, n, 0.4), savingAt50: savingAtShare(m, n, 0.5) },
      squareSaving: { n: 768, at40: savingAtShare(768, 768, 0.4), at50: savingAtShare(768, 768, 0.5) },
      shares,
      denseOnModel: compressed.dense,
      runs: compressed.runs,
      tokens,
    },
    bandwidth,
    measured: { transfers, layer: { dim, hiddenDim, t: BERT.t, timings } },
    softmax: {
      matrix: [size, size],
      error: softmaxError(scores),
      costs: verifierCosts(scores, [1, 2, 3, 4, 8], quick ? 3 : 7),
      layerShare: { positions, ...softmaxShareOfLayer(model.config, positions) },
    },
  };
}

/** Eq. 16 under reading `id` at t columns and a compression ratio on the Fig. 6 grid. */
export function rateAt(a: Analysis, id: string, t: number, ratio: number): number {
  const r = a.bandwidth.readings.find((x) => x.id === id);
  const i = a.bandwidth.ratios.findIndex((x) => Math.abs(x - ratio) < 1e-9);
  const rates = r?.byT.find((x) => x.t === t)?.rates;
  if (rates === undefined || i < 0) throw new RangeError(`no reading ${id} at t = ${t}, CR ${ratio}`);
  return rates[i];
}

/** The lowest and highest rate at a ratio over some readings and every t. */
export function rateRange(a: Analysis, ids: readonly string[], ratio: number): [number, number] {
  const xs = ids.flatMap((id) => a.bandwidth.readings.find((r) => r.id === id)!.byT.map((x) => rateAt(a, id, x.t, ratio)));
  return [Math.min(...xs), Math.max(...xs)];
}

/** Readings that keep "compression ratio" as Eq. 10's share kept. */
export const LIKE_WITH_LIKE = ["A", "B", "D", "E"] as const;
