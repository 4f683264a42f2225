// The markdown report: every section's numbers as tables, its figures as SVG files beside it,
// and the summary with the reason behind each verdict.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cpus } from "node:os";
import { toSvg } from "./charts.ts";
import { figures, type Figure } from "./figures.ts";
import { count, ms, pct, range } from "./format.ts";
import { LIKE_WITH_LIKE, rateAt, rateRange, type Analysis } from "./run.ts";
import type { SummaryRow } from "./summary.ts";

export class AnalyzeOutputError extends Error {
  override readonly name = "AnalyzeOutputError";
}

const table = (head: string[], rows: (string | number)[][]): string =>
  [`| ${head.join(" | ")} |`, `| ${head.map(() => "---").join(" | ")} |`, ...rows.map((r) => `| ${r.join(" | ")} |`)].join("\n");

const fig = (f: Figure | undefined): string => (f ? `![${f.caption}](${f.file})\n\n*${f.caption}*` : "");

export function reportMarkdown(a: Analysis, summary: readonly SummaryRow[], figs: readonly Figure[]): string {
  const F = (file: string) => fig(figs.find((f) => f.file === file));
  const s: string[] = [];
  const modelName = a.model.split("/").at(-1);
  s.push(`# Does the paper hold? — \`efed analyze\``);
  s.push(
    `Ding and Hu, *eFedLLM* (2024), §4.1–4.4, figure by figure: the paper's figure, the figure recomputed from the paper's own formulas, ` +
      `and its counterpart measured on this system. Model: \`${modelName}\`. ${a.quick ? "**Quick run** (smaller measurements). " : ""}` +
      `Machine: ${cpus().length} CPU cores, Node ${process.version}; layer timings are the fastest of interleaved rounds, softmax timings medians, all on a shared machine.`,
  );
  s.push(`## Summary`);
  s.push(table(["§", "result", "paper", "recomputed", "measured here", "verdict", "why"], summary.map((r) => [r.section, r.result, r.paper, r.recomputed, r.measured, `**${r.verdict}**`, r.why])));

  // §4.1
  s.push(`## §4.1 Memory hierarchy (Eq. 5, Table 2, Theorem 4.1)`);
  s.push(
    `\`node/analyze/memory-sim.ts\` multiplies with counters on every memory level. *Flat*: every product reads both operands from global memory ` +
      `(the paper's "centralized"). *Hierarchy* (Fig. 4): each block copies its panel of A and of B from global into its local memory once, ` +
      `computes its tile of C from local memory, and writes the tile back. n = 10,000 is counted block by block without computing its 10^12 products.`,
  );
  s.push(
    table(
      ["n", "paper: centralized", "paper: federated", "paper: reduction", "2n³", "2n²", "1 − 1/n", "Eq. 6 (m = k = n)", "counted flat / hierarchy (global)", "local reads"],
      a.memory.table2.map(({ paper, recomputed: r }) => {
        const run = a.memory.runs.find((x) => x.m === r.n && x.n === r.n && x.k === r.n);
        return [
          count(r.n), count(paper.centralized), count(paper.federated), pct(paper.reduction, 2), count(r.centralized), count(r.federated), pct(r.reduction, 2), pct(r.theorem, 2),
          run ? (run.computed ? `${count(run.centralized.globalReads)} / ${count(run.hierarchical.globalReads)}` : `${count(run.centralized.globalReads)} (formula) / ${count(run.hierarchical.globalReads)} (counted, no products)`) : "—",
          run ? count(run.hierarchical.localReads) : "—",
        ];
      }),
    ),
  );
  s.push(`Every printed row equals 2n³, 2n² and 1 − 1/n, and Eq. 6 at m = k = n gives 1 − 1/2n − 1/2n = 1 − 1/n: the table and the theorem agree at every row (at n = 5 both give 80%).`);
  s.push(`Eq. 5's example and cases that are not square (A m×n, B n×k):`);
  s.push(
    table(
      ["m×n · n×k", "T_c = 2nmk", "T_f = mn + nk", "counted flat", "counted hierarchy", "writes of C", "R_t counted", "Eq. 6"],
      a.memory.runs.filter((r) => !(r.m === r.n && r.n === r.k) || r.m === 3).map((r) => [
        `${r.m}×${r.n} · ${r.n}×${r.k}`, count(2 * r.m * r.n * r.k), count(r.m * r.n + r.n * r.k), count(r.centralized.globalReads), count(r.hierarchical.globalReads), count(r.hierarchical.globalWrites), pct(r.counted, 2), pct(r.theorem, 2),
      ]),
    ),
  );
  const big = a.memory.runs.find((r) => r.m === 10_000)!;
  s.push(
    `**The proof's assumptions.** T_f = mn + nk holds only when (1) one block's local memory holds all of A and all of B — ` +
      `(m + k)·n numbers, ${count(big.hierarchical.localPeak)} floats (${count(big.hierarchical.localPeak * 4)} bytes) at n = 10,000, against tens to hundreds of KiB of on-chip memory per GPU block; ` +
      `(2) the mk writes of C are left out of both counts; (3) the reads from local memory are not counted — there are still 2mnk of them, the same number as the flat multiply's global reads. ` +
      `With several blocks each needing all of B the count is mn + (blocks)·nk, and with tiles of b rows and b columns it is 2mnk/b:`,
  );
  s.push(
    table(
      ["tile b (n = 100)", "global reads: formula", "counted", "× Theorem 4.1", "blocks", "local memory per block"],
      a.memory.tiles.map((t) => [t.tile, count(t.globalReads), count(t.counted.globalReads), (t.counted.globalReads / 20_000).toFixed(0), count(t.counted.blocks), count(t.counted.localPeak)]),
    ),
  );
  s.push(`The section also credits the saving to *federated learning*; the counts belong to any blocked multiply on one GPU (shared memory tiling) and say nothing about federation across machines.`);
  s.push(F("fig-4.1-table2.svg"));
  s.push(F("fig-4.1-tiles.svg"));

  // §4.2
  const g = a.svd.gpt2;
  s.push(`## §4.2 SVD (Eq. 9–13, Fig. 5)`);
  s.push(
    `**The 768×2304 example.** 40% of min(768, 2304) singular values is k = ${g.k}. Eq. 10, (m + n + 1)k / mn = ${pct(g.eq10, 2)} — the paper's 53.32%. ` +
      `The text's own count of what is sent, mk + k² + kn (Σ_k as a k×k matrix), gives ${pct(g.text, 2)}. The system sends σ as k numbers (\`serializeFactors\`), as Eq. 10 counts. ` +
      `The text's saving "(m − k)(n − k)" is mn − mk − kn + k², which overstates the exact mn − (mk + k² + kn) by 2k². ` +
      `"40–50% of singular values save 40–60%": by Eq. 10 the 768×2304 matrix saves ${pct(g.savingAt40)} at 40% and ${pct(g.savingAt50)} at 50%; a square 768×768 saves ${pct(a.svd.squareSaving.at40)} and ${pct(a.svd.squareSaving.at50)}. ` +
      `The 91.32% energy of GPT-2's matrix cannot be checked here (no GPT-2 weights on this machine).`,
  );
  const over = a.svd.shares.find((x) => x.ratio > 1);
  s.push(`**On the real model** (${modelName}, every layer matrix, exact SVD; the compressed model run by the project's SVD compression and local ONNX engine on the dense model's ${a.svd.tokens} greedy tokens; dense perplexity ${a.svd.denseOnModel.perplexity.toFixed(3)}):`);
  s.push(
    table(
      ["share kept", "energy min", "energy mean", "energy max", "CR (Eq. 10, all matrices)", "Eq. 13 P_total", "measured top-1 agreement", "perplexity"],
      a.svd.shares.map((x) => {
        const r = a.svd.runs.find((y) => Math.abs(y.share - x.share) < 1e-9);
        return [pct(x.share, 0), pct(x.energy.min), pct(x.energy.mean), pct(x.energy.max), pct(x.ratio), pct(x.eq13), r ? pct(r.agreement) : "—", r ? r.perplexity.toFixed(2) : "—"];
      }),
    ),
  );
  s.push(
    `Eq. 13 is read with each layer's matrices standing for its heads (the model compresses whole matrices). Retained energy is not accuracy: ` +
      `the model keeps most of its energy long before it keeps its predictions.` +
      (over ? ` From ${pct(over.share, 0)} of the singular values on, the factors are larger than the matrices (CR ${pct(over.ratio, 0)} > 100%); the engine then runs matrices rebuilt dense where that is cheaper.` : ""),
  );
  s.push(F("fig-5.svg"));
  s.push(F("fig-5-perplexity.svg"));

  // §4.3
  s.push(`## §4.3 SVD with the memory hierarchy (Table 3, Eq. 15–17, Fig. 6–7)`);
  s.push(`Table 3 for BERT's first feed-forward matrix, W 3072×768, X 768×30, k̂ by Eq. 15:`);
  s.push(
    table(
      ["CR", "k̂", "storage mn → (m+n+1)k̂", "reads, no hierarchy: 2mnt → 2(m+n)k̂t", "reads, hierarchy: mn + nt → mk̂ + k̂ + nk̂ + nt"],
      a.bandwidth.table3.map((r) => [r.ratio, r.k, `${count(r.storage.original)} → ${count(r.storage.compressed)}`, `${count(r.readsFlat.original)} → ${count(r.readsFlat.compressed)}`, `${count(r.readsHierarchy.original)} → ${count(r.readsHierarchy.compressed)}`]),
    ),
  );
  s.push(`Fig. 6's scales (about 1e8 without, 1e6 with the hierarchy) follow from these formulas at t = 30.`);
  s.push(F("fig-6a.svg"));
  s.push(F("fig-6b.svg"));
  const i70 = a.bandwidth.ratios.findIndex((x) => Math.abs(x - 0.7) < 1e-9);
  const [lo, hi] = rateRange(a, LIKE_WITH_LIKE, 0.7);
  s.push(
    `**Eq. 16–17 and "CR 0.7 cuts bandwidth by about 60%".** Total access = weight read + input read + output write (mt). ` +
      `The paper states batch size 10 and 4-byte floats (bytes cancel in the ratio); t is read as 1, 10, 30 (the sequence) and 300 (batch × sequence). Every reading tried, at CR 0.7:`,
  );
  s.push(table(["reading", "original → optimized", ...a.bandwidth.readings[0].byT.map((x) => `t = ${x.t}`)], a.bandwidth.readings.map((r) => [r.id, r.description, ...r.byT.map((x) => pct(x.rates[i70]))])));
  s.push(
    `**It does not follow.** With Table 3's counts on both sides alike (${LIKE_WITH_LIKE.join(", ")}) CR 0.7 cuts ${range(lo, hi)}, about 1 − CR at small t. ` +
      `About 60% appears only in reading C, which sets the dense multiply without the hierarchy against the compressed one with it, and only at t = 1 (${pct(rateAt(a, "C", 1, 0.7))}); ` +
      `at the stated batch of 10 that reading gives ${pct(rateAt(a, "C", 10, 0.7))}, and the saving is then the hierarchy's, not the SVD's. ` +
      `Reading F (CR taken as the share removed) gives ${range(rateAt(a, "F", 30, 0.7), rateAt(a, "F", 10, 0.7))} at t = 10–30 and ${pct(rateAt(a, "F", 300, 0.7), 0)} at t = 300, not 60% either — and the abstract ("compressing the model's weight matrices to 70% of their original size") rules that reading out. ` +
      `The trend stated with Fig. 7 (more compression, more reduction) holds in every reading.`,
  );
  s.push(F("fig-7.svg"));

  // measured
  s.push(`## Measured on this system`);
  const dense = a.measured.transfers.find((t) => t.format === "dense")!;
  s.push(
    `**Weights over the network.** An in-process WeightsService serving ${modelName}, fetched with \`fetchLayers\` over loopback TCP (libp2p, Noise, Yamux), every layer, dense and as SVD factors at each ratio (k̂ by Eq. 15):`,
  );
  s.push(
    table(
      ["weights", "payload bytes", "predicted (Eq. 10 + norms)", "bytes on the stream", "saved vs dense (payload)", "time"],
      a.measured.transfers.map((t) => [t.format === "dense" ? "dense" : `SVD, CR ${t.ratio}`, count(t.bytes), count(t.predictedBytes), count(t.wireBytes), pct(1 - t.bytes / dense.bytes), ms(t.ms)]),
    ),
  );
  const t70 = a.measured.transfers.find((t) => t.ratio === 0.7);
  s.push(
    `SVD transfers include the server's decomposition time. The saving is 1 − CR on the matrices (the norms travel dense), as Eq. 10 says` +
      (t70 ? ` — ${pct(1 - t70.bytes / dense.bytes)} at CR 0.7, not 60%.` : "."),
  );
  s.push(F("fig-transfer.svg"));
  const l = a.measured.layer;
  s.push(`**Dense against factored layers.** One transformer layer of width ${l.dim} and feed-forward ${l.hiddenDim} (BERT's shapes in a full run) as an ONNX graph on onnxruntime-node CPU; factored matrices run as two products x·(V_kΣ_k)·U_kᵀ:`);
  s.push(table(["weights", `prefill, ${l.t} positions`, "decode, 1 position"], l.timings.map((t) => [t.ratio === undefined ? "dense" : `factored, CR ${t.ratio}`, ms(t.prefillMs), ms(t.decodeMs)])));
  s.push(`**Memory reads** have no measured counterpart: onnxruntime exposes no counters of reads per memory level, so none are reported; §4.1's counted multiply checks the formulas instead.`);
  s.push(F("fig-layer-time.svg"));

  // §4.4
  const e = a.softmax.error;
  s.push(`## §4.4 The verifiers' split softmax (Eq. 20–22)`);
  s.push(
    `\`node/verifier/softmax.ts\`: scores in fixed point, shifted by the row maximum (Eq. 21), exponent split into K = 6 base-16 digits with a table lookup each (Eq. 22). ` +
      `Against float64 softmax on ${a.softmax.matrix.join("×")} scores N(0, 4²): largest error ${e.maxAbs.toExponential(2)}, largest row-sum error ${e.maxRowSumError.toExponential(2)}. ` +
      `Split by rows between V verifiers, the combined result is bit-identical to one verifier's for every V:`,
  );
  s.push(
    table(
      ["verifiers V", "slowest share, fixed point", "same share in float", "fixed ÷ float (same split)", "one verifier, all in float", "share ÷ one float verifier", "bit-identical"],
      a.softmax.costs.map((c) => [c.verifiers, ms(c.fixedPerVerifierMs), ms(c.floatPerVerifierMs), `×${c.ratioSameSplit.toFixed(2)}`, ms(c.floatWholeMs), `×${c.ratio.toFixed(2)}`, c.identical ? "yes" : "no"]),
    ),
  );
  const ls = a.softmax.layerShare;
  s.push(
    `**Does it pay in the verifiers' checks? No, and it is not used there.** Splitting the rows between verifiers divides the work by V, but that needs no transformation: float softmax splits by rows just as well. ` +
      `What Eq. 20–22 add is K = 6 lookups and 6 multiplications per output instead of one exp, which makes every share dearer at the same split (table above); ` +
      `against one verifier recomputing everything in float the split only wins once V exceeds that factor, and a split by columns would add the messages that agree on row maxima and sums. ` +
      `And the checks do not compare softmax outputs: a verifier recomputes a server's layers with its reference copy and compares their output hidden states — or projections of them that the server commits to — within a tolerance (\`node/verifier/tolerance.ts\`); the softmax inside a layer is never checked on its own, and float kernels on different devices differ in the last bits anyway, which the tolerance absorbs. ` +
      `The softmax is ${pct(ls.share)} of one layer's arithmetic at ${ls.positions} positions (${count(ls.exps)} exps against ${count(ls.multiplyAdds)} multiply-adds on ${modelName}), so splitting it could not lighten a check by more than that. ` +
      `Its use is determinism: every verifier gets the same bits, which a commit-reveal report could hash.`,
  );
  s.push(F("fig-softmax.svg"));
  return s.filter((x) => x !== "").join("\n\n") + "\n";
}

/** Writes report.md, summary.txt and every figure's SVG into `dir`. */
export async function writeReport(dir: string, a: Analysis, summary: readonly SummaryRow[], summaryText: string): Promise<string> {
  try {
    mkdirSync(dir, { recursive: true });
  } catch (err) {
    throw new AnalyzeOutputError(`cannot write the report to ${dir}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  const figs = figures(a);
  const files: [string, string][] = [];
  for (const f of figs) files.push([f.file, await toSvg(f.spec)]);
  files.push(["report.md", reportMarkdown(a, summary, figs)]);
  files.push(["summary.txt", summaryText + "\n"]);
  files.push(["analysis.json", JSON.stringify(a, null, 2) + "\n"]);
  for (const [name, text] of files) {
    try {
      writeFileSync(join(dir, name), text);
    } catch (err) {
      throw new AnalyzeOutputError(`cannot write the report to ${dir}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  }
  return join(dir, "report.md");
}
