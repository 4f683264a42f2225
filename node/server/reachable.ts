// A server (or verifier) finding out whether others can reach it, and getting reachable
// when they cannot: it connects to the peers the ledger lists (they answer AutoNAT's
// dial-back requests, and those started with --relay offer relay slots), waits for
// AutoNAT's verdict on its public addresses, and when none is confirmed reserves a slot on
// a relay, whose address it then announces. Every step is libp2p's; this only sequences
// them and says what happened.
import { multiaddr } from "@multiformats/multiaddr";
import type { EfedNode } from "../p2p/host.ts";
import { awaitingAutoNat, classifyReach, isRelayed, preferDirect, type Reach } from "../p2p/reachability.ts";

export interface LedgerPeer {
  readonly peer: string;
  readonly addrs: readonly string[];
}

export interface ReachOptions {
  /** The node was given --announce: trust it, ask nobody. */
  readonly announced: boolean;
  /** Peers to connect to: verifiers and servers on the ledger. */
  readonly peers: () => Promise<LedgerPeer[]>;
  readonly log: (line: string) => void;
  /** How long AutoNAT may take to confirm a public address. */
  readonly autoNatMs?: number;
  /** How long a relay reservation may take. */
  readonly relayMs?: number;
}

/** Resolves when `ok()` holds or `ms` have passed (checked on every address change). */
function waitFor(node: EfedNode, ok: () => boolean, ms: number): Promise<boolean> {
  if (ok()) return Promise.resolve(true);
  return new Promise((resolve) => {
    const done = (v: boolean) => {
      clearTimeout(timer);
      node.removeEventListener("self:peer:update", check);
      resolve(v);
    };
    const check = () => {
      if (ok()) done(true);
    };
    const timer = setTimeout(() => done(ok()), ms);
    node.addEventListener("self:peer:update", check);
  });
}

export async function becomeReachable(node: EfedNode, o: ReachOptions): Promise<Reach> {
  const self = node.peerId.toString();
  const peers = (await o.peers().catch(() => [])).filter((p) => p.peer !== self && p.addrs.length > 0);
  let reached = 0;
  await Promise.all(
    peers.map(async (p) => {
      for (const a of preferDirect(p.addrs).filter((x) => !isRelayed(x))) {
        try {
          await node.dial(multiaddr(`${a}/p2p/${p.peer}`), { signal: AbortSignal.timeout(5000) });
          reached++;
          return;
        } catch {
          // the next address
        }
      }
    }),
  );
  const reach = () => classifyReach(node.services.reach.addresses(), o.announced);
  if (reach() === "private" && awaitingAutoNat(node.services.reach.addresses()) && reached > 0) {
    o.log("asking peers to dial this server back (AutoNAT)…");
    await waitFor(node, () => reach() === "public", o.autoNatMs ?? 10_000);
  }
  const verdict = reach();
  if (verdict === "public") {
    o.log(o.announced ? "reachable at the announced address(es)" : "publicly reachable: AutoNAT confirmed a public address");
    return verdict;
  }
  if (verdict === "local") return verdict; // loopback only: a swarm on one machine
  o.log(`not publicly reachable (no public address confirmed by AutoNAT; ${reached} of ${peers.length} ledger peer(s) reached): reserving a slot on a relay…`);
  // AutoNAT has given its verdict. Left running, it would ask again about the public
  // addresses peers later observe (the NAT's ports), and js-libp2p's AutoNAT v1 answers by
  // closing the connection the request came on: the one holding the relay reservation.
  await (node.services.autoNAT as { stop?: () => Promise<void> } | undefined)?.stop?.();
  await node.services.reach.listenOnRelay();
  const relayed = await waitFor(node, () => node.getMultiaddrs().some(isRelayed), o.relayMs ?? 20_000);
  if (relayed) o.log(`reserved a relay slot: reachable as ${node.getMultiaddrs().filter(isRelayed).map(String).join(" ")}`);
  else o.log("no relay found among the ledger's peers: nodes outside this network cannot reach this one (start a server or verifier with --relay, or --announce a forwarded address)");
  return verdict;
}

/** Calls `changed` with the node's addresses whenever they change (a relay reservation
 * made or lost, AutoNAT confirming an address), at most once per `debounceMs`. */
export function watchAddrs(node: EfedNode, changed: (addrs: string[]) => void, debounceMs = 1000): () => void {
  let last = JSON.stringify(node.getMultiaddrs().map(String));
  let timer: NodeJS.Timeout | undefined;
  const onUpdate = () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      const now = node.getMultiaddrs().map(String);
      if (JSON.stringify(now) === last) return;
      last = JSON.stringify(now);
      changed(now);
    }, debounceMs);
  };
  node.addEventListener("self:peer:update", onUpdate);
  return () => {
    clearTimeout(timer);
    node.removeEventListener("self:peer:update", onUpdate);
  };
}
