// `efed server`: serve a range of layers on the swarm, registered on the ledger.
import { InvalidArgumentError, Option, type Command } from "commander";
import { formatUnits, parseUnits, ZeroHash, type Contract } from "ethers";
import { readCandidates, readVerifiers, registerOrUpdate } from "../chain/registry.ts";
import { becomeReachable, watchAddrs } from "../server/reachable.ts";
import { ledgerAddrs } from "../p2p/reachability.ts";
import { modelHash } from "../model/manifest.ts";
import { DEFAULT_BATCH_THREADS, DEVICES, type Device } from "../model/onnx/runtime.ts";
import { loadOrCreateKey } from "../p2p/host.ts";
import { peerIdToBytes } from "../p2p/peer-id.ts";
import { measureThroughput, startServer } from "../server/server.ts";
import { p2pKeyFile } from "../wallet/keystore.ts";
import { parseFault, type Fault } from "../server/faults.ts";
import { parseWeightsSource, weightsProviders, type WeightsSource } from "../server/weights-source.ts";
import { ledgerDomain } from "../chain/domain.ts";
import { ChainClock } from "../chain/clock.ts";
import { CONFIRMATIONS_HELP, DEFAULT_DEPLOYMENTS, DEFAULT_RPC, log, logToFile, parseMultiaddr, parseUrl, progressLine, threadsOption } from "./common.ts";
import { byteProgress } from "./progress.ts";
import { parseFloatIn, parseIntIn } from "./generate.ts";
import { openSigned } from "./signer.ts";
import { explainReverts } from "../chain/revert.ts";
import { readStanding } from "../server/ledger-watch.ts";

function parseWeightsFrom(v: string): WeightsSource {
  try {
    return parseWeightsSource(v);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
}

export function parseLayers(v: string): [number, number] {
  const m = /^(\d+)-(\d+)$/.exec(v);
  if (!m || Number(m[1]) >= Number(m[2])) throw new InvalidArgumentError("must be a range a-b with a < b, e.g. 0-2 (layers a to b−1)");
  return [Number(m[1]), Number(m[2])];
}

interface ServerFlags {
  wallet: string;
  model?: string;
  weightsFrom?: WeightsSource;
  weightsSvdEnergy?: number;
  shareWeights?: boolean;
  layers: [number, number];
  stake?: string;
  rpc: string;
  deployments: string;
  listen: string[];
  announce: string[];
  relay?: boolean;
  device: Device;
  maxSessions: number;
  workers: number;
  maxBatch: number;
  batchThreads: number;
  log?: string;
  sessionTtl: number;
  fault?: Fault;
  autoCover?: boolean;
  confirmations?: number;
}

export function serverCommand(program: Command): void {
  program
    .command("server")
    .description("serve layers [a, b) of the model on the swarm: stake, register on the ledger, answer /efed/infer/1")
    .requiredOption("--wallet <file>", "wallet keystore (password from EFED_PASSWORD or a prompt); its .p2p.key keeps the peer id")
    .option("--model <file>", "the model file (only layers a..b−1 are loaded, unless --share-weights); this or --weights-from is required")
    .option("--weights-from <peer>", "fetch the layers instead of --model from a peer that shares the model: `ledger` (any active server on the ledger that does), a server's wallet address (0x…), or a multiaddr (…/p2p/<peer id>)", parseWeightsFrom)
    .option("--weights-svd-energy <e>", "with --weights-from: fetch SVD factors keeping energy e (fewer bytes, not verifiable)", parseFloatIn(0, 1, true))
    .option("--share-weights", "load the whole model and serve it to other servers over /efed/weights/1")
    .requiredOption("--layers <a-b>", "layer range, e.g. 0-2 (layers a to b−1)", parseLayers)
    .option("--stake <tokens>", "stake to put up at registration (default: the ledger's minimum)")
    .option("--rpc <url>", "JSON-RPC endpoint of the chain", parseUrl, DEFAULT_RPC)
    .option("--deployments <dir>", "where deployments/<chainId>.json is read", DEFAULT_DEPLOYMENTS)
    .option("--listen <multiaddr>", "address to listen on (repeatable)", parseMultiaddr, [] as string[])
    .option("--announce <multiaddr>", "address others reach this server at, registered instead of the listen addresses (repeatable): a public IP or a port forwarded to --listen", parseMultiaddr, [] as string[])
    .option("--relay", "offer circuit relay v2: servers behind NAT reserve slots here and are reached through this node")
    .option("--log <file>", "also append every notice, with its time, to this file")
    .option("--confirmations <n>", CONFIRMATIONS_HELP, parseIntIn(0, 1000))
    .addOption(new Option("--device <device>", "execution provider").choices([...DEVICES]).default("cpu"))
    .addOption(threadsOption())
    .option("--workers <n>", "worker threads computing the layers, each with its own copy of them (sessions are spread over the workers)", parseIntIn(1, 64), 1)
    .option("--max-batch <n>", "steps of concurrent sessions computed in one run, at most (1: each alone)", parseIntIn(1, 64), 16)
    .option("--batch-threads <n>", "CPU threads a run of several sessions' steps computes with (a second copy of the layers where it differs from --threads)", parseIntIn(1, 1024), DEFAULT_BATCH_THREADS)
    .option("--max-sessions <n>", "inference sessions held at once", parseIntIn(1, 100000), 64)
    .option("--session-ttl <s>", "seconds an idle session's KV cache is kept", parseIntIn(1, 86400), 60)
    .option("--auto-cover", "load the whole model and take over uncovered layers when this server's own are covered by others (or adjoin them)")
    .option("--fault <mode>", "misbehave, for tests and demos: noise:<σ>, skip, replay, garbage, zero, slow:<ms>, drop:<p>, lie-when:<route|caller|steps|prompt|timing|size>, lie-rate:<p>, skip-layer", (v: string) => {
      try {
        return parseFault(v);
      } catch (err) {
        throw new InvalidArgumentError((err as Error).message);
      }
    })
    .addHelpText(
      "after",
      `
Stops on Ctrl-C / SIGTERM: takes no new sessions, lets open ones finish (5 s), exits.
To leave the swarm for good: \`efed unstake\`, then \`efed withdraw\` after the delay.

Example:
  $ EFED_PASSWORD=… efed server --wallet ~/.efed/wallets/0x….json --model ../shared/models/stories260K-f32.gguf --layers 0-2`,
    )
    .action(async (o: ServerFlags) => {
      if (o.log !== undefined) logToFile(o.log);
      if ((o.model === undefined) === (o.weightsFrom === undefined)) throw new InvalidArgumentError("give --model <file> or --weights-from <peer> (one of them)");
      if (o.weightsSvdEnergy !== undefined && o.weightsFrom === undefined) throw new InvalidArgumentError("--weights-svd-energy needs --weights-from");
      if (o.shareWeights && o.model === undefined) throw new InvalidArgumentError("--share-weights needs --model");
      if (o.autoCover && o.model === undefined) throw new InvalidArgumentError("--auto-cover needs --model");
      const h = await openSigned(o.rpc, o.deployments, o.wallet, "unlock the server's wallet", o.confirmations);
      try {
        const [hash, numLayers] = await h.ledger.model();
        if (o.layers[1] > Number(numLayers)) throw new RangeError(`layers ${o.layers[0]}-${o.layers[1]} are outside the model's ${numLayers} layers (ledger)`);
        if (hash !== ZeroHash && o.model !== undefined) {
          log("checking the model against the ledger's hash…");
          const mine = await modelHash(o.model);
          if (mine !== hash) throw new Error(`${o.model} is not the model of this swarm (manifest ${mine}, the ledger says ${hash})`);
        }
        const params = await h.ledger.params();
        const stake = o.stake === undefined ? (params.minServerStake as bigint) : parseUnits(o.stake, 18);
        if (stake < params.minServerStake) throw new RangeError(`--stake ${formatUnits(stake, 18)} is below the ledger's minimum of ${formatUnits(params.minServerStake, 18)} tokens`);

        const providers = o.weightsFrom === undefined ? [] : weightsProviders(o.weightsFrom, await readCandidates(h.ledger), o.layers, h.address);
        if (o.weightsFrom !== undefined) log(`fetching layers ${o.layers[0]}-${o.layers[1]} from ${o.weightsFrom.kind === "peer" ? providers[0] : `${providers.length} address(es) found on the ledger, first ${providers[0]}`}…`);
        const privateKey = await loadOrCreateKey(p2pKeyFile(o.wallet));
        const genesis = Number(await h.ledger.genesis());
        const epochLength = Number(await h.ledger.epochLength());
        const clock = new ChainClock(h.provider);
        await clock.refresh();
        const server = await startServer({
          receiptDomain: ledgerDomain(BigInt(h.deployment.chainId), h.deployment.ledger),
          epoch: () => clock.epoch(genesis, epochLength), // receipts carry the chain's epoch
          model: o.model,
          weightsFrom: o.weightsFrom === undefined ? undefined : { providers, svdEnergy: o.weightsSvdEnergy, expectedRoot: hash === ZeroHash ? undefined : hash },
          shareWeights: o.shareWeights,
          wholeModel: o.autoCover,
          layers: o.layers,
          device: o.device,
          listen: o.listen.length ? o.listen : ["/ip4/127.0.0.1/tcp/0"],
          announce: o.announce,
          relay: o.relay,
          privateKey,
          limits: { maxSessions: o.maxSessions, ttlMs: o.sessionTtl * 1000 },
          workers: o.workers,
          maxBatch: o.maxBatch,
          batchThreads: o.batchThreads,
          fault: o.fault,
          log,
          progress: byteProgress(progressLine),
        });
        if (server.fetched !== undefined) {
          const f = server.fetched;
          log(`fetched ${f.bytes} bytes of weights (${f.wireBytes} on the wire), ${f.verified} tensors checked against the manifest`);
        }
        // AutoNAT's verdict, and a relay slot when nobody can dial this server
        await becomeReachable(server.node, { announced: o.announce.length > 0, peers: async () => [...(await readVerifiers(h.ledger)), ...(await readCandidates(h.ledger))], log });
        if (o.relay) log("relaying for nodes behind NAT (circuit relay v2)");
        const addrs = ledgerAddrs(server.addrs());
        let throughput: number;
        let done: string;
        try {
          throughput = await measureThroughput(server.runner);
          done = await registerOrUpdate(h.ledgerW, h.tokenW, h.address, {
            stake,
            start: o.layers[0],
            end: o.layers[1],
            peerId: peerIdToBytes(server.node.peerId),
            peerPrivateKey: privateKey.raw, // secp256k1 (loadOrCreateKey): it signs the peer-binding proof
            addrs,
            throughput,
          });
        } catch (err) {
          await server.stop(0);
          throw err;
        }
        const active = await readCandidates(h.ledger);
        if (server.runner.device !== "cpu") log(`warning: audits hold every server to the cpu/cpu tolerance, and ${server.runner.device}↔cpu differences are not calibrated yet: an honest ${server.runner.device} server may fail audits and be slashed (--device cpu is safe)`);
        log(`${done}: server ${h.address} serves layers ${o.layers[0]}-${o.layers[1]} as ${server.node.peerId} on ${addrs.join(" ")} (${throughput} layer-tokens/s, device ${server.runner.device}, ${active.length} active servers)`);
        if (server.weights !== undefined) {
          log(`sharing the model over /efed/weights/1 at ${server.addrs()[0]}`);
          // stdout too, so a script can take it: other servers pass it to --weights-from
          process.stdout.write(`${server.addrs()[0]}\n`);
        }
        if (o.fault !== undefined) log(`FAULT INJECTION: this server misbehaves (${o.fault.kind})`);
        let exitCode = 0;
        await new Promise<void>((resolve) => {
          let stopping = false;
          // a relay slot made or lost, an address confirmed: the ledger gets the new list
          let updating = Promise.resolve();
          const unwatch = watchAddrs(server.node, (now) => {
            updating = updating.then(async () => {
              if (stopping) return;
              const next = ledgerAddrs(now);
              await explainReverts(h.ledger.interface, async () => (await h.ledgerW.updateAddrs(next)).wait());
              log(`addresses on the ledger: ${next.join(" ") || "none"}`);
            }).catch((err: Error) => log(`could not update the addresses on the ledger: ${err.message.split("\n")[0]}`));
          });
          const stop = (why = "stopping", offline = true) => {
            if (stopping) return;
            stopping = true;
            unwatch();
            clearInterval(watch);
            log(`${why}: no new sessions, finishing open ones…`);
            // clients route around a server with no address on the ledger; starting again
            // re-registers the addresses (registerOrUpdate)
            const leave = offline ? goOffline(h.ledgerW, log) : Promise.resolve();
            void Promise.all([leave, server.stop(5000)]).then(() => resolve());
          };
          // watch the ledger: a deactivated or unstaked server stops; --auto-cover re-covers layers
          let checking = false;
          let lastError = "";
          const watch = setInterval(async () => {
            if (checking || stopping) return;
            checking = true;
            try {
              await clock.refresh();
              const read = await readStanding(h.ledger, h.address, params.theta, h.confirmed);
              lastError = "";
              if (read.reorgFrom !== undefined) log(`the chain reorganised from block ${read.reorgFrom}, deeper than --confirmations ${h.confirmed.confirmations}: reading the ledger again at block ${read.block}`);
              if (read.standing.kind !== "serving") {
                log(read.standing.message);
                stop(read.standing.kind, false);
              } else if (o.autoCover && read.standing.active) {
                await autoCover(server, h, read.block, log);
              }
            } catch (err) {
              if ((await h.provider.getCode(h.deployment.ledger).catch(() => undefined)) === "0x") {
                log(`the ledger at ${h.deployment.ledger} is gone (the chain was restarted): \`efed deploy\` again, then start this server again`);
                exitCode = 1;
                stop("ledger gone", false);
              } else if ((err as Error).message !== lastError) {
                lastError = (err as Error).message; // once per distinct problem, not every 2 s
                log(`ledger watch: ${lastError}`);
              }
            } finally {
              checking = false;
            }
          }, 2000);
          process.once("SIGINT", () => stop());
          process.once("SIGTERM", () => stop());
          // only now: whoever waits for this line may signal at once; the address is where
          // clients and other servers (--weights-from) reach it
          log(`server ready on ${server.addrs()[0]}`);
        });
        process.exitCode = exitCode;
        log(`stopped after ${server.service.stats.tokens} positions in ${server.service.stats.opened} sessions`);
      } finally {
        h.provider.destroy();
      }
    });
}

/** Clears this server's addresses on the ledger, so clients skip it while it is away. */
async function goOffline(ledgerW: Contract, log: (s: string) => void): Promise<void> {
  try {
    const sent = ledgerW.updateAddrs([]).then((tx: { wait: (n: number, ms: number) => Promise<unknown> }) => tx.wait(1, 5000));
    await Promise.race([sent, new Promise((_, reject) => setTimeout(() => reject(new Error("no answer from the chain in 5 s")), 5000).unref())]);
    log("marked offline on the ledger: clients route around this server until it starts again");
  } catch (err) {
    log(`could not mark this server offline on the ledger: ${(err as Error).message.split("\n")[0]}`);
  }
}

/** The first run of layers no active server covers, as [start, end). */
export function firstGap(coverage: number[]): [number, number] | undefined {
  const a = coverage.findIndex((c) => c === 0);
  if (a < 0) return undefined;
  let b = a;
  while (b < coverage.length && coverage[b] === 0) b++;
  return [a, b];
}

/** Reassignment (paper §3.1): move to an uncovered run of layers when this server's own are
 * covered by others too, or grow to include one that adjoins its range. */
async function autoCover(server: Awaited<ReturnType<typeof startServer>>, h: Awaited<ReturnType<typeof openSigned>>, block: number, log: (s: string) => void): Promise<void> {
  const coverage = ((await h.ledger.coverage({ blockTag: block })) as bigint[]).map(Number);
  const gap = firstGap(coverage);
  if (gap === undefined) return;
  const [s0, e0] = server.service.layers;
  let target: [number, number] | undefined;
  if (coverage.slice(s0, e0).every((c) => c >= 2)) target = gap;
  else if (gap[0] === e0) target = [s0, gap[1]];
  else if (gap[1] === s0) target = [gap[0], e0];
  if (target === undefined) return;
  log(`layers ${gap[0]}-${gap[1]} are uncovered: moving from ${s0}-${e0} to ${target[0]}-${target[1]}`);
  await server.switchLayers(target[0], target[1]);
  await explainReverts(h.ledger.interface, async () => (await h.ledgerW.updateLayers(target[0], target[1])).wait());
  log(`now serving layers ${target[0]}-${target[1]}`);
}
