// Reachability: whether others can dial this node, and what it does when they cannot.
// AutoNAT (libp2p's) confirms a public address by having peers dial it back; a node with
// none confirmed reserves a slot on a circuit relay v2 (any `--relay` server or verifier)
// and is reached through it, and DCUtR upgrades such relayed connections to direct ones
// where the NATs allow. This module holds the policy (pure) and the small libp2p service
// that starts listening on a relay, which libp2p's public API offers no other way to do.
import { multiaddr, type Multiaddr } from "@multiformats/multiaddr";
import { isPrivate } from "@libp2p/utils";

/** A relayed address or connection goes through `/p2p-circuit`. */
export function isRelayed(addr: Multiaddr | string): boolean {
  return String(addr).includes("/p2p-circuit");
}

function isLoopback(addr: string): boolean {
  return /^\/ip4\/127\.|^\/ip6\/::1\//.test(addr);
}

/** Direct addresses first, relayed ones last: a client and each server dial in this order. */
export function preferDirect(addrs: readonly string[]): string[] {
  return [...addrs.filter((a) => !isRelayed(a)), ...addrs.filter(isRelayed)];
}

/** The node's addresses as the ledger keeps them: without the trailing /p2p/<own id> (the
 * ledger holds the peer id apart), direct ones first. */
export function ledgerAddrs(addrs: readonly string[]): string[] {
  return preferDirect(addrs.map((a) => a.replace(/\/p2p\/[^/]+$/, "")));
}

export interface AddressFacts {
  readonly multiaddr: string;
  /** Confirmed by AutoNAT (public), private (always), announced, or a relay reservation. */
  readonly verified: boolean;
}

/** public: reachable without help (an announced or AutoNAT-confirmed public address);
 * local: loopback only, a swarm on one machine, where nothing needs a relay;
 * private: behind NAT or a firewall as far as anyone can tell, so it needs a relay. */
export type Reach = "public" | "local" | "private";

export function classifyReach(addrs: readonly AddressFacts[], announced: boolean): Reach {
  if (announced) return "public";
  const direct = addrs.filter((a) => !isRelayed(a.multiaddr));
  if (direct.some((a) => a.verified && !isPrivate(multiaddr(a.multiaddr)))) return "public";
  if (direct.length > 0 && direct.every((a) => isLoopback(a.multiaddr))) return "local";
  return "private";
}

/** Public candidates AutoNAT has not confirmed yet: worth waiting for its verdict. */
export function awaitingAutoNat(addrs: readonly AddressFacts[]): boolean {
  return addrs.some((a) => !a.verified && !isRelayed(a.multiaddr) && !isPrivate(multiaddr(a.multiaddr)));
}

/** The part of libp2p's internal components this service needs (injected by libp2p). */
export interface ReachComponents {
  readonly transportManager: { listen(addrs: Multiaddr[]): Promise<void> };
  readonly addressManager: { getAddressesWithMetadata(): { multiaddr: Multiaddr; verified: boolean }[] };
}

export class ReachService {
  private readonly c: ReachComponents;
  private relaying = false;
  constructor(c: ReachComponents) {
    this.c = c;
  }

  readonly [Symbol.toStringTag] = "efed/reachability";

  /** Every address this node knows for itself, verified or not. */
  addresses(): AddressFacts[] {
    return this.c.addressManager.getAddressesWithMetadata().map((a) => ({ multiaddr: a.multiaddr.toString(), verified: a.verified }));
  }

  /** Asks the circuit relay transport for a reservation on a relay among the peers this
   * node connects to (those that speak the hop protocol); idempotent. */
  async listenOnRelay(): Promise<void> {
    if (this.relaying) return;
    this.relaying = true;
    await this.c.transportManager.listen([multiaddr("/p2p-circuit")]);
  }
}

export function reachability(): (c: ReachComponents) => ReachService {
  return (c) => new ReachService(c);
}
