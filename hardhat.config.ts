import { createRequire } from "node:module";
import { configVariable, defineConfig } from "hardhat/config";
import hardhatEthers from "@nomicfoundation/hardhat-ethers";
import hardhatIgnitionEthers from "@nomicfoundation/hardhat-ignition-ethers";
import hardhatNetworkHelpers from "@nomicfoundation/hardhat-network-helpers";
import hardhatNodeTestRunner from "@nomicfoundation/hardhat-node-test-runner";

// solc comes from the `solc` npm package (wasm build): Hardhat would otherwise
// download a compiler, which offline machines cannot do.
const require = createRequire(import.meta.url);

export default defineConfig({
  plugins: [hardhatEthers, hardhatIgnitionEthers, hardhatNetworkHelpers, hardhatNodeTestRunner],
  solidity: {
    version: "0.8.30",
    path: require.resolve("solc/soljson.js"),
    settings: {
      optimizer: { enabled: true, runs: 200 },
      evmVersion: "cancun",
      viaIR: true,
    },
  },
  paths: {
    tests: { solidity: "contracts", nodejs: "test" },
  },
  test: {
    solidity: {
      fuzz: { runs: 256 },
      invariant: { runs: 64, depth: 40, failOnRevert: true },
    },
  },
  networks: {
    // In-process chain for unit tests and scripts.
    default: { type: "edr-simulated", chainType: "l1" },
    // `efed chain` / `hardhat node`: mine every second so that block time,
    // and with it the ledger's epochs, advances even when nobody sends a tx.
    node: {
      type: "edr-simulated",
      chainType: "l1",
      mining: { auto: true, interval: 1000 },
      // a burst of transactions (every verifier commits at an epoch's start) must not push
      // block time ahead of the clock: each block would otherwise be a second after the last
      allowBlocksWithSameTimestamp: true,
    },
    localhost: { type: "http", chainType: "l1", url: "http://127.0.0.1:8545" },
    // Public networks (`efed deploy --network <name>`). The RPC URL and the deployer's key come
    // from the environment when a command uses the network, never from a file in the
    // repository; chainId makes Hardhat refuse a URL that points at another chain.
    sepolia: { type: "http", chainType: "l1", chainId: 11155111, url: configVariable("SEPOLIA_RPC_URL"), accounts: [configVariable("EFED_DEPLOYER_KEY")] },
    baseSepolia: { type: "http", chainType: "op", chainId: 84532, url: configVariable("BASE_SEPOLIA_RPC_URL"), accounts: [configVariable("EFED_DEPLOYER_KEY")] },
    arbitrumSepolia: { type: "http", chainType: "generic", chainId: 421614, url: configVariable("ARBITRUM_SEPOLIA_RPC_URL"), accounts: [configVariable("EFED_DEPLOYER_KEY")] },
    // any other EVM chain: the URL in EFED_RPC (the variable every efed command reads for --rpc)
    evm: { type: "http", chainType: "generic", url: configVariable("EFED_RPC"), accounts: [configVariable("EFED_DEPLOYER_KEY")] },
  },
});
