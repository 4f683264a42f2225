// Two processes on one wallet: a running verifier (its own nonce count) and its operator's
// `efed claim`. When the other process takes the nonce this one counted on, it counts again
// and resends, instead of failing every transaction from then on.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { NonceManager, Wallet } from "ethers";
import { connect } from "../../helpers/ledger.ts";
import { nonceTaken, SharedWalletNonces } from "../../../node/wallet/nonces.ts";
import { rpcProvider } from "../../../node/chain/ledger.ts";
import { startLocalChain } from "../../../node/chain/local-chain.ts";

describe("SharedWalletNonces", () => {
  it("resends with a fresh count when another process used the nonce; a plain NonceManager keeps failing", async () => {
    const { ethers } = await connect();
    const provider = ethers.provider;
    const to = Wallet.createRandom().address;
    const KEY = Wallet.createRandom().privateKey;
    const [funder] = await ethers.getSigners();
    await (await funder.sendTransaction({ to: new Wallet(KEY).address, value: 10n ** 18n })).wait();
    const other = new Wallet(KEY, provider); // the other process: counts from the chain each time
    const plain = new NonceManager(new Wallet(KEY, provider));
    const shared = new SharedWalletNonces(new Wallet(KEY, provider));

    await (await shared.sendTransaction({ to, value: 1n })).wait(); // counts from here on
    await (await plain.sendTransaction({ to, value: 1n })).wait();
    await (await other.sendTransaction({ to, value: 1n })).wait(); // takes the next nonce under both
    await assert.rejects(plain.sendTransaction({ to, value: 1n }), (err) => nonceTaken(err));
    const tx = await shared.sendTransaction({ to, value: 1n });
    await tx.wait();
    assert.equal(tx.nonce, (await provider.getTransactionCount(other.address)) - 1);
    assert.equal(await provider.getBalance(to), 4n);
  });

  it("over JSON-RPC, as nodes run it: the count read again right after the other process's transaction is fresh, not ethers' cached one", async () => {
    const chain = await startLocalChain("127.0.0.1", 0);
    const provider = rpcProvider(chain.url);
    try {
      // Hardhat's default account #2 (a public test key), funded on the local chain
      const KEY = "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a";
      const to = Wallet.createRandom().address;
      const shared = new SharedWalletNonces(new Wallet(KEY, provider));
      const other = new Wallet(KEY, provider);
      const counted = await shared.getNonce("pending"); // read: ethers would keep it for 250 ms
      await (await other.sendTransaction({ to, value: 1n, nonce: counted })).wait(); // takes it
      // within those 250 ms: a cached count would make every resend fail the same way
      const tx = await shared.sendTransaction({ to, value: 1n });
      await tx.wait();
      assert.equal(tx.nonce, counted + 1);
      assert.equal(await provider.getBalance(to), 2n);
    } finally {
      provider.destroy();
      await chain.server.close();
    }
  });
});
