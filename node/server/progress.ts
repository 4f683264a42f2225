// Progress of a long transfer (weights over the network): bytes so far and the rate, at
// most once a second, so a user watching a slow fetch sees it move without a flood of lines.

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ["KiB", "MiB", "GiB", "TiB"];
  let v = n / 1024;
  let i = 0;
  for (; v >= 1024 && i < units.length - 1; i++) v /= 1024;
  return `${v.toFixed(1)} ${units[i]}`;
}

export function formatTransfer(label: string, bytes: number, seconds: number): string {
  const rate = seconds > 0 ? `${formatBytes(bytes / seconds)}/s` : "—";
  return `${label}: ${formatBytes(bytes)} in ${seconds.toFixed(1)} s (${rate})`;
}

/** A reporter to call with the running byte count; it logs when `everyMs` has passed since its last line. */
export function transferProgress(label: string, log: (line: string) => void, o: { everyMs?: number; now?: () => number } = {}): (bytes: number) => void {
  const now = o.now ?? (() => performance.now());
  const every = o.everyMs ?? 1000;
  const started = now();
  let last = started;
  return (bytes) => {
    const t = now();
    if (t - last < every) return;
    last = t;
    log(formatTransfer(label, bytes, (t - started) / 1000));
  };
}
