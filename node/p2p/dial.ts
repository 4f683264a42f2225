// Opening a protocol stream to a peer at the first of its addresses that answers: direct
// addresses before relayed ones (the pipeline prefers direct connections), and streams
// allowed over a relayed (limited) connection, which is how a server behind NAT is reached
// until DCUtR upgrades the connection. Says whether the stream it got is relayed.
import { multiaddr } from "@multiformats/multiaddr";
import { peerIdFromString } from "@libp2p/peer-id";
import type { Connection, Stream } from "@libp2p/interface";
import type { EfedNode } from "./host.ts";
import { isRelayed, preferDirect } from "./reachability.ts";

export interface OpenedStream {
  readonly stream: Stream;
  /** The connection under the stream goes through a relay. */
  readonly relayed: boolean;
  /** The remote address of that connection. */
  readonly via: string;
}

export class UnreachablePeerError extends Error {
  override readonly name = "UnreachablePeerError";
}

/** An address that does not answer in this time gives way to the next one (a private
 * address dialled from outside its network may never answer at all). */
export const ADDRESS_TIMEOUT_MS = 5000;

/** How long a stream waits for DCUtR when the peer is connected only through a relay: the
 * peer behind NAT starts the upgrade as soon as identify has run, a round trip or two. */
export const UPGRADE_WAIT_MS = 1500;

type Dialler = Pick<EfedNode, "dial" | "getConnections" | "addEventListener" | "removeEventListener">;

function directTo(node: Dialler, peer: string): Connection[] {
  return node.getConnections(peerIdFromString(peer)).filter((c) => c.status === "open" && !isRelayed(c.remoteAddr));
}

/** When `peer` is connected through a relay only, waits a little for DCUtR's direct one. */
async function awaitUpgrade(node: Dialler, peer: string): Promise<void> {
  const relayedOnly = directTo(node, peer).length === 0 && node.getConnections(peerIdFromString(peer)).some((c) => c.status === "open");
  if (!relayedOnly) return;
  await new Promise<void>((resolve) => {
    const done = () => {
      clearTimeout(timer);
      node.removeEventListener("connection:open", check);
      resolve();
    };
    const check = () => {
      if (directTo(node, peer).length > 0) done();
    };
    const timer = setTimeout(done, UPGRADE_WAIT_MS);
    node.addEventListener("connection:open", check);
  });
}

/** Dials `peer` at `addrs` (each with or without its /p2p/ suffix) for `protocol`; an open
 * connection is used first, a direct one (DCUtR's, say) before a relayed one, waiting
 * briefly for a direct one when the peer is reached through a relay only. */
export async function openStream(node: Dialler, peer: string, addrs: readonly string[], protocol: string, timeoutMs: number): Promise<OpenedStream> {
  await awaitUpgrade(node, peer);
  // an open connection first, direct before relayed: dialling a relayed address again
  // makes a second circuit with the same address, which libp2p drops as a duplicate
  const open = [...directTo(node, peer), ...node.getConnections(peerIdFromString(peer)).filter((c) => c.status === "open" && isRelayed(c.remoteAddr))];
  let lastErr: unknown;
  const tries: (Connection | string)[] = [...open.slice(0, 1), ...preferDirect(addrs)];
  for (const [i, t] of tries.entries()) {
    try {
      const last = i === tries.length - 1;
      const signal = AbortSignal.timeout(last ? timeoutMs : Math.min(timeoutMs, ADDRESS_TIMEOUT_MS));
      const connection = typeof t !== "string" ? t : await node.dial(multiaddr(t.endsWith(`/p2p/${peer}`) ? t : `${t}/p2p/${peer}`), { signal });
      const stream = await connection.newStream(protocol, { signal, runOnLimitedConnection: true });
      const via = connection.remoteAddr.toString();
      return { stream, relayed: isRelayed(via), via };
    } catch (err) {
      lastErr = err;
    }
  }
  throw new UnreachablePeerError(`cannot reach ${peer}: ${(lastErr as Error)?.message ?? "no address"}`);
}
