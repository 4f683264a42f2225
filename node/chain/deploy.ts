// `efed deploy`: the Ignition module over JSON-RPC, and a deployments file as the result.
import { rmSync } from "node:fs";
import { join } from "node:path";
import { parseUnits } from "ethers";
import EfedLedgerModule from "../../ignition/modules/EfedLedger.ts";
import { ensureBuilt, loadHre, PROJECT_ROOT } from "./hre.ts";
import { probeChain } from "./rpc.ts";
import { toLedgerParams, type DeployParams } from "./params.ts";
import type { Deployment } from "./deployments.ts";

export interface DeployOptions {
  readonly rpc: string;
  readonly params: DeployParams;
  /** Hex private key of the deployer; default: the node's first unlocked account. */
  readonly deployerKey?: string;
  readonly log?: (line: string) => void;
}

export async function deployLedger(opts: DeployOptions): Promise<Deployment> {
  const log = opts.log ?? (() => {});
  const chainId = await probeChain(opts.rpc);
  await ensureBuilt(log);
  const hre = await loadHre();
  const override = opts.deployerKey === undefined ? { url: opts.rpc } : { url: opts.rpc, accounts: [opts.deployerKey] };
  const connection = await hre.network.create({ network: "localhost", override });
  const deploymentId = `efed-${chainId}-${Date.now()}`;
  try {
    const [deployer] = await connection.ethers.getSigners();
    log(`deploying EfedToken, EfedTimelock and TrustLedger (with its registry and court) to chain ${chainId} from ${deployer.address}…`);
    const p = opts.params;
    if (chainId !== 31337n && p.governorDelaySeconds < 86_400) {
      throw new Error(`governorDelaySeconds ${p.governorDelaySeconds} is too short for chain ${chainId}: use at least 86400 (a day) outside the local chain`);
    }
    const { token, ledger, governor } = await connection.ignition.deploy(EfedLedgerModule, {
      deploymentId,
      displayUi: false,
      parameters: {
        EfedLedger: {
          tokenSupply: parseUnits(p.tokenSupply, 18),
          rewardFund: parseUnits(p.rewardFund, 18),
          modelHash: p.modelHash,
          numLayers: p.numLayers,
          epochSeconds: p.epochSeconds,
          governorDelaySeconds: p.governorDelaySeconds,
          params: { ...toLedgerParams(p) },
        },
      },
    });
    const block = await connection.ethers.provider.getBlockNumber();
    return {
      chainId: chainId.toString(),
      rpc: opts.rpc,
      token: await token.getAddress(),
      ledger: await ledger.getAddress(),
      governor: await governor.getAddress(),
      deployer: deployer.address,
      block,
      deployedAt: new Date().toISOString(),
      params: { ...p },
    };
  } finally {
    await connection.close();
    // The local chain forgets everything on restart, so its Ignition journal is useless;
    // real networks keep theirs to resume an interrupted deployment.
    if (chainId === 31337n) rmSync(join(PROJECT_ROOT, "ignition", "deployments", deploymentId), { recursive: true, force: true });
  }
}
