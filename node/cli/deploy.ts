// `efed deploy`: deploy token + ledger and record them in deployments/<chainId>.json.
import { InvalidArgumentError, Option, type Command } from "commander";
import { deployLedger } from "../chain/deploy.ts";
import { writeDeployment } from "../chain/deployments.ts";
import { parseDeployParams, readDeployParams } from "../chain/params.ts";
import { DEFAULT_DEPLOYMENTS, DEFAULT_RPC, log, parseUrl } from "./common.ts";
import { loadModel } from "../model/load.ts";
import { modelManifest } from "../model/manifest.ts";

export function deployCommand(program: Command): void {
  program
    .command("deploy")
    .description("deploy the stake token and the trust ledger, and record their addresses")
    .option("--rpc <url>", "JSON-RPC endpoint of the chain", parseUrl, DEFAULT_RPC)
    .addOption(new Option("--network <name>", "a network of hardhat.config.ts instead of --rpc (sepolia, baseSepolia, arbitrumSepolia, evm): URL and key from the environment").conflicts("rpc"))
    .option("--token <address>", "stake in this existing ERC-20 (18 decimals, no transfer fee, not rebasing) instead of a new EfedToken", parseAddress)
    .option("--params <file>", "deployment parameters (JSON); defaults suit the local chain")
    .option("--deployments <dir>", "where deployments/<chainId>.json is written", DEFAULT_DEPLOYMENTS)
    .option("--model <file>", "record this model on the ledger (its manifest hash and layer count)")
    .addHelpText(
      "after",
      `
Parameters (all optional, human units; floors and caps in docs/settlement.md):
  numLayers 5, modelHash 0x00…, epochSeconds 10, tokenSupply "1000000000",
  rewardFund "1000000", minServerStake "100", minVerifierStake "50",
  rewardPerEpoch "100", verifierFee "0.1", theta "0.9", maxTokensPerEpoch 1000000,
  minMemoryMiB 64, minThroughput 1, unbondingSeconds 70, slashShareBps 5000,
  strikeLimit 3, strikeDecayEpochs 10, evidenceWindowEpochs 2, challengeEpochs 2,
  sizeNeutralWeights true, governorDelaySeconds 2 (at least 86400 off the local chain)

The ledger is governed by a TimelockController (the deployer proposes and executes);
slashed stake goes to it as treasury.
The deployer is the node's first unlocked account, or the key in EFED_DEPLOYER_KEY.
--network reads its URL from the environment (sepolia: SEPOLIA_RPC_URL, baseSepolia:
BASE_SEPOLIA_RPC_URL, arbitrumSepolia: ARBITRUM_SEPOLIA_RPC_URL, evm: EFED_RPC) and the
deployer's key from EFED_DEPLOYER_KEY. With --token, the deployer must hold rewardFund of it:
it is moved in and back out to refuse a fee-on-transfer or rebasing token, then funds the pool.

Examples:
  $ efed deploy --rpc http://127.0.0.1:8545 --params swarm.json --model ../shared/models/stories260K-f32.gguf
  deployments/31337.json
  $ EFED_DEPLOYER_KEY=0x… efed deploy --rpc https://rpc.example.org --params public.json --token 0x…
  $ SEPOLIA_RPC_URL=https://… EFED_DEPLOYER_KEY=0x… efed deploy --network sepolia --params public.json

With --model, servers check their model (or the weights they fetch) against the recorded hash.`,
    )
    .action(async (opts: { rpc: string; network?: string; token?: string; params?: string; deployments: string; model?: string }) => {
      let params = opts.params === undefined ? parseDeployParams({}) : readDeployParams(opts.params);
      if (opts.model !== undefined) {
        log(`hashing ${opts.model}…`);
        const m = await loadModel(opts.model);
        params = { ...params, modelHash: modelManifest(m.config, m.weights).root, numLayers: m.config.nLayers };
      }
      const target = opts.network !== undefined ? { network: opts.network } : { rpc: opts.rpc, deployerKey: process.env.EFED_DEPLOYER_KEY };
      const d = await deployLedger({ target, params, token: opts.token, log });
      const file = writeDeployment(opts.deployments, d);
      log(`token  ${d.token}`);
      log(`ledger ${d.ledger}`);
      if (d.governor !== undefined) log(`governor ${d.governor}`);
      console.log(file);
    });
}

function parseAddress(v: string): string {
  if (!/^0x[0-9a-fA-F]{40}$/.test(v)) throw new InvalidArgumentError("must be an address: 0x and 40 hex digits");
  return v;
}
