// `efed verifier`: stake, probe servers, sign attestations, settle epochs.
import { Option, type Command } from "commander";
import { formatUnits, parseUnits } from "ethers";
import { ledgerDomain } from "../chain/attestation.ts";
import { explainReverts } from "../chain/revert.ts";
import { loadModel } from "../model/load.ts";
import { DEVICES, type Device } from "../model/onnx/runtime.ts";
import { createPubSubNode, loadOrCreateKey } from "../p2p/host.ts";
import { multiaddr } from "@multiformats/multiaddr";
import { Prober } from "../verifier/prober.ts";
import { promptsFromFile, promptsFromModel } from "../verifier/prompts.ts";
import { attestationTopic, VerifierDaemon } from "../verifier/verifier.ts";
import { PeerExchange } from "../verifier/peer-exchange.ts";
import { p2pKeyFile } from "../wallet/keystore.ts";
import { DEFAULT_DEPLOYMENTS, DEFAULT_RPC, log, parseMultiaddr, parsePeerMultiaddr, parseUrl } from "./common.ts";
import { parseIntIn } from "./generate.ts";
import { openSigned } from "./signer.ts";

interface VerifierFlags {
  wallet: string;
  model: string;
  stake?: string;
  rpc: string;
  deployments: string;
  listen: string[];
  bootstrap: string[];
  probes: number;
  prompts?: string;
  device: Device;
  lie?: number;
}

export function verifierCommand(program: Command): void {
  program
    .command("verifier")
    .description("verify servers: probe them each epoch, sign attestations, settle epochs with a quorum")
    .requiredOption("--wallet <file>", "wallet keystore (password from EFED_PASSWORD or a prompt)")
    .requiredOption("--model <file>", "reference copy of the model")
    .option("--stake <tokens>", "stake at registration (default: the ledger's minimum)")
    .option("--rpc <url>", "JSON-RPC endpoint of the chain", parseUrl, DEFAULT_RPC)
    .option("--deployments <dir>", "where deployments/<chainId>.json is read", DEFAULT_DEPLOYMENTS)
    .option("--listen <multiaddr>", "address to listen on (repeatable)", parseMultiaddr, [] as string[])
    .option("--bootstrap <multiaddr>", "another verifier to join on gossipsub (repeatable)", (v: string, acc: string[]) => [...acc, parsePeerMultiaddr(v)], [] as string[])
    .option("--probes <n>", "probes per server per epoch", parseIntIn(1, 1000), 3)
    .option("--prompts <file>", "probe prompts, one per line (default: text the model generates itself)")
    .addOption(new Option("--device <device>", "execution provider").choices([...DEVICES]).default("cpu"))
    .addOption(new Option("--lie <accBps>", "test only: report this accuracy whatever the probes say").argParser(parseIntIn(0, 10000)).hideHelp())
    .addHelpText("after", `
Each epoch the verifier probes every active server at jittered times with ordinary
/efed/infer/1 sessions, compares each answer with its own recomputation (relative error
≤ 1e-3 and cosine distance ≤ 1e-4), signs acc = passed / probes for the epoch, and shares
the attestation on gossipsub. During the next epoch the verifier chosen by rotation submits
the quorum's attestations; if it has not by 60% of the epoch, any verifier does.

Example:
  $ efed verifier --wallet ~/.efed/wallets/0x….json --model ../shared/models/stories260K-f32.gguf --bootstrap /ip4/127.0.0.1/tcp/4100/p2p/12D3KooW…`)
    .action(async (o: VerifierFlags) => {
      const h = await openSigned(o.rpc, o.deployments, o.wallet, "unlock the verifier's wallet");
      try {
        const params = await h.ledger.params();
        const v = await h.ledger.getVerifier(h.address);
        if (Number(v.status) === 0) {
          const stake = o.stake === undefined ? (params.minVerifierStake as bigint) : parseUnits(o.stake, 18);
          if (stake < params.minVerifierStake) throw new Error(`--stake ${formatUnits(stake, 18)} is below the ledger's minimum of ${formatUnits(params.minVerifierStake, 18)} tokens`);
          const iface = [h.ledger.interface, h.token.interface];
          await explainReverts(iface, async () => (await h.tokenW.approve(h.deployment.ledger, stake)).wait());
          await explainReverts(iface, async () => (await h.ledgerW.registerVerifier(stake)).wait());
          log(`registered verifier ${h.address} with ${formatUnits(stake, 18)} tokens`);
        } else if (Number(v.status) !== 1) {
          throw new Error(`this wallet's verifier is exiting: withdraw once the delay has passed, then register again`);
        }
        log(`loading the reference model ${o.model}…`);
        const model = await loadModel(o.model);
        const prompts = o.prompts !== undefined ? promptsFromFile(o.prompts, model.tokenizer) : await promptsFromModel(o.model);
        const prober = new Prober(model, { device: o.device });
        const node = await createPubSubNode({ privateKey: await loadOrCreateKey(p2pKeyFile(o.wallet)), listen: o.listen.length ? o.listen : ["/ip4/127.0.0.1/tcp/0"] });
        for (const b of o.bootstrap) await node.dial(multiaddr(b)).catch((err: Error) => log(`bootstrap ${b}: ${err.message}`));
        const chainId = BigInt(h.deployment.chainId);
        const daemon = new VerifierDaemon(
          { node, ledger: h.ledgerW, signer: h.ledgerW.runner as never, domain: ledgerDomain(chainId, h.deployment.ledger), prober, chainId },
          { prompts, probesPerEpoch: o.probes, log, lieAccBps: o.lie },
        );
        await daemon.start();
        const exchange = new PeerExchange(node, attestationTopic(chainId, h.deployment.ledger));
        await exchange.start();
        log(`verifier ${h.address} listening on ${node.getMultiaddrs().map(String).join(" ")}`);
        if (o.lie !== undefined) log(`LYING VERIFIER (test): reports accuracy ${o.lie} bps whatever the probes say`);
        log("verifier ready");
        await new Promise<void>((resolve) => {
          const stop = () => void Promise.all([daemon.stop(), exchange.stop()]).then(() => resolve());
          process.once("SIGINT", stop);
          process.once("SIGTERM", stop);
        });
        await node.stop();
        await prober.close();
        log(`stopped after ${daemon.stats.probes} probes (${daemon.stats.failed} failed), ${daemon.stats.attestations} attestations, ${daemon.stats.submissions} settlements`);
      } finally {
        h.provider.destroy();
      }
    });
}
