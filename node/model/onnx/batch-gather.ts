// When a batching shard (batch-runner.ts) starts its next run. The sessions' next steps come
// back one by one after a run (each result travels to its client and a new step back), so
// the first to return would start the next run nearly alone and the rest would wait a whole
// run for theirs: runs alternate small and large (measured on the 48M model under load: runs
// of 3 and 13 rows, each costing about as much as one of 16), halving throughput; and the
// same sessions run after run let the runner feed a run's caches straight into the next
// (batch-runner.ts). Waiting for only half of them measured no better (4.0× against 4.4×
// for 16 sessions over one, bench:sessions, same run). So a run
// waits for the sessions that stepped lately to be queued again, never longer than the last
// run took (running the stragglers apart would cost them that much anyway). A session alone,
// or all of them back, runs at once; one that ends is forgotten at once (its cache released:
// else every other session's run waited for it, up to a run each, for a few runs), one that
// stops stepping after a few runs.
// Pure: the runner gives it the time. Also here: which queued steps a round runs together.
import type { BatchStats } from "./runtime.ts";

export class GatherPolicy {
  /** When each session's last decode step was computed (by a key of the runner's). */
  private readonly last = new Map<number, number>();
  private runMs = 0;

  /** Records a run of decode steps of these sessions, ending at `now`, that took `ms`. */
  ran(keys: readonly number[], now: number, ms: number): void {
    for (const k of keys) this.last.set(k, now);
    this.runMs = ms;
  }

  /** Forgets a session that ended: no run waits for it. */
  forget(key: number): void {
    this.last.delete(key);
  }

  /** How much longer to wait, from `now`, before running with these sessions queued: 0 to
   * run now. `since` is when the first of them was queued. */
  waitMs(queued: ReadonlySet<number>, since: number, now: number): number {
    const recent = 3 * this.runMs + 20; // a session stepping in lockstep is back within this
    let active = 0;
    let back = 0;
    for (const [k, t] of this.last) {
      if (now - t > recent) this.last.delete(k);
      else {
        active++;
        if (queued.has(k)) back++;
      }
    }
    return back < active ? Math.max(0, since + this.runMs - now) : 0;
  }
}

/** A queued step as a round sees it: whose cache, and how many positions. */
interface Step {
  readonly cache: object;
  readonly seq: number;
}

/** The runs of one round: each cache's first waiting step (a session's steps stay in order;
 * its next waits for the next round), grouped by positions — prompts first, as they came,
 * then decode steps — at most `maxBatch` rows and `maxPositions` positions a run (a longer
 * prompt runs alone, and so does any step `alone` names, first). `later`: the steps left for
 * the next round. */
export function formRound<Q extends Step>(queue: readonly Q[], maxBatch: number, maxPositions: number, alone?: (q: Q) => boolean): { runs: Q[][]; later: Q[] } {
  const taken = new Set<object>();
  const later: Q[] = [];
  const byLength = new Map<number, Q[]>();
  const runs: Q[][] = [];
  for (const q of queue) {
    if (taken.has(q.cache)) later.push(q);
    else {
      taken.add(q.cache);
      if (alone?.(q) === true) runs.push([q]);
      else byLength.set(q.seq, [...(byLength.get(q.seq) ?? []), q]);
    }
  }
  for (const [seq, same] of [...byLength].sort(([a], [b]) => (a === 1 ? 1 : 0) - (b === 1 ? 1 : 0))) {
    const rows = Math.max(1, Math.min(maxBatch, Math.floor(maxPositions / seq)));
    for (let i = 0; i < same.length; i += rows) runs.push(same.slice(i, i + rows));
  }
  return { runs, later };
}

/** Adds a run of `rows` steps of `seq` positions that took `ms` to the runner's counters. */
export function count(b: BatchStats, rows: number, seq: number, ms: number): void {
  b.steps += rows;
  if (rows > 1) b.batched += rows;
  b.largest = Math.max(b.largest, rows);
  if (rows > 1 && seq === 1) {
    b.decodeRuns++;
    b.decodeRows += rows;
    b.decodeMs += ms;
  }
}
