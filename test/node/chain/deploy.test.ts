// `efed deploy`'s library over JSON-RPC (an in-process chain behind Hardhat's JSON-RPC server,
// as `efed chain` runs it): the deployer from EFED_DEPLOYER_KEY with --rpc, a network of
// hardhat.config.ts whose URL and key come from the environment (pointed at the local chain),
// and an existing ERC-20 as the stake token — refused when it takes a fee or rebases.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import type { JsonRpcProvider} from "ethers";
import { computeAddress, Contract, ContractFactory, NonceManager, parseUnits, Wallet, type InterfaceAbi } from "ethers";
import { deployLedger } from "../../../node/chain/deploy.ts";
import { startLocalChain, type LocalChain } from "../../../node/chain/local-chain.ts";
import { loadAbi, rpcProvider } from "../../../node/chain/ledger.ts";
import { PROJECT_ROOT } from "../../../node/chain/hre.ts";
import { parseDeployParams } from "../../../node/chain/params.ts";
import { redactUrl } from "../../../node/chain/networks.ts";

// Hardhat's default accounts #0 and #1 (public test keys)
const KEY0 = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
const KEY1 = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";
const params = parseDeployParams({ rewardFund: "1000", tokenSupply: "1000000" });
const FUND = parseUnits("1000", 18);

function artifact(path: string): { abi: InterfaceAbi; bytecode: string } {
  return JSON.parse(readFileSync(`${PROJECT_ROOT}/artifacts/contracts/${path}`, "utf8"));
}

describe("deployLedger over JSON-RPC", () => {
  let chain: LocalChain;
  let provider: JsonRpcProvider;
  let owner: NonceManager;
  const env = { ...process.env };

  before(async () => {
    chain = await startLocalChain("127.0.0.1", 0);
    provider = rpcProvider(chain.url);
    owner = new NonceManager(new Wallet(KEY0, provider));
  });
  after(async () => {
    process.env = env;
    provider.destroy();
    await chain.server.close();
  });

  async function newToken(path: string, args: unknown[]): Promise<string> {
    const a = artifact(path);
    owner.reset(); // deployLedger sent from the same account
    const c = await new ContractFactory(a.abi, a.bytecode, owner).deploy(...args);
    await c.waitForDeployment();
    return c.getAddress();
  }

  it("--rpc with EFED_DEPLOYER_KEY: the key's account deploys and funds the pool", async () => {
    const d = await deployLedger({ target: { rpc: chain.url, deployerKey: KEY1 }, params });
    assert.equal(d.deployer, computeAddress(KEY1));
    assert.equal(d.rpc, chain.url);
    const ledger = new Contract(d.ledger, loadAbi("TrustLedger"), provider);
    assert.equal(await ledger.rewardPool(), FUND);
    assert.equal(await ledger.token(), d.token);
  });

  it("a key that is not one: one clear line", async () => {
    await assert.rejects(deployLedger({ target: { rpc: chain.url, deployerKey: "0x1234" }, params }), { name: "DeployerKeyError" });
  });

  it("--network evm: URL from EFED_RPC and key from EFED_DEPLOYER_KEY; a missing one is named", async () => {
    process.env.EFED_RPC = chain.url;
    delete process.env.EFED_DEPLOYER_KEY;
    await assert.rejects(deployLedger({ target: { network: "evm" }, params }), { name: "NetworkConfigError", message: /evm reads EFED_RPC and EFED_DEPLOYER_KEY .*set EFED_DEPLOYER_KEY/ });
    delete process.env.SEPOLIA_RPC_URL;
    await assert.rejects(deployLedger({ target: { network: "sepolia" }, params }), { name: "NetworkConfigError", message: /set SEPOLIA_RPC_URL and EFED_DEPLOYER_KEY/ });
    await assert.rejects(deployLedger({ target: { network: "mainnet" }, params }), { name: "NetworkConfigError", message: /no network "mainnet".*sepolia, baseSepolia, arbitrumSepolia, evm/ });
    process.env.EFED_DEPLOYER_KEY = KEY1;
    process.env.SEPOLIA_RPC_URL = chain.url; // a URL of another chain than the network's
    await assert.rejects(deployLedger({ target: { network: "sepolia" }, params: parseDeployParams({ governorDelaySeconds: 86400 }) }), {
      name: "NetworkConfigError",
      message: "SEPOLIA_RPC_URL of network sepolia reaches chain 31337, not sepolia's 11155111: fix the URL",
    });
    const d = await deployLedger({ target: { network: "evm" }, params });
    assert.equal(d.deployer, computeAddress(KEY1));
    assert.equal(d.rpc, chain.url, "no path or credentials to hide");
    assert.notEqual(await provider.getCode(d.ledger), "0x");
    process.env = { ...env };
  });

  it("records a network's URL without the API key providers put in its path", () => {
    assert.equal(redactUrl("https://eth-sepolia.g.alchemy.com/v2/SECRET"), "https://eth-sepolia.g.alchemy.com/…");
    assert.equal(redactUrl("https://user:pw@rpc.example.org/?key=SECRET"), "https://rpc.example.org/…");
  });

  it("--token: a ledger over an existing ERC-20; the check returns the deployer's tokens whole", async () => {
    const token = await newToken("EfedToken.sol/EfedToken.json", [computeAddress(KEY0), parseUnits("5000", 18)]);
    const erc20 = new Contract(token, loadAbi("EfedToken"), provider);
    const d = await deployLedger({ target: { rpc: chain.url }, params, token });
    assert.equal(d.token, token);
    assert.equal(d.deployer, computeAddress(KEY0));
    const ledger = new Contract(d.ledger, loadAbi("TrustLedger"), provider);
    assert.equal(await ledger.token(), token);
    assert.equal(await ledger.rewardPool(), FUND);
    assert.equal(await erc20.balanceOf(d.deployer), parseUnits("4000", 18), "only the reward fund left the deployer");
  });

  it("--token refuses a fee-on-transfer token, a rebasing one, and an address without code", async () => {
    const taxed = await newToken("test/FeeOnTransferToken.sol/FeeOnTransferToken.json", [computeAddress(KEY0), parseUnits("5000", 18), 100]);
    await assert.rejects(deployLedger({ target: { rpc: chain.url }, params, token: taxed }), {
      name: "StakeTokenError",
      message: /takes a fee on transfer \(sent 1000\.0, received 990\.0\)/,
    });
    const rebasing = await newToken("test/RebasingToken.sol/RebasingToken.json", [computeAddress(KEY0), parseUnits("5000", 18)]);
    await assert.rejects(deployLedger({ target: { rpc: chain.url }, params, token: rebasing }), { name: "StakeTokenError", message: /is a rebasing token/ });
    await assert.rejects(deployLedger({ target: { rpc: chain.url }, params, token: computeAddress(KEY1) }), { name: "StakeTokenError", message: /no contract/ });
    await assert.rejects(deployLedger({ target: { rpc: chain.url }, params: parseDeployParams({ rewardFund: "9000" }), token: rebasing }), { name: "StakeTokenError", message: /holds 5000\.0 REB; rewardFund needs 9000\.0/ });
  });

  it("a fee turned on after deployment: the ledger refuses the next funding (TrustLedgerTokenNotExact)", async () => {
    const switchable = await newToken("test/FeeOnTransferToken.sol/FeeOnTransferToken.json", [computeAddress(KEY0), parseUnits("5000", 18), 0]);
    const d = await deployLedger({ target: { rpc: chain.url }, params, token: switchable });
    owner.reset();
    const token = new Contract(switchable, artifact("test/FeeOnTransferToken.sol/FeeOnTransferToken.json").abi, owner);
    await (await token.setFee(100)).wait();
    await (await token.approve(d.ledger, FUND)).wait();
    const ledger = new Contract(d.ledger, loadAbi("TrustLedger"), owner);
    await assert.rejects(ledger.fundRewards.staticCall(FUND), (err: { data?: string }) => {
      const e = ledger.interface.parseError(err.data!);
      assert.equal(e?.name, "TrustLedgerTokenNotExact");
      assert.deepEqual([...e!.args], [FUND, (FUND * 99n) / 100n]);
      return true;
    });
  });
});
