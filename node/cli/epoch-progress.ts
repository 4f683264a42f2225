// Epochs while waiting: a verifier waiting for its reports to settle, `efed claim --wait`
// waiting for rewards to become payable. The chain's epoch, the seconds left in it and what
// is awaited, on the progress line (redrawn every second on a terminal; on a pipe, a line
// when the epoch or the news changes, at most once a minute by default).
import type { ChainClock } from "../chain/clock.ts";
import type { StatusLine } from "./progress.ts";

export interface EpochTime {
  readonly epoch: number;
  /** Whole seconds left in the epoch (chain time). */
  readonly secondsLeft: number;
}

export function epochTime(chainNow: number, genesis: number, epochLength: number): EpochTime {
  const into = Math.max(0, chainNow - genesis);
  const epoch = Math.floor(into / epochLength);
  return { epoch, secondsLeft: Math.ceil((epoch + 1) * epochLength + genesis - chainNow) };
}

export function formatEpochLine(t: EpochTime, news: string): string {
  return `epoch ${t.epoch} (${t.secondsLeft} s left) · ${news}`;
}

export interface EpochWatch {
  stop(): void;
}

/** Draws the epoch and `news(epoch)` every `everyMs`; `news` is asked again at each new epoch
 * and whenever `refresh` says so (it may read the ledger). */
export function watchEpochs(
  c: { clock: ChainClock; genesis: number; epochLength: number; line: StatusLine },
  news: (epoch: number) => Promise<string> | string,
  o: { everyMs?: number; sparseEveryMs?: number; refresh?: () => boolean } = {},
): EpochWatch {
  let asked = -1;
  let said = "";
  let busy = false;
  let stopped = false;
  const tick = async () => {
    if (busy || stopped) return;
    busy = true;
    try {
      await c.clock.refresh();
      const t = epochTime(c.clock.now(), c.genesis, c.epochLength);
      if (t.epoch !== asked || o.refresh?.()) {
        said = await news(t.epoch);
        asked = t.epoch;
      }
      if (!stopped) c.line.update(formatEpochLine(t, said), `${t.epoch} ${said}`, o.sparseEveryMs ?? 60_000);
    } catch {
      // the chain did not answer this time: the line stays as it was
    } finally {
      busy = false;
    }
  };
  void tick();
  const timer = setInterval(() => void tick(), o.everyMs ?? 1000);
  return {
    stop() {
      stopped = true;
      clearInterval(timer);
      c.line.done();
    },
  };
}
