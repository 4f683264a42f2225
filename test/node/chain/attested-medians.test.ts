// The medians members sign for settleAttested must be exactly the ones the ledger's own walk
// (ReportWalk) computes from the same reports, or honest members would sign digests the
// ledger's other path disagrees with. Random committees, stakes, reports and ties, against
// the walk on the in-process chain; a server under 2/3 of the committee stake is left out.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { getAddress, hexlify } from "ethers";
import type { Contract } from "ethers";
import { committeeMedians } from "../../../node/chain/attested.ts";
import { decodeResults } from "../../../node/chain/settlement.ts";
import { lcg } from "../../../node/model/random.ts";
import { connect } from "../../helpers/ledger.ts";

describe("committeeMedians equals the ledger's ReportWalk", () => {
  it("over 60 random committees: the same medians for every server reported by 2/3 of the stake, and only those", async () => {
    const { ethers } = await connect();
    const walk = (await ethers.deployContract("ReportWalkHarness")) as unknown as Contract;
    const random = lcg(20261126);
    const pick = (n: number) => Math.floor(random() * n);
    const servers = Array.from({ length: 6 }, (_, i) => getAddress(hexlify(new Uint8Array(20).fill(0x10 + 0x20 * i)))); // increasing
    let compared = 0;
    for (let round = 0; round < 60; round++) {
      const members = 3 + pick(5);
      const stakes = Array.from({ length: members }, () => BigInt(1 + pick(4)) * 10n ** 18n);
      const total = stakes.reduce((a, b) => a + b, 0n);
      // packed by hand: accuracy over 10^4 (which both count as 10^4) is no encoder's output
      const reports = stakes.map(() => "0x" + servers.filter(() => random() < 0.7).map((server) => server.slice(2).toLowerCase() + ([0, 5_000, 9_000, 10_000][pick(4)] + pick(2)).toString(16).padStart(4, "0") + (100 * pick(4)).toString(16).padStart(8, "0")).join(""));
      const signed = new Map(decodeResults(committeeMedians(reports.map((results, i) => ({ stake: stakes[i], results })), total)).map((e) => [e.server, e]));
      for (const server of servers) {
        const [acc, tokens, reported] = (await walk.medianOf(reports, stakes, server)) as [bigint, bigint, bigint];
        const qualifies = reported > 0n && 3n * reported >= 2n * total;
        assert.equal(signed.has(server), qualifies, `round ${round}: ${server} reported by ${reported} of ${total}`);
        if (!qualifies) continue;
        assert.deepEqual([signed.get(server)!.accBps, signed.get(server)!.tokens], [Number(acc), Number(tokens)], `round ${round}: ${server}`);
        compared++;
      }
    }
    assert.ok(compared > 100, `only ${compared} servers compared`);
  });
});
