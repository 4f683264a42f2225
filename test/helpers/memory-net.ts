// A network of peers in one process whose streams are @libp2p/utils' in-memory stream pairs:
// enough of a libp2p node (peer id, handle/unhandle, dial, getConnections) for InferService,
// RemoteSession and the FailoverChain to run unchanged, with no sockets, Noise or Yamux, so
// their protocol logic is tested alone, fast and deterministically. Each peer has a real
// secp256k1 key (receipts are signed with it) and a fake address naming it.
import { generateKeyPair } from "@libp2p/crypto/keys";
import { peerIdFromPrivateKey } from "@libp2p/peer-id";
import { streamPair } from "@libp2p/utils";
import { multiaddr, type Multiaddr } from "@multiformats/multiaddr";
import type { PeerId, PrivateKey, Stream, Connection } from "@libp2p/interface";
import type { EfedNode } from "../../node/p2p/host.ts";

type Handler = (stream: Stream, connection: Connection) => void | Promise<void>;

export interface MemoryPeer {
  readonly privateKey: PrivateKey;
  readonly peerId: PeerId;
  /** The peer as the code under test sees a libp2p node. */
  readonly node: EfedNode;
  /** Its (fake, dialable only here) address, ending in /p2p/<id>. */
  readonly addr: string;
  /** Streams it opened or accepted, for tests that cut them. */
  readonly streams: Stream[];
  /** Makes every later dial to this peer fail (a crashed or unreachable server). */
  down: boolean;
}

export class MemoryNet {
  private readonly peers = new Map<string, MemoryPeer & { handlers: Map<string, Handler> }>();
  private next = 1;

  async peer(): Promise<MemoryPeer> {
    const privateKey = await generateKeyPair("secp256k1");
    const peerId = peerIdFromPrivateKey(privateKey);
    const handlers = new Map<string, Handler>();
    const addr = `/ip4/10.0.0.${this.next++}/tcp/4001/p2p/${peerId.toString()}`;
    const streams: Stream[] = [];
    const connect = (to: string): Connection => {
      const remote = this.peers.get(to);
      if (remote === undefined || remote.down) throw new Error(`memory net: ${to} does not answer`);
      return this.connection(self, remote, streams);
    };
    const node = {
      peerId,
      status: "started",
      async handle(protocol: string, handler: Handler) {
        handlers.set(protocol, handler);
      },
      async unhandle(protocol: string) {
        handlers.delete(protocol);
      },
      async dial(ma: Multiaddr) {
        return connect(ma.getComponents().find((c) => c.name === "p2p")!.value!);
      },
      getConnections: () => [],
      getMultiaddrs: () => [multiaddr(addr)],
      addEventListener() {},
      removeEventListener() {},
    } as unknown as EfedNode;
    const self = { privateKey, peerId, node, addr, streams, down: false, handlers };
    this.peers.set(peerId.toString(), self);
    return self;
  }

  /** A connection from `from` to `to`: each newStream is a fresh stream pair whose other end
   * goes to `to`'s handler for the protocol, with a connection that names `from`. */
  private connection(from: MemoryPeer, to: MemoryPeer & { handlers: Map<string, Handler> }, opened: Stream[]): Connection {
    const back = { remotePeer: from.peerId, remoteAddr: multiaddr(from.addr), status: "open" } as unknown as Connection;
    return {
      remotePeer: to.peerId,
      remoteAddr: multiaddr(to.addr),
      status: "open",
      async newStream(protocol: string) {
        const handler = to.handlers.get(protocol);
        if (handler === undefined || to.down) throw new Error(`memory net: ${to.peerId} does not handle ${protocol}`);
        const [outbound, inbound] = await streamPair({ delay: 0 });
        opened.push(outbound);
        to.streams.push(inbound);
        void handler(inbound, back);
        return outbound;
      },
    } as unknown as Connection;
  }
}
