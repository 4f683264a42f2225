// `efed analyze`: the paper's stated results (§4.1–4.4) reproduced or refuted by one command —
// a markdown report with SVG figures, and the summary table on stdout.
import { accessSync, constants, existsSync, mkdirSync, statSync } from "node:fs";
import { resolve } from "node:path";
import type { Command } from "commander";
import { DEMO_MODEL } from "./demo.ts";
import { log, threadsOption } from "./common.ts";
import { AnalyzeOutputError, writeReport } from "../analyze/report.ts";
import { runAnalysis } from "../analyze/run.ts";
import { formatSummary, summaryRows } from "../analyze/summary.ts";

/** Fails before the measurements start when the report could not be written. */
export function checkOutputDir(dir: string): void {
  const why = (err: unknown) => new AnalyzeOutputError(`cannot write the report to ${dir}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  if (existsSync(dir) && !statSync(dir).isDirectory()) throw new AnalyzeOutputError(`cannot write the report to ${dir}: it is a file, not a directory`);
  try {
    mkdirSync(dir, { recursive: true });
    accessSync(dir, constants.W_OK);
  } catch (err) {
    throw why(err);
  }
}

export function analyzeCommand(program: Command): void {
  program
    .command("analyze")
    .description("check the paper's stated results (§4.1–4.4) figure by figure: report with SVG figures, summary table on stdout")
    .option("--out <dir>", "directory for report.md, the figures (SVG), summary.txt and analysis.json", "analysis")
    .option("--model <file>", "model whose matrices and runs are measured", DEMO_MODEL)
    .option("--quick", "smaller measurements (fewer tokens, shares and repetitions; a smaller layer to time)")
    .addOption(threadsOption())
    .addHelpText(
      "after",
      `
For each stated result: the paper's figure, the figure recomputed from the paper's own formulas,
the counterpart measured here (counted memory reads, the compressed model's agreement and
perplexity, bytes over /efed/weights/1, layer time, the split softmax), and a verdict.

Example:
  $ efed analyze --out analysis        # about half a minute; see analysis/report.md`,
    )
    .action(async (o: { out: string; model: string; quick?: boolean }) => {
      const out = resolve(o.out);
      checkOutputDir(out);
      const a = await runAnalysis({ model: o.model, quick: o.quick === true, log });
      const rows = summaryRows(a);
      const text = formatSummary(rows);
      const report = await writeReport(out, a, rows, text);
      console.log(text);
      log(`report: ${report}`);
    });
}
