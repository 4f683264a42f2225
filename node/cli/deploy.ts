// `efed deploy`: deploy token + ledger and record them in deployments/<chainId>.json.
import type { Command } from "commander";
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

Example:
  $ efed deploy --rpc http://127.0.0.1:8545 --params swarm.json --model ../shared/models/stories260K-f32.gguf
  deployments/31337.json

With --model, servers check their model (or the weights they fetch) against the recorded hash.`,
    )
    .action(async (opts: { rpc: string; params?: string; deployments: string; model?: string }) => {
      let params = opts.params === undefined ? parseDeployParams({}) : readDeployParams(opts.params);
      if (opts.model !== undefined) {
        log(`hashing ${opts.model}…`);
        const m = await loadModel(opts.model);
        params = { ...params, modelHash: modelManifest(m.config, m.weights).root, numLayers: m.config.nLayers };
      }
      const d = await deployLedger({ rpc: opts.rpc, params, deployerKey: process.env.EFED_DEPLOYER_KEY, log });
      const file = writeDeployment(opts.deployments, d);
      log(`token  ${d.token}`);
      log(`ledger ${d.ledger}`);
      if (d.governor !== undefined) log(`governor ${d.governor}`);
      console.log(file);
    });
}
