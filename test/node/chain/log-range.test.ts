// RPC providers refuse eth_getLogs over wide block ranges (2,000 to 10,000 blocks is a common
// cap). On a chain taller than that, settling an epoch must read only the blocks that can
// hold its reports' events: a provider that refuses wider ranges settles all the same.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { Contract} from "ethers";
import { type ContractRunner, type Filter, type Provider, type Signer } from "ethers";
import { encodeResults, penalizeUnrevealed, readRevealed, settleEpoch, signCommitment } from "../../../node/chain/settlement.ts";
import { firstBlockAtOrAfter } from "../../../node/chain/block-search.ts";
import { settledOf } from "../../../node/chain/settled.ts";
import { as, connect, deployWorld, domainOf, EPOCH, goTo, goToCommit, goToSettle, parseLogs, registerServer, registerVerifiers } from "../../helpers/ledger.ts";

const CAP = 2000;

/** `provider` refusing eth_getLogs over more than CAP blocks, as public RPC endpoints do. */
function capped(provider: Provider): Provider & { widest: number } {
  const state = { widest: 0 };
  const blockOf = async (b: Filter["fromBlock"]) => (b === undefined || b === "latest" ? provider.getBlockNumber() : Number(b));
  return new Proxy(provider, {
    get(target, key) {
      if (key === "widest") return state.widest;
      if (key === "getLogs") {
        return async (f: Filter) => {
          const width = (await blockOf(f.toBlock)) - (await blockOf(f.fromBlock ?? 0)) + 1;
          if (width > CAP) throw new Error(`query exceeds max block range ${CAP}`);
          state.widest = Math.max(state.widest, width); // of the queries answered
          return target.getLogs(f);
        };
      }
      const v = Reflect.get(target, key, target);
      return typeof v === "function" ? v.bind(target) : v;
    },
  }) as Provider & { widest: number };
}

/** The ledger for `signer`, reading through `provider` (transactions still go through the signer). */
function through(ledger: Contract, signer: Signer, provider: Provider): Contract {
  const runner: ContractRunner = {
    provider,
    call: (tx) => provider.call(tx),
    estimateGas: (tx) => signer.estimateGas(tx),
    sendTransaction: (tx) => signer.sendTransaction(tx),
  };
  return ledger.connect(runner) as Contract;
}

describe("settlement reads on a tall chain behind a provider that caps eth_getLogs", () => {
  it("settles, reads reveals and strikes with every log query inside the cap; a query from block 0 would be refused", async () => {
    const { ethers, helpers } = await connect();
    const w = await deployWorld(ethers, helpers);
    await registerServer(w, 0, 0, 5);
    await registerVerifiers(w, 3);
    const s0 = await w.servers[0].getAddress();
    await helpers.mine(3 * CAP, { interval: 0 }); // a chain much taller than the cap before the epoch (in no time)
    const provider = capped(ethers.provider);
    const ledger = through(w.ledger, w.outsider, provider);
    await assert.rejects(ledger.queryFilter(ledger.filters.ReportCommitted(1), 0), /max block range/);

    const text = encodeResults([{ server: s0, accBps: 10_000, tokens: 1000 }]);
    const signed = await Promise.all(w.verifiers.slice(0, 3).map((v) => signCommitment(v, domainOf(w), 1, text)));
    await goToCommit(w, 1);
    await as(w, w.outsider).commitReports(1, signed.map((s) => s.signed.verifier), signed.map((s) => s.signed.commitment), signed.map((s) => s.signed.sig));
    await helpers.mine(CAP, { interval: 0 }); // the epoch's own blocks span more than one query too
    // two of three reveal to the settler; the third never does, and is left out past the middle of e+2
    const reveals = new Map(signed.slice(0, 2).map((s) => [s.signed.verifier, { results: text, salt: s.salt }]));
    await goTo(w, 3, EPOCH / 2);
    const rc = (await settleEpoch(ledger, 1, { reveals }))!;
    assert.equal(settledOf(parseLogs(w, rc)).length, 1);
    assert.deepEqual((await readRevealed(ledger, 1)).map((r) => r.verifier).sort(), signed.slice(0, 2).map((s) => s.signed.verifier).sort());
    await penalizeUnrevealed(ledger, 1);
    assert.equal((await w.ledger.getVerifier(signed[2].signed.verifier)).strikes, 1n);
    assert.ok(provider.widest > 0 && provider.widest <= CAP, `widest query ${provider.widest} blocks`);
  });

  it("firstBlockAtOrAfter finds the first block at or after a time, and the next block for a future time", async () => {
    const { ethers, helpers } = await connect();
    const w = await deployWorld(ethers, helpers);
    await goToSettle(w, 0);
    await helpers.mine(10, { interval: 7 });
    const head = await ethers.provider.getBlock("latest");
    const b = (await ethers.provider.getBlock(head!.number - 4))!;
    assert.equal(await firstBlockAtOrAfter(ethers.provider, b.timestamp), b.number);
    assert.equal(await firstBlockAtOrAfter(ethers.provider, b.timestamp - 1), b.number); // between two blocks: the later one
    assert.equal(await firstBlockAtOrAfter(ethers.provider, head!.timestamp + 100), head!.number + 1);
  });
});
