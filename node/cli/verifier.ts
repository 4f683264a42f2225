// `efed verifier`: stake, audit servers with mystery-shopper sessions, co-sign evidence,
// commit and reveal epoch reports, settle epochs.
import { randomBytes } from "node:crypto";
import { Option, type Command } from "commander";
import { formatUnits, parseUnits } from "ethers";
import { multiaddr } from "@multiformats/multiaddr";
import { explainReverts } from "../chain/revert.ts";
import { loadModel } from "../model/load.ts";
import { DEVICES, type Device } from "../model/onnx/runtime.ts";
import { createPubSubNode, loadOrCreateKey } from "../p2p/host.ts";
import { peerIdToBytes } from "../p2p/peer-id.ts";
import { Auditor, ledgerRoutes } from "../verifier/auditor.ts";
import { serveAudits } from "../verifier/audit-service.ts";
import { LedgerPeers } from "../verifier/ledger-peers.ts";
import { ChainClock, ledgerEpochClock } from "../chain/clock.ts";
import { ConfirmedReader } from "../chain/confirmed.ts";
import { readCandidates, readVerifiers } from "../chain/registry.ts";
import { becomeReachable } from "../server/reachable.ts";
import { ledgerAddrs } from "../p2p/reachability.ts";
import { LedgerPort } from "../verifier/ledger-port.ts";
import { ledgerProbe } from "../verifier/prober.ts";
import { PeerExchange } from "../verifier/peer-exchange.ts";
import { promptsFromFile, samplePrompts } from "../verifier/prompts.ts";
import { localEngineOf, type LocalEngine } from "../client/local.ts";
import { Rechecker } from "../verifier/recheck.ts";
import { VerifierDaemon } from "../verifier/verifier.ts";
import { ledgerDomain } from "../chain/domain.ts";
import { p2pKeyFile } from "../wallet/keystore.ts";
import { CONFIRMATIONS_HELP, DEFAULT_DEPLOYMENTS, DEFAULT_RPC, log, logToFile, parseMultiaddr, parsePeerMultiaddr, parseUrl, progressLine, threadsOption } from "./common.ts";
import { byteProgress } from "./progress.ts";
import { watchEpochs } from "./epoch-progress.ts";
import { parseIntIn } from "./generate.ts";
import { openSigned } from "./signer.ts";
import { VerifierStatus } from "../chain/enums.ts";

interface VerifierFlags {
  wallet: string;
  model: string;
  stake?: string;
  rpc: string;
  deployments: string;
  listen: string[];
  announce: string[];
  relay?: boolean;
  bootstrap: string[];
  confirmations?: number;
  audits: number;
  prompts?: string;
  device: Device;
  lie?: number;
  verbose?: boolean;
  log?: string;
}

export function verifierCommand(program: Command): void {
  program
    .command("verifier")
    .description("verify servers: audit them with ordinary client sessions, co-sign evidence, report and settle epochs")
    .requiredOption("--wallet <file>", "wallet keystore (password from EFED_PASSWORD or a prompt)")
    .requiredOption("--model <file>", "reference copy of the model")
    .option("--stake <tokens>", "stake at registration (default: the ledger's minimum)")
    .option("--rpc <url>", "JSON-RPC endpoint of the chain", parseUrl, DEFAULT_RPC)
    .option("--deployments <dir>", "where deployments/<chainId>.json is read", DEFAULT_DEPLOYMENTS)
    .option("--listen <multiaddr>", "address to listen on (repeatable)", parseMultiaddr, [] as string[])
    .option("--announce <multiaddr>", "address others reach this verifier at, registered instead of the listen addresses (repeatable)", parseMultiaddr, [] as string[])
    .option("--relay", "offer circuit relay v2: servers behind NAT reserve slots here and are reached through this node")
    .option("--bootstrap <multiaddr>", "another verifier to join on gossipsub (repeatable; optional: verifiers also find each other on the ledger)", (v: string, acc: string[]) => [...acc, parsePeerMultiaddr(v)], [] as string[])
    .option("--confirmations <n>", CONFIRMATIONS_HELP, parseIntIn(0, 1000))
    .option("--audits <n>", "audit sessions per epoch", parseIntIn(1, 10000), 2)
    .option("--prompts <file>", "secret audit prompts, one per line (default: text the model generates from a secret seed, fresh every epoch)")
    .addOption(new Option("--device <device>", "execution provider").choices([...DEVICES]).default("cpu"))
    .addOption(threadsOption())
    .option("--verbose", "log every audit: its route, steps and time")
    .option("--log <file>", "also append every notice, with its time, to this file")
    .addOption(new Option("--lie <accBps>", "test only: report this accuracy whatever the audits say").argParser(parseIntIn(0, 10000)).hideHelp())
    .addHelpText("after", `
Each epoch the verifier runs --audits sessions at secret, jittered times. An audit is an
ordinary client session (a fresh peer identity, a route chosen by the client's routing, a
secret prompt, prefill then decode steps); afterwards every hop of every step is recomputed
with the reference copy and checked against the receipt the server signed. A failed check is
evidence: the other verifiers re-check it and co-sign, and with 2/3 of the committee's stake
it goes on chain, where the server is taken off routes and slashed after the challenge window.
Clients also hand a share of their sessions to verifiers (/efed/audit/1).
Four times an epoch it also pings every active server, as a client does before a session; a
server silent on every try (while others answered) is reported unreachable (acc 0): with 2/3
of the committee's stake agreeing, the ledger deactivates it (off routes, not slashed).
Reports (acc and audited work per server) are committed in the first half of the next epoch,
revealed in the second half, and settled in the epoch after by the rotation's aggregator.
What decides (the committee, the servers audited, report states, due slashes) is read
--confirmations blocks below the head; transactions go to the head.

Example:
  $ efed verifier --wallet ~/.efed/wallets/0x….json --model ../shared/models/stories260K-f32.gguf --log verifier.log
  (verifiers find each other on the ledger; --bootstrap /ip4/…/p2p/16Uiu2… adds one by hand)`)
    .action(async (o: VerifierFlags) => {
      if (o.log !== undefined) logToFile(o.log);
      const h = await openSigned(o.rpc, o.deployments, o.wallet, "unlock the verifier's wallet", o.confirmations);
      try {
        const params = await h.ledger.params();
        const privateKey = await loadOrCreateKey(p2pKeyFile(o.wallet));
        const node = await createPubSubNode({ privateKey, listen: o.listen.length ? o.listen : ["/ip4/127.0.0.1/tcp/0"], announce: o.announce, relay: o.relay });
        await becomeReachable(node, { announced: o.announce.length > 0, peers: async () => [...(await readVerifiers(h.ledger)), ...(await readCandidates(h.ledger))], log });
        if (o.relay) log("relaying for nodes behind NAT (circuit relay v2)");
        const addrs = ledgerAddrs(node.getMultiaddrs().map(String));
        const v = await h.ledger.getVerifier(h.address);
        const iface = [h.ledger.interface, h.token.interface];
        if (Number(v.status) === VerifierStatus.none) {
          const stake = o.stake === undefined ? (params.minVerifierStake as bigint) : parseUnits(o.stake, 18);
          if (stake < params.minVerifierStake) throw new Error(`--stake ${formatUnits(stake, 18)} is below the ledger's minimum of ${formatUnits(params.minVerifierStake, 18)} tokens`);
          await explainReverts(iface, async () => (await h.tokenW.approve(h.deployment.ledger, stake)).wait());
          await explainReverts(iface, async () => (await h.ledgerW.registerVerifier(stake, peerIdToBytes(node.peerId), addrs)).wait());
          log(`registered verifier ${h.address} with ${formatUnits(stake, 18)} tokens (on the committee from the next epoch)`);
        } else if (Number(v.status) !== VerifierStatus.active) {
          throw new Error(`this wallet's verifier is exiting: withdraw once the delay has passed, then register again`);
        } else {
          await explainReverts(iface, async () => (await h.ledgerW.updateVerifierAddrs(addrs)).wait());
        }
        const loading = byteProgress(progressLine)(`loading the reference model ${o.model}`);
        const model = await loadModel(o.model, {}, { onBytes: loading.update }).finally(() => loading.done());
        let promptEngine: Promise<LocalEngine> | undefined; // samples the secret prompts, made on first use
        const corpus = o.prompts !== undefined ? promptsFromFile(o.prompts, model.tokenizer, 96) : undefined;
        const chainId = BigInt(h.deployment.chainId);
        const domain = ledgerDomain(chainId, h.deployment.ledger);
        const rechecker = new Rechecker(model, { device: o.device });
        const clock = await ledgerEpochClock(h.ledger as never, h.provider);
        // decisions at head − confirmations; the audits' routes keep their own reader (a reader
        // tells one caller of a reorg, and the port must hear of it)
        const auditor = new Auditor({ model, routes: ledgerRoutes(h.ledger, model.config.nLayers, new ConfirmedReader(h.provider, h.confirmed.confirmations)), domain, rechecker, device: o.device, epoch: clock.epoch });
        const port = new LedgerPort({ ledger: h.ledgerW, signer: h.ledgerW.runner as never, address: h.address, domain, interfaces: iface, confirmed: h.confirmed, log, fromBlock: h.deployment.block });
        for (const b of o.bootstrap) await node.dial(multiaddr(b)).catch((err: Error) => log(`bootstrap ${b}: ${err.message}`));
        const daemon = new VerifierDaemon(
          { node, port, auditor, rechecker, domain, probe: ledgerProbe(h.ledger) },
          {
            auditsPerEpoch: o.audits,
            secret: randomBytes(32).toString("hex"), // never leaves this process
            prompts: async (seed) => corpus ?? (await samplePrompts(await (promptEngine ??= localEngineOf(model, { device: o.device })), 8, 96, parseInt(seed.slice(0, 8), 16))),
            bos: model.tokenizer.bos,
            contextLength: model.config.contextLength,
            log,
            lieAccBps: o.lie,
            verbose: o.verbose,
          },
        );
        await daemon.start();
        await serveAudits(node, (records, tokens) => daemon.checkHanded(records, tokens));
        const exchange = new PeerExchange(node, daemon.gossipTopic);
        await exchange.start();
        const peers = new LedgerPeers(node, () => readVerifiers(h.ledger), log); // --bootstrap is optional
        peers.start();
        log(`verifier ${h.address} listening on ${node.getMultiaddrs().map(String).join(" ")}`);
        if (h.confirmed.confirmations > 0) log(`acting on the ledger ${h.confirmed.confirmations} blocks below the head (--confirmations)`);
        if (o.lie !== undefined) log(`LYING VERIFIER (test): reports accuracy ${o.lie} bps whatever the audits say`);
        log("verifier ready");
        // epochs go by while reports wait to settle: what this verifier checked, and what it earned
        let seen = "";
        const doing = () => `${daemon.stats.audits} audits, ${daemon.stats.failedChecks} failed checks`;
        const epochs = watchEpochs(
          { clock: new ChainClock(h.provider), genesis: Number(await h.ledger.genesis()), epochLength: Number(await h.ledger.epochLength()), line: progressLine },
          async () => `${(seen = doing())} · ${formatUnits(await h.ledger.pendingRewards(h.address), 18)} tokens payable`,
          { refresh: () => doing() !== seen },
        );
        await new Promise<void>((resolve) => {
          const stop = () => {
            epochs.stop();
            void Promise.all([daemon.stop(), exchange.stop(), peers.stop()]).then(() => resolve());
          };
          process.once("SIGINT", stop);
          process.once("SIGTERM", stop);
        });
        clock.stop();
        await node.stop();
        await auditor.close();
        await rechecker.close();
        await (await promptEngine)?.close();
        const s = daemon.stats;
        const r = daemon.reportStats;
        log(`stopped after ${s.audits} audits (${s.failedChecks} failed checks, ${s.handed} handed in), ${s.evidence} evidence records, ${s.submittedEvidence} submitted, ${r.commits} reports (${r.batches} commit batches, ${r.onChainReveals} revealed on chain), ${r.settlements} settlements`);
      } finally {
        h.provider.destroy();
      }
    });
}
