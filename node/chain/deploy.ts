// `efed deploy`: an Ignition module over JSON-RPC, and a deployments file as the result. The
// chain is named by URL (--rpc, the deployer an unlocked account or EFED_DEPLOYER_KEY) or as a
// network of hardhat.config.ts (--network, URL and key from the environment); the stake token
// is a new EfedToken (module EfedLedger) or an existing ERC-20 (module EfedLedgerOnToken).
import { rmSync } from "node:fs";
import { join } from "node:path";
import { parseUnits } from "ethers";
import EfedLedgerModule from "../../ignition/modules/EfedLedger.ts";
import EfedLedgerOnTokenModule from "../../ignition/modules/EfedLedgerOnToken.ts";
import { ensureBuilt, loadHre, PROJECT_ROOT } from "./hre.ts";
import { LOCAL_CHAIN_ID, probeChain } from "./rpc.ts";
import { toLedgerParams, type DeployParams } from "./params.ts";
import { checkNetworkChain, redactUrl, resolveNetwork } from "./networks.ts";
import { explainTokenRefusal, precheckStakeToken } from "./stake-token.ts";
import type { Deployment } from "./deployments.ts";

/** A chain by URL, or a network of hardhat.config.ts by name. */
export type DeployTarget =
  | { readonly rpc: string; /** Hex private key of the deployer; default: the node's first unlocked account. */ readonly deployerKey?: string }
  | { readonly network: string };

export interface DeployOptions {
  readonly target: DeployTarget;
  readonly params: DeployParams;
  /** An existing ERC-20 to stake and reward in, instead of a new EfedToken. */
  readonly token?: string;
  readonly log?: (line: string) => void;
}

export class DeployerKeyError extends Error {
  override readonly name = "DeployerKeyError";
}

const KEY = /^0x[0-9a-fA-F]{64}$/;

export async function deployLedger(opts: DeployOptions): Promise<Deployment> {
  const log = opts.log ?? (() => {});
  const hre = await loadHre();
  const t = opts.target;
  const url = "network" in t ? await resolveNetwork(hre, t.network) : t.rpc;
  const key = "network" in t ? process.env.EFED_DEPLOYER_KEY : t.deployerKey;
  if (key !== undefined && !KEY.test(key)) throw new DeployerKeyError("EFED_DEPLOYER_KEY is not a private key: 0x and 64 hex digits");
  const chainId = await probeChain(url);
  if ("network" in t) checkNetworkChain(hre, t.network, chainId);
  const p = opts.params;
  if (chainId !== LOCAL_CHAIN_ID && p.governorDelaySeconds < 86_400) {
    throw new Error(`governorDelaySeconds ${p.governorDelaySeconds} is too short for chain ${chainId}: use at least 86400 (a day) outside the local chain`);
  }
  await ensureBuilt(log);
  const connection =
    "network" in t ? await hre.network.create({ network: t.network })
    : await hre.network.create({ network: "localhost", override: key === undefined ? { url } : { url, accounts: [key] } });
  const deploymentId = `efed-${chainId}-${Date.now()}`;
  try {
    const [deployer] = await connection.ethers.getSigners();
    const rewardFund = parseUnits(p.rewardFund, 18);
    const common = {
      rewardFund,
      modelHash: p.modelHash,
      numLayers: p.numLayers,
      epochSeconds: p.epochSeconds,
      governorDelaySeconds: p.governorDelaySeconds,
      params: { ...toLedgerParams(p) },
    };
    let deployed: { token: { getAddress(): Promise<string> }; ledger: { getAddress(): Promise<string> }; governor: { getAddress(): Promise<string> } };
    if (opts.token === undefined) {
      log(`deploying EfedToken, EfedTimelock and TrustLedger (with its registry and court) to chain ${chainId} from ${deployer.address}…`);
      deployed = await connection.ignition.deploy(EfedLedgerModule, {
        deploymentId,
        displayUi: false,
        parameters: { EfedLedger: { ...common, tokenSupply: parseUnits(p.tokenSupply, 18) } },
      });
    } else {
      const symbol = await precheckStakeToken(connection.ethers.provider, opts.token, deployer.address, rewardFund);
      log(`checking ${symbol} at ${opts.token} (fee on transfer, rebasing), then deploying EfedTimelock and TrustLedger over it to chain ${chainId} from ${deployer.address}…`);
      try {
        deployed = await connection.ignition.deploy(EfedLedgerOnTokenModule, {
          deploymentId,
          displayUi: false,
          parameters: { EfedLedgerOnToken: { ...common, token: opts.token } },
        });
      } catch (err) {
        throw explainTokenRefusal(opts.token, err) ?? err;
      }
    }
    const block = await connection.ethers.provider.getBlockNumber();
    return {
      chainId: chainId.toString(),
      // a network's URL often carries the provider's API key: not written to a file
      rpc: "network" in t ? redactUrl(url) : url,
      token: await deployed.token.getAddress(),
      ledger: await deployed.ledger.getAddress(),
      governor: await deployed.governor.getAddress(),
      deployer: deployer.address,
      block,
      deployedAt: new Date().toISOString(),
      params: { ...p },
    };
  } finally {
    await connection.close();
    // The local chain forgets everything on restart, so its Ignition journal is useless;
    // real networks keep theirs to resume an interrupted deployment.
    if (chainId === LOCAL_CHAIN_ID) rmSync(join(PROJECT_ROOT, "ignition", "deployments", deploymentId), { recursive: true, force: true });
  }
}
