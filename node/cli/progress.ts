// Long steps show progress on stderr: on a terminal one line redrawn in place (at most ten
// times a second), elsewhere (a pipe, a file, --log) a line now and then, so a log of a slow
// fetch shows it moving without a flood of lines. Notices printed meanwhile (log()) clear the
// line first and draw it again after.
import { formatTransfer, type ProgressFactory } from "../server/progress.ts";

export interface ProgressOutput {
  write(text: string): unknown;
  readonly isTTY?: boolean;
}

export interface StatusLineOptions {
  /** Full lines (sparse updates, the final line): stderr and the --log file. */
  readonly line: (text: string) => void;
  readonly now?: () => number;
  /** Least time between redraws on a terminal. */
  readonly ttyEveryMs?: number;
  /** Least time between lines elsewhere. */
  readonly sparseEveryMs?: number;
}

export class StatusLine {
  private readonly out: ProgressOutput;
  private readonly o: StatusLineOptions;
  private readonly now: () => number;
  /** What the terminal shows now ("" when nothing). */
  private shown = "";
  private last: number;
  private lastGist = "";

  constructor(out: ProgressOutput, o: StatusLineOptions) {
    this.out = out;
    this.o = o;
    this.now = o.now ?? (() => performance.now());
    this.last = this.now();
  }

  /** A step begins: nothing is shown before the first interval has passed, so a short step
   * prints only its final line. */
  start(): void {
    this.last = this.now();
    this.lastGist = "";
  }

  /** A new state of the step. `gist` is what must change for a sparse line to be worth
   * printing (say, the epoch without the seconds into it); the text itself by default. */
  update(text: string, gist = text, sparseEveryMs = this.o.sparseEveryMs ?? 10_000): void {
    const t = this.now();
    if (this.out.isTTY) {
      if (t - this.last < (this.o.ttyEveryMs ?? 100)) return;
      this.last = t;
      this.shown = text;
      this.out.write(`\r\x1b[K${text}`);
      return;
    }
    if (t - this.last < sparseEveryMs || gist === this.lastGist) return;
    this.last = t;
    this.lastGist = gist;
    this.o.line(text);
  }

  /** The step is over: the redrawn line gives way to `text` (always printed, when given). */
  done(text?: string): void {
    this.clear();
    this.start();
    if (text !== undefined) this.o.line(text);
  }

  /** Writes something else (a notice) without tearing the line: clear, write, draw again. */
  around(write: () => void): void {
    const was = this.shown;
    this.clear();
    write();
    if (was !== "") {
      this.shown = was;
      this.out.write(was);
    }
  }

  private clear(): void {
    if (this.shown === "") return;
    this.shown = "";
    this.out.write("\r\x1b[K");
  }
}

/** Byte progress (model loads, weight fetches) drawn on a status line: running counts with
 * the rate, then one final line with the totals. */
export function byteProgress(status: StatusLine, now: () => number = () => performance.now()): ProgressFactory {
  return (label) => {
    const started = now();
    status.start();
    let bytes = 0;
    let total: number | undefined;
    const text = () => formatTransfer(label, bytes, (now() - started) / 1000, total);
    return {
      update(b, t) {
        bytes = b;
        total = t;
        status.update(text());
      },
      done() {
        status.done(text());
      },
    };
  };
}
