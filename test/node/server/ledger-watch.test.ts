// The server's policy on its own ledger record (standingOf): who keeps serving, who stops,
// and what the operator is told. Reading it at the confirmed block: test/node/chain/confirmed.test.ts.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { parseEther } from "ethers";
import { standingOf } from "../../../node/server/ledger-watch.ts";

const THETA = parseEther("0.9");
const record = (status: number, o: { pendingSlash?: bigint; trust?: bigint } = {}) => ({
  status: BigInt(status),
  pendingSlash: o.pendingSlash ?? 0n,
  trust: o.trust ?? parseEther("1"),
  stake: parseEther("100"),
});

describe("standingOf", () => {
  it("an active server keeps serving; one not yet registered at the block read serves but is not active", () => {
    assert.deepEqual(standingOf(record(1), THETA), { kind: "serving", active: true });
    assert.deepEqual(standingOf(record(0), THETA), { kind: "serving", active: false });
  });

  it("deactivated under θ, off routes on evidence, slashed: stop, and say why", () => {
    const under = standingOf(record(3, { trust: parseEther("0.5") }), THETA);
    assert.equal(under.kind, "deactivated");
    assert.match((under as { message: string }).message, /^deactivated by the verifiers \(S_i 0\.5 < θ 0\.9\); 100\.0 tokens of stake left/);
    const evidence = standingOf(record(3, { pendingSlash: 1n }), THETA);
    assert.match((evidence as { message: string }).message, /^taken off routes: evidence of a wrong answer/);
    const slashed = standingOf(record(4), THETA);
    assert.equal(slashed.kind, "deactivated");
    assert.match((slashed as { message: string }).message, /^slashed on evidence/);
  });

  it("unstaked: stop and point at efed withdraw", () => {
    const s = standingOf(record(2), THETA);
    assert.equal(s.kind, "unstaked");
    assert.match((s as { message: string }).message, /`efed withdraw` once the unbonding delay has passed/);
  });
});
