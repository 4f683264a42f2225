// Which servers did not answer all epoch (pure). A server that crashed (SIGKILL, power loss)
// never clears its addresses, so it stays active on the ledger until the committee says
// otherwise: a verifier that tried it several times, spread over the epoch, and never got an
// answer reports it with acc 0 and no work. Settlement takes the stake-weighted median over
// ≥ 2/3 of the committee stake, so S_i = 0 < θ and the ledger deactivates it (Eq. 4: taken
// off routes, never slashed). A try counts only when the verifier reached another server in
// the same round: a verifier whose own network is down reaches nobody and reports nobody.
import type { ResultEntry } from "./port.ts";

/** One server's answer in a probe round. */
export interface ProbeOutcome {
  /** The server's account (any case). */
  readonly server: string;
  readonly answered: boolean;
}

interface Tries {
  /** Chain times of the counted rounds it did not answer. */
  readonly silent: number[];
  answered: boolean;
}

export interface UnreachableRule {
  /** Counted rounds without an answer needed to report a server (one blip is not enough). */
  readonly minTries: number;
  /** Seconds between the first and last of them: the tries must be spread over the epoch. */
  readonly minSpan: number;
}

export class LivenessLog {
  private readonly byEpoch = new Map<number, Map<string, Tries>>();

  /** Records a probe round of `epoch` started at chain time `at`. */
  record(epoch: number, at: number, outcomes: readonly ProbeOutcome[]): void {
    const m = this.byEpoch.get(epoch) ?? new Map<string, Tries>();
    this.byEpoch.set(epoch, m);
    const answered = outcomes.filter((o) => o.answered).length;
    for (const o of outcomes) {
      const server = o.server.toLowerCase();
      const t = m.get(server) ?? { silent: [], answered: false };
      m.set(server, t);
      if (o.answered) t.answered = true;
      else if (answered > 0) t.silent.push(at); // someone else answered: our network was up
    }
  }

  /** Servers that answered no round of `epoch` and were tried often and widely enough. */
  unreachable(epoch: number, rule: UnreachableRule): ResultEntry[] {
    const out: ResultEntry[] = [];
    for (const [server, t] of this.byEpoch.get(epoch) ?? []) {
      if (t.answered || t.silent.length < rule.minTries) continue;
      if (Math.max(...t.silent) - Math.min(...t.silent) < rule.minSpan) continue;
      out.push({ server, accBps: 0, tokens: 0 });
    }
    return out;
  }

  /** How many counted silent tries `server` had in `epoch` (for the log). */
  tries(epoch: number, server: string): number {
    return this.byEpoch.get(epoch)?.get(server.toLowerCase())?.silent.length ?? 0;
  }

  prune(before: number): void {
    for (const e of this.byEpoch.keys()) if (e < before) this.byEpoch.delete(e);
  }
}

/** The epoch report: audited results first; a server audited at all answered, so an
 * unreachable entry only adds servers the audits never reached. */
export function withUnreachable(audited: readonly ResultEntry[], unreachable: readonly ResultEntry[]): ResultEntry[] {
  const seen = new Set(audited.map((e) => e.server.toLowerCase()));
  return [...audited, ...unreachable.filter((e) => !seen.has(e.server.toLowerCase()))];
}
