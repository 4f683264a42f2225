// The report's figures: which numbers each chart draws (specifications only; charts.ts renders).
import type { TopLevelSpec } from "vega-lite";
import { barSpec, lineSpec, type Row } from "./charts.ts";
import type { Analysis } from "./run.ts";
import { compressionRatio, rankForShare } from "./svd-claims.ts";

export interface Figure {
  readonly file: string;
  readonly caption: string;
  readonly spec: TopLevelSpec;
}

export function figures(a: Analysis): Figure[] {
  const out: Figure[] = [];

  const reads: Row[] = [];
  for (const { paper, recomputed } of a.memory.table2) {
    const run = a.memory.runs.find((r) => r.m === paper.n && r.n === paper.n && r.k === paper.n);
    reads.push({ n: String(paper.n), series: "Table 2: centralized", reads: paper.centralized });
    reads.push({ n: String(paper.n), series: "Table 2: federated", reads: paper.federated });
    reads.push({ n: String(paper.n), series: "counted: flat (global)", reads: run?.centralized.globalReads ?? recomputed.centralized });
    reads.push({ n: String(paper.n), series: "counted: hierarchy (global)", reads: run?.hierarchical.globalReads ?? recomputed.federated });
  }
  out.push({
    file: "fig-4.1-table2.svg",
    caption: "Table 2 against the counted multiply: global-memory reads for n×n times n×n (log scale; n = 10,000 counted block by block, not computed).",
    spec: barSpec({ title: "§4.1 Table 2: memory reads", data: reads, category: "n", value: "reads", group: "series", categoryTitle: "matrix dimension n", valueTitle: "global-memory reads", logValue: true }),
  });

  out.push({
    file: "fig-4.1-tiles.svg",
    caption: "n = 100: global reads when each block's local memory holds only b rows of A and b columns of B. The theorem's 2n² needs b = n.",
    spec: lineSpec({
      title: "§4.1 Theorem 4.1 needs whole operands in local memory",
      data: [
        ...a.memory.tiles.map((t) => ({ tile: t.tile, reads: t.counted.globalReads, series: "tiled multiply, counted" })),
        ...a.memory.tiles.map((t) => ({ tile: t.tile, reads: 20_000, series: "Theorem 4.1: mn + nk" })),
      ],
      x: "tile", y: "reads", series: "series", xTitle: "tile size b", yTitle: "global-memory reads", logY: true,
    }),
  });

  const fig5: Row[] = [];
  for (const s of a.svd.shares) {
    fig5.push({ share: s.share, value: s.energy.mean, series: "retained energy, mean (Eq. 9)" });
    fig5.push({ share: s.share, value: s.energy.min, series: "retained energy, worst matrix" });
    fig5.push({ share: s.share, value: s.ratio, series: "compression ratio (Eq. 10)" });
    fig5.push({ share: s.share, value: s.eq13, series: "Eq. 13 predicted accuracy" });
  }
  for (const r of a.svd.runs) fig5.push({ share: r.share, value: r.agreement, series: "measured top-1 agreement" });
  for (const share of a.svd.shares.map((x) => x.share)) {
    fig5.push({ share, value: compressionRatio(768, 2304, rankForShare(768, 2304, share)), series: "compression ratio of GPT-2's 768×2304 (Eq. 10)" });
  }
  out.push({
    file: "fig-5.svg",
    caption: `Fig. 5 on ${a.model.split("/").at(-1)}: energy and compression against the share of singular values kept, with the compressed model's measured top-1 agreement and Eq. 13's prediction. The paper's claim (40–50% keep 90–99%) is the black diamond.`,
    spec: lineSpec({
      title: "§4.2 Fig. 5 on the real model", data: fig5, x: "share", y: "value", series: "series",
      xTitle: "share of singular values kept", yTitle: "", percentY: true,
      marks: [{ share: 0.45, value: 0.945, label: "paper: 40–50% → 90–99%" }],
    }),
  });

  out.push({
    file: "fig-5-perplexity.svg",
    caption: "Perplexity of the compressed model on the dense model's greedy text (log scale).",
    spec: lineSpec({
      title: "§4.2 perplexity of the compressed model",
      data: [
        ...a.svd.runs.map((r) => ({ share: r.share, ppl: r.perplexity, series: "SVD-compressed" })),
        ...a.svd.runs.map((r) => ({ share: r.share, ppl: a.svd.denseOnModel.perplexity, series: "dense" })),
      ],
      x: "share", y: "ppl", series: "series", xTitle: "share of singular values kept", yTitle: "perplexity", logY: true,
    }),
  });

  const fig6 = (key: "readsFlat" | "readsHierarchy") =>
    a.bandwidth.table3.flatMap((r) => [
      { ratio: r.ratio, reads: r[key].original, series: "original WX" },
      { ratio: r.ratio, reads: r[key].compressed, series: "compressed ŴX" },
    ]);
  out.push({
    file: "fig-6a.svg",
    caption: "Fig. 6 (a): memory reads of WX and ŴX without the hierarchy (Table 3: 2mnt, 2(m + n)k̂t), BERT W 3072×768, X 768×30.",
    spec: lineSpec({ title: "§4.3 Fig. 6 (a): without the memory hierarchy", data: fig6("readsFlat"), x: "ratio", y: "reads", series: "series", xTitle: "compression ratio", yTitle: "memory reads" }),
  });
  out.push({
    file: "fig-6b.svg",
    caption: "Fig. 6 (b): with the hierarchy (Table 3: mn + nt, mk̂ + k̂ + nk̂ + nt).",
    spec: lineSpec({ title: "§4.3 Fig. 6 (b): with the memory hierarchy", data: fig6("readsHierarchy"), x: "ratio", y: "reads", series: "series", xTitle: "compression ratio", yTitle: "memory reads" }),
  });

  const fig7: Row[] = [];
  for (const r of a.bandwidth.readings) {
    for (const { t, rates } of r.byT) {
      if (t !== 10 && !(r.id === "C" && t === 1)) continue;
      rates.forEach((rate, i) => fig7.push({ ratio: a.bandwidth.ratios[i], rate, series: `${r.short}, t = ${t}` }));
    }
  }
  out.push({
    file: "fig-7.svg",
    caption: "Fig. 7: bandwidth reduce rate (Eq. 16–17) against the compression ratio under each reading of Table 3 (t = 10, the stated batch size; reading C also at t = 1). The paper's figure is the black diamond.",
    spec: lineSpec({
      title: "§4.3 Fig. 7: bandwidth reduce rate", data: fig7, x: "ratio", y: "rate", series: "series",
      xTitle: "compression ratio", yTitle: "bandwidth reduce rate", percentY: true, marks: [{ ratio: 0.7, rate: 0.6, label: "paper: 0.7 → 60%" }],
    }),
  });

  const dense = a.measured.transfers.find((t) => t.format === "dense")!;
  out.push({
    file: "fig-transfer.svg",
    caption: "Bytes moved over /efed/weights/1 for every layer of the model, dense and as SVD factors, against Eq. 10's prediction.",
    spec: barSpec({
      title: "measured: weights over /efed/weights/1",
      data: a.measured.transfers.flatMap((t) => {
        const label = t.format === "dense" ? "dense" : `CR ${t.ratio}`;
        return [
          { what: label, bytes: t.wireBytes, series: "bytes on the stream" },
          { what: label, bytes: t.bytes, series: "tensor payload" },
          { what: label, bytes: t.predictedBytes, series: "predicted (Eq. 10)" },
        ];
      }),
      category: "what", value: "bytes", group: "series", categoryTitle: `weights (dense: ${dense.bytes.toLocaleString("en-US")} bytes)`, valueTitle: "bytes",
    }),
  });

  const l = a.measured.layer;
  out.push({
    file: "fig-layer-time.svg",
    caption: `One transformer layer (${l.dim}/${l.hiddenDim}) on onnxruntime CPU, dense and factored at each ratio: fastest time (interleaved rounds) of a ${l.t}-position prefill and of one decode step.`,
    spec: barSpec({
      title: "measured: dense against factored layer time",
      data: l.timings.flatMap((t) => {
        const label = t.ratio === undefined ? "dense" : `CR ${t.ratio}`;
        return [
          { what: label, ms: t.prefillMs, series: `prefill (${l.t} positions)` },
          { what: label, ms: t.decodeMs, series: "decode (1 position)" },
        ];
      }),
      category: "what", value: "ms", group: "series", categoryTitle: "weights", valueTitle: "ms (fastest round)",
    }),
  });

  out.push({
    file: "fig-softmax.svg",
    caption: `§4.4: time of the slowest verifier's share of the fixed-point softmax (${a.softmax.matrix.join("×")} scores), against the same share in float and one verifier recomputing all of it in float.`,
    spec: lineSpec({
      title: "§4.4 split softmax: cost per verifier",
      data: a.softmax.costs.flatMap((c) => [
        { v: c.verifiers, ms: c.fixedPerVerifierMs, series: "fixed point, per verifier (split by rows)" },
        { v: c.verifiers, ms: c.floatPerVerifierMs, series: "float, per verifier (split by rows)" },
        { v: c.verifiers, ms: c.floatWholeMs, series: "float, one verifier, whole matrix" },
      ]),
      x: "v", y: "ms", series: "series", xTitle: "verifiers V", yTitle: "ms (fastest round)", logY: true,
    }),
  });
  return out;
}
