// Nodes act on the ledger at head − confirmations (node/chain/confirmed.ts), and a reorg of the
// in-process chain (evm_snapshot, a transaction, evm_revert, other blocks) leaves nothing behind:
// the server does not stop on the orphaned unstake, the client routes as before, the
// dashboard's events lose the orphaned one, and a reader that had acted on it is told.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { as, connect, deployWorld, registerServer } from "../../helpers/ledger.ts";
import { ConfirmedReader, defaultConfirmations, readEvents, REMOTE_CONFIRMATIONS } from "../../../node/chain/confirmed.ts";
import { readCandidates } from "../../../node/chain/registry.ts";
import { readStanding } from "../../../node/server/ledger-watch.ts";

describe("ConfirmedReader", () => {
  it("defaults: 0 confirmations on the local chain, REMOTE_CONFIRMATIONS elsewhere; refuses a negative count", () => {
    assert.equal(defaultConfirmations(31337n), 0);
    assert.equal(defaultConfirmations(11155111n), REMOTE_CONFIRMATIONS);
    assert.throws(() => new ConfirmedReader({} as never, -1), RangeError);
  });

  it("a reorg: the server never stops on an orphaned unstake, routes and events keep to the canonical chain", async () => {
    const { ethers, helpers } = await connect();
    const w = await deployWorld(ethers, helpers);
    await (await registerServer(w, 0, 0, 5)).wait();
    const server = await w.servers[0].getAddress();
    const theta: bigint = (await w.ledger.params()).theta;
    const deep = new ConfirmedReader(ethers.provider, 2);
    const shallow = new ConfirmedReader(ethers.provider, 0);
    await helpers.mine(3);
    assert.equal((await readStanding(w.ledger, server, theta, deep)).standing.kind, "serving");
    assert.equal((await readStanding(w.ledger, server, theta, shallow)).standing.kind, "serving");

    // the unstake lands in block k+1 ...
    const snapshot = await helpers.takeSnapshot();
    const k = await ethers.provider.getBlockNumber();
    const stake: bigint = (await w.ledger.getServer(server)).stake;
    await (await as(w, w.servers[0]).requestUnbond(stake)).wait();
    assert.equal(await ethers.provider.getBlockNumber(), k + 1);
    // ... a reader with no confirmations acts on it at once (the reason for confirmations) ...
    const acted = await readStanding(w.ledger, server, theta, shallow);
    assert.equal(acted.standing.kind, "unstaked");
    assert.equal(acted.block, k + 1);
    // ... one with 2 does not, even a block later
    await helpers.mine(1);
    const waited = await readStanding(w.ledger, server, theta, deep);
    assert.equal(waited.standing.kind, "serving");
    assert.equal(waited.block, k);

    // the chain reorganises: k+1 and k+2 are dropped, three other blocks come instead
    await snapshot.restore();
    await helpers.mine(3);
    assert.equal(await ethers.provider.getBlockNumber(), k + 3);
    const after = await readStanding(w.ledger, server, theta, deep);
    assert.equal(after.standing.kind, "serving", "never stopped: the unstake was orphaned before it had 2 confirmations");
    assert.equal(after.block, k + 1);
    assert.equal(after.reorgFrom, undefined, "nothing it read was dropped");
    // the shallow reader acted on block k+1, which is gone: it is told where to read again
    const told = await readStanding(w.ledger, server, theta, shallow);
    assert.equal(told.reorgFrom, k + 1);
    assert.equal(told.standing.kind, "serving");

    // clients route over the confirmed block's servers: still this one
    const at = (await deep.block()).block.number;
    assert.deepEqual((await readCandidates(w.ledger, undefined, at)).map((c) => c.account), [server]);
    // events up to the confirmed block: the orphaned UnbondRequested is not among them
    const events = await readEvents(w.ledger, ["UnbondRequested", "ServerRegistered"], 0, at, 7);
    assert.deepEqual(events.map((e) => e.name), ["ServerRegistered"]);

    // the unstake for real: acted on only once it has 2 blocks on top
    await (await as(w, w.servers[0]).requestUnbond(stake)).wait();
    assert.equal((await readStanding(w.ledger, server, theta, deep)).standing.kind, "serving");
    await helpers.mine(2);
    const done = await readStanding(w.ledger, server, theta, deep);
    assert.equal(done.standing.kind, "unstaked");
    const mined = await readEvents(w.ledger, ["UnbondRequested"], 0, done.block, 3);
    assert.equal(mined.length, 1);
    assert.equal(mined[0].args.account, server);
  });
});
