// Crashed servers in a verifier's report: silent on every try, spread over the epoch → acc 0
// and no work (the ledger then deactivates it, never slashes); one blip, too few tries, tries
// bunched together, or a verifier that reaches nobody → no entry. The Prober runs its rounds
// at secret, spread times and logs what it reports.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { LivenessLog, withUnreachable, type ProbeOutcome } from "../../../node/verifier/liveness.ts";
import { Prober } from "../../../node/verifier/prober.ts";
import { epochSeed, probeTimes, seededRandom } from "../../../node/verifier/plan.ts";

const RULE = { minTries: 3, minSpan: 20 };
const DEAD = "0x00000000000000000000000000000000000000DD";
const LIVE = "0x00000000000000000000000000000000000000aa";
const FLAKY = "0x00000000000000000000000000000000000000bb";
const round = (answered: Record<string, boolean>): ProbeOutcome[] => Object.entries(answered).map(([server, a]) => ({ server, answered: a }));

describe("liveness: who did not answer all epoch", () => {
  it("a server silent on every try, spread over the epoch, is reported with acc 0 and no work", () => {
    const log = new LivenessLog();
    for (const at of [105, 130, 155, 180]) log.record(1, at, round({ [DEAD]: false, [LIVE]: true }));
    assert.deepEqual(log.unreachable(1, RULE), [{ server: DEAD.toLowerCase(), accBps: 0, tokens: 0 }]);
    assert.equal(log.tries(1, DEAD), 4);
    assert.deepEqual(log.unreachable(2, RULE), [], "another epoch: nothing known");
  });

  it("one blip is no entry: a server that answered any round of the epoch is reachable", () => {
    const log = new LivenessLog();
    for (const at of [105, 130, 155]) log.record(1, at, round({ [FLAKY]: false, [LIVE]: true }));
    log.record(1, 180, round({ [FLAKY]: true, [LIVE]: true }));
    assert.deepEqual(log.unreachable(1, RULE), []);
  });

  it("too few tries, or tries bunched in a moment, are no entry", () => {
    const few = new LivenessLog();
    for (const at of [105, 160]) few.record(1, at, round({ [DEAD]: false, [LIVE]: true }));
    assert.deepEqual(few.unreachable(1, RULE), [], "2 tries of 3 needed");
    const bunched = new LivenessLog();
    for (const at of [150, 155, 160, 165]) bunched.record(1, at, round({ [DEAD]: false, [LIVE]: true }));
    assert.deepEqual(bunched.unreachable(1, RULE), [], "15 s apart, 20 needed");
  });

  it("a verifier whose own network is down reaches nobody and reports nobody unreachable", () => {
    const log = new LivenessLog();
    for (const at of [105, 130, 155, 180]) log.record(1, at, round({ [DEAD]: false, [LIVE]: false, [FLAKY]: false }));
    assert.deepEqual(log.unreachable(1, RULE), []);
    // down for half the epoch: only the rounds in which it reached someone count
    const half = new LivenessLog();
    for (const at of [105, 130]) half.record(1, at, round({ [DEAD]: false, [LIVE]: false }));
    for (const at of [155, 180]) half.record(1, at, round({ [DEAD]: false, [LIVE]: true }));
    assert.deepEqual(half.unreachable(1, RULE), [], "2 counted tries");
    // a swarm of one: nobody else to reach, so its silence proves nothing
    const alone = new LivenessLog();
    for (const at of [105, 130, 155, 180]) alone.record(1, at, round({ [DEAD]: false }));
    assert.deepEqual(alone.unreachable(1, RULE), []);
  });

  it("the report keeps audited results; unreachable entries add only servers never audited", () => {
    const audited = [{ server: LIVE, accBps: 9000, tokens: 40 }];
    const merged = withUnreachable(audited, [{ server: LIVE.toUpperCase().replace("0X", "0x"), accBps: 0, tokens: 0 }, { server: DEAD, accBps: 0, tokens: 0 }]);
    assert.deepEqual(merged, [...audited, { server: DEAD, accBps: 0, tokens: 0 }]);
  });

  it("probe times: one in each slice of the first 90% of the epoch, secret per verifier and epoch", () => {
    const t = probeTimes(1000, 100, 4, seededRandom(epochSeed("s", 3)));
    t.forEach((x, k) => assert.ok(x >= 1000 + k * 22.5 && x < 1000 + (k + 1) * 22.5, `${t}`));
    assert.notDeepEqual(t, probeTimes(1000, 100, 4, seededRandom(epochSeed("other", 3))));
  });

  it("the Prober runs its rounds through the epoch and reports the server that never answered", async () => {
    const timing = { now: 0, genesis: 0, epochLength: 100 };
    const said: string[] = [];
    let calls = 0;
    const prober = new Prober({ probe: async () => (calls++, round({ [DEAD]: false, [LIVE]: true })), timing: () => timing }, { secret: "s", say: (l) => said.push(l) });
    prober.start();
    try {
      const times = probeTimes(100, 100, 4, seededRandom(`${epochSeed("s", 1)}:probe`));
      for (const [k, at] of times.entries()) {
        timing.now = at;
        while (calls < k + 1) await new Promise((r) => setTimeout(r, 20));
      }
      timing.now = 200; // the next epoch: the report on epoch 1 is built
      assert.deepEqual(prober.unreachable(1), [{ server: DEAD.toLowerCase(), accBps: 0, tokens: 0 }]);
      assert.match(said.join("\n"), /report on epoch 1: 0x0+dd did not answer 4 tries over the epoch: reported unreachable \(acc 0, to be taken off routes, not slashed\)/);
    } finally {
      await prober.stop();
    }
  });
});
