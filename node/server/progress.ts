// Progress of a long step that moves bytes (a model loaded from disk, weights fetched from a
// peer): how it is reported, and how it reads. Where it is shown (a terminal line redrawn in
// place, or sparse lines in a log) is the command line's business (node/cli/progress.ts).

/** Called with the bytes done so far, and the total when it is known. */
export type OnBytes = (bytes: number, total?: number) => void;

/** A long step's progress: `update` as it goes, `done` once at the end. */
export interface StepProgress {
  update: OnBytes;
  done(): void;
}

/** Makes the progress of a step, given its label ("loading layers 0-2 of model.gguf"). */
export type ProgressFactory = (label: string) => StepProgress;

export function formatBytes(n: number): string {
  if (n < 1024) return `${Math.round(n)} B`;
  const units = ["KiB", "MiB", "GiB", "TiB"];
  let v = n / 1024;
  let i = 0;
  for (; v >= 1024 && i < units.length - 1; i++) v /= 1024;
  return `${v.toFixed(1)} ${units[i]}`;
}

/** "label: 1.5 MiB of 4.0 MiB (37%) in 2.0 s, 768.0 KiB/s" (no total: no "of"). */
export function formatTransfer(label: string, bytes: number, seconds: number, total?: number): string {
  const of = total !== undefined && total > 0 ? ` of ${formatBytes(total)} (${Math.floor((100 * bytes) / total)}%)` : "";
  const rate = seconds > 0 ? `${formatBytes(bytes / seconds)}/s` : "—";
  return `${label}: ${formatBytes(bytes)}${of} in ${seconds.toFixed(1)} s, ${rate}`;
}
