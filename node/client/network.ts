// The Client on the swarm: embedding and head locally, layers on servers read from the
// ledger. Peers are dialled as <addr>/p2p/<peer id from the ledger>, so Noise refuses any
// peer whose key does not match what the ledger says.
import { ledgerEpochClock } from "../chain/clock.ts";
import { multiaddr } from "@multiformats/multiaddr";
import { peerIdFromString } from "@libp2p/peer-id";
import { isRelayed, preferDirect } from "../p2p/reachability.ts";
import type { Contract, TypedDataDomain } from "ethers";
import { ledgerDomain } from "../chain/domain.ts";
import { readCandidates } from "../chain/registry.ts";
import type { ConfirmedReader } from "../chain/confirmed.ts";
import { loadModel, type LoadedModel } from "../model/load.ts";
import type { Device } from "../model/onnx/runtime.ts";
import { createNode, type EfedNode } from "../p2p/host.ts";
import type { ClientModel } from "./generate.ts";
import { FailoverChain, type RemoteOptions } from "./remote.ts";
import { chooseRoute, NoRouteError, type Candidate, type RouteHop } from "./route.ts";
import { closeClientModel, openClientModel } from "./client-model.ts";

/** Measures each candidate's round trip with a libp2p ping (direct addresses first);
 * unreachable ones get Infinity, and those reached only through a relay are marked. */
export async function measureRtts(node: EfedNode, cands: Candidate[], timeoutMs = 5000): Promise<Candidate[]> {
  return Promise.all(
    cands.map(async (c) => {
      for (const a of preferDirect(c.addrs)) {
        try {
          const rttMs = await node.services.ping.ping(multiaddr(a.endsWith(`/p2p/${c.peer}`) ? a : `${a}/p2p/${c.peer}`), { signal: AbortSignal.timeout(timeoutMs) });
          const direct = node.getConnections(peerIdFromString(c.peer)).some((x) => x.status === "open" && !isRelayed(x.remoteAddr));
          return { ...c, rttMs, relayed: !direct };
        } catch {
          // try the next address
        }
      }
      return { ...c, rttMs: Infinity };
    }),
  );
}

/** Routes as a client chooses them: active servers from the ledger that answer a ping,
 * the cheapest chain over them with a random spread (see chooseRoute). With `confirmed`,
 * the servers are those of the confirmed block (chain/confirmed.ts), not the head's. */
export function routeFinder(node: EfedNode, ledger: Contract, numLayers: number, rand: () => number = Math.random, confirmed?: ConfirmedReader) {
  return async (exclude: ReadonlySet<string>): Promise<RouteHop[]> => {
    const at = confirmed === undefined ? undefined : (await confirmed.block()).block.number;
    // a server with no address on the ledger is offline (it cleared them when it stopped)
    const cands = await measureRtts(node, (await readCandidates(ledger, undefined, at)).filter((x) => !exclude.has(x.peer) && x.addrs.length > 0));
    const reachable = cands.filter((x) => x.rttMs !== Infinity);
    try {
      return chooseRoute(reachable, numLayers, exclude, rand);
    } catch (err) {
      const silent = cands.length - reachable.length;
      if (err instanceof NoRouteError && silent > 0) throw new NoRouteError(`${err.message}; ${silent} active server(s) on the ledger did not answer`);
      throw err;
    }
  };
}

/** The EIP-712 domain of the ledger `ledger` is connected to (receipts are signed under it). */
export async function ledgerReceiptDomain(ledger: Contract): Promise<TypedDataDomain> {
  const { chainId } = await ledger.runner!.provider!.getNetwork();
  return ledgerDomain(chainId, await ledger.getAddress());
}

export interface NetworkClient {
  readonly model: LoadedModel;
  readonly client: ClientModel;
  readonly node: EfedNode;
  /** The ledger's EIP-712 domain (receipts are checked against it). */
  readonly domain: TypedDataDomain;
  /** A new failover-capable session over the best route at the time. */
  session(o?: { onFailover?: (failed: string, route: RouteHop[]) => void; onRoute?: (route: RouteHop[]) => void; onReached?: RemoteOptions["onReached"]; timeoutMs?: number }): FailoverChain;
  close(): Promise<void>;
}

/** `listen`: addresses the client listens on and announces as they are (an address others
 * can reach, with a fixed port), so a server behind NAT that it reaches through a relay can
 * connect back to it directly (DCUtR's unilateral upgrade); none by default. */
export async function openNetworkClient(ledger: Contract, modelFile: string, device: Device = "cpu", confirmed?: ConfirmedReader, listen: string[] = []): Promise<NetworkClient> {
  const model = await loadModel(modelFile, { layers: [0, 0], client: true });
  const c = model.config;
  const [, numLayers] = await ledger.model();
  if (Number(numLayers) !== c.nLayers) throw new Error(`${modelFile} has ${c.nLayers} layers, the ledger's model ${numLayers}: not the model of this swarm`);
  const node = await createNode({ listen, announce: listen, autoNat: false });
  const client = await openClientModel(model, device);
  const route = routeFinder(node, ledger, c.nLayers, Math.random, confirmed);
  const domain = await ledgerReceiptDomain(ledger);
  const clock = await ledgerEpochClock(ledger as never, ledger.runner!.provider!);
  return {
    model,
    client,
    node,
    domain,
    session: (o = {}) => new FailoverChain(node, c.dim, { route, domain, epoch: clock.epoch, ...o }),
    async close() {
      clock.stop();
      await Promise.all([closeClientModel(client), node.stop()]);
    },
  };
}
