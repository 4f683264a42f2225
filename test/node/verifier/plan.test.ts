// The verifier's policy, apart from I/O: secret, per-epoch plans; client-like lengths; the
// aggregator rotation; acc from audited steps; the 2/3-of-stake rule for evidence.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { aggregatorFor, auditTimes, decodeLength, epochSeed, planAudit, promptLength, seededRandom } from "../../../node/verifier/plan.ts";
import { EpochTallies } from "../../../node/verifier/tally.ts";
import { reachesTwoThirds } from "../../../node/verifier/evidence-pool.ts";
import type { RecheckResult } from "../../../node/verifier/recheck.ts";

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

describe("verifier planning", () => {
  it("plans are secret and fresh: another secret or another epoch gives other times", () => {
    const a = auditTimes(1000, 10, 5, seededRandom(epochSeed("secret-a", 7)));
    assert.deepEqual(a, auditTimes(1000, 10, 5, seededRandom(epochSeed("secret-a", 7))), "deterministic given the secret");
    assert.notDeepEqual(a, auditTimes(1000, 10, 5, seededRandom(epochSeed("secret-b", 7))));
    assert.notDeepEqual(a, auditTimes(1000, 10, 5, seededRandom(epochSeed("secret-a", 8))));
    assert.ok(a.every((t, i) => t >= 1000 && t <= 1007 && (i === 0 || t >= a[i - 1])), `${a}`);
  });

  it("prompt and decode lengths follow a typed prompt's spread, inside the context", () => {
    const r = seededRandom("lengths");
    const p = Array.from({ length: 2000 }, () => promptLength(r));
    const d = Array.from({ length: 2000 }, () => decodeLength(r));
    assert.ok(Math.abs(median(p) - 12) <= 2 && Math.abs(median(d) - 32) <= 4, `medians ${median(p)} ${median(d)}`);
    assert.ok(Math.min(...p) >= 2 && Math.max(...p) <= 96 && new Set(p).size > 20);
    const pool = [[1, ...Array.from({ length: 200 }, (_, i) => 3 + i)]];
    for (let i = 0; i < 200; i++) {
      const plan = planAudit(pool, 1, 64, r);
      assert.equal(plan.promptIds[0], 1);
      assert.ok(plan.promptIds.length + plan.maxTokens <= 64, "over the context");
      assert.deepEqual(plan.promptIds.slice(1), pool[0].slice(1, plan.promptIds.length));
    }
    assert.throws(() => planAudit([], 1, 64, r), /no prompts/);
  });

  it("the aggregator rotates over the committee, case-insensitively", () => {
    const vs = ["0xB", "0xa", "0xC"];
    assert.deepEqual([0, 1, 2, 3].map((e) => aggregatorFor(e, vs)), ["0xa", "0xb", "0xc", "0xa"]);
    assert.equal(aggregatorFor(5, []), undefined);
  });

  it("acc is the share of a server's audited windows that passed; discarded records count for nothing", () => {
    const t = new EpochTallies();
    const hops = (steps: number[]) => steps.map((s, k) => ({ peer: `p${k}`, start: k, end: k + 1, windows: s, positions: s * 2 }));
    const ok: RecheckResult = { hops: hops([4, 4]), computeMs: 1, maxError: 0 };
    const lie: RecheckResult = { hops: hops([3, 2]), failure: { step: 2, hop: 1, error: 1, position: 5, tolerance: 1e-6 }, computeMs: 1, maxError: 1 };
    const junk: RecheckResult = { hops: hops([9, 9]), discarded: "bad signature", computeMs: 1, maxError: 0 };
    const account = (p: string) => ({ p0: "0xaa", p1: "0xbb" })[p];
    for (const r of [ok, lie, junk]) t.add(3, r, account);
    const res = Object.fromEntries(t.results(3).map((x) => [x.server, x]));
    assert.deepEqual(res["0xaa"], { server: "0xaa", accBps: 10_000, tokens: 14 });
    assert.deepEqual(res["0xbb"], { server: "0xbb", accBps: Math.floor((10_000 * 6) / 7), tokens: 12 });
    t.prune(4);
    assert.deepEqual(t.results(3), []);
  });

  it("evidence needs co-signers holding two thirds of the committee's stake", () => {
    const c = { members: new Map([["0xa", 50n], ["0xb", 50n], ["0xc", 100n]]), total: 200n };
    assert.equal(reachesTwoThirds(c, ["0xa", "0xb"]), false); // half the stake, two of three heads
    assert.equal(reachesTwoThirds(c, ["0xa", "0xc"]), true);
    assert.equal(reachesTwoThirds(c, ["0xA", "0xC"]), true);
    assert.equal(reachesTwoThirds(c, ["0xc", "0xd"]), false); // a stranger adds nothing
    assert.equal(reachesTwoThirds({ members: new Map(), total: 0n }, []), false);
  });
});
