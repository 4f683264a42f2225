// Verifiers find each other: every few seconds each one asks its connected peers on the
// attestation topic which other verifiers they know (listen addresses learned by identify)
// and dials the ones it lacks. A mesh formed through one bootstrap node then survives that
// node's loss — otherwise killing it would partition gossip and stall settlement.
import { lpStream } from "@libp2p/utils";
import { multiaddr } from "@multiformats/multiaddr";
import type { PeerId } from "@libp2p/interface";
import type { PubSubNode } from "../p2p/host.ts";

export const PEERS_PROTOCOL = "/efed/verifier-peers/1";
const MAX_REPLY = 64 * 1024;

export class PeerExchange {
  private readonly node: PubSubNode;
  private readonly topic: string;
  private timer?: NodeJS.Timeout;

  constructor(node: PubSubNode, topic: string) {
    this.node = node;
    this.topic = topic;
  }

  async start(intervalMs = 3000): Promise<void> {
    await this.node.handle(PEERS_PROTOCOL, async (stream) => {
      const lp = lpStream(stream, { maxDataLength: MAX_REPLY });
      try {
        await lp.write(new TextEncoder().encode(JSON.stringify(await this.known())));
      } finally {
        await stream.close().catch(() => {});
      }
    });
    this.timer = setInterval(() => void this.exchange(), intervalMs);
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.node.unhandle(PEERS_PROTOCOL).catch(() => {});
  }

  /** Dialable addresses (…/p2p/<id>) of the topic's peers we are connected to. */
  private async known(): Promise<string[]> {
    const out: string[] = [];
    for (const p of this.node.services.pubsub.getSubscribers(this.topic) as PeerId[]) {
      try {
        const peer = await this.node.peerStore.get(p);
        for (const a of peer.addresses) out.push(`${a.multiaddr.toString()}/p2p/${p.toString()}`);
      } catch {
        // not in the peer store yet
      }
    }
    return out.slice(0, 256);
  }

  private async exchange(): Promise<void> {
    const connected = new Set(this.node.getConnections().map((c) => c.remotePeer.toString()));
    const self = this.node.peerId.toString();
    for (const p of this.node.services.pubsub.getSubscribers(this.topic) as PeerId[]) {
      try {
        const stream = await this.node.dialProtocol(p, PEERS_PROTOCOL, { signal: AbortSignal.timeout(3000) });
        const lp = lpStream(stream, { maxDataLength: MAX_REPLY });
        const addrs = JSON.parse(new TextDecoder().decode((await lp.read({ signal: AbortSignal.timeout(3000) })).subarray())) as unknown;
        await stream.close().catch(() => {});
        if (!Array.isArray(addrs)) continue;
        for (const a of addrs.slice(0, 256)) {
          if (typeof a !== "string") continue;
          const id = a.split("/p2p/").at(-1);
          if (id === undefined || id === self || connected.has(id)) continue;
          connected.add(id);
          await this.node.dial(multiaddr(a), { signal: AbortSignal.timeout(3000) }).catch(() => connected.delete(id));
        }
      } catch {
        // that peer cannot tell us now; try again next round
      }
    }
  }
}
