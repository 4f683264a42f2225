// acc_i from audited work (pure): each checked step of a server passes or fails; a server's
// result for the epoch is the share of its checked steps that passed, and its work the
// positions that passed. A lie caught once also becomes evidence (evidence.ts): the score
// is what Eq. 3 and θ use, the evidence is what slashes.
import type { ResultEntry } from "./port.ts";
import type { RecheckResult } from "./recheck.ts";

export interface ServerTally {
  passed: number;
  failed: number;
  positions: number;
}

export class EpochTallies {
  private readonly byEpoch = new Map<number, Map<string, ServerTally>>();

  /** Adds a re-check's verdicts; `accountOf` maps a hop's peer to its server account. */
  add(epoch: number, r: RecheckResult, accountOf: (peer: string) => string | undefined): void {
    if (r.discarded !== undefined) return;
    const m = this.byEpoch.get(epoch) ?? new Map<string, ServerTally>();
    this.byEpoch.set(epoch, m);
    r.hops.forEach((h, k) => {
      const account = accountOf(h.peer);
      if (account === undefined) return;
      const t = m.get(account) ?? { passed: 0, failed: 0, positions: 0 };
      t.passed += h.windows;
      t.positions += h.positions;
      if (r.failure?.hop === k) t.failed++;
      if (h.windows > 0 || r.failure?.hop === k) m.set(account, t);
    });
  }

  /** The report for `epoch`: servers with any checked step, accBps = passed / checked. */
  results(epoch: number): ResultEntry[] {
    const m = this.byEpoch.get(epoch);
    if (m === undefined) return [];
    return [...m.entries()].map(([server, t]) => ({ server, accBps: Math.floor((10_000 * t.passed) / (t.passed + t.failed)), tokens: t.positions }));
  }

  prune(before: number): void {
    for (const e of this.byEpoch.keys()) if (e < before) this.byEpoch.delete(e);
  }
}
