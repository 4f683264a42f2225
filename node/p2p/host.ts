// A libp2p 3 node: TCP and circuit relay v2, Noise, Yamux, identify, ping, AutoNAT and
// DCUtR. Its key lives in a file (next to the wallet), so the peer id a server registers on
// chain survives restarts.
import { existsSync, readFileSync, writeFileSync, chmodSync } from "node:fs";
import { createLibp2p, type Libp2p } from "libp2p";
import { tcp } from "@libp2p/tcp";
import { noise } from "@chainsafe/libp2p-noise";
import { yamux } from "@chainsafe/libp2p-yamux";
import { identify, type Identify } from "@libp2p/identify";
import { ping, type Ping } from "@libp2p/ping";
import { gossipsub } from "@libp2p/gossipsub";
import { autoNAT } from "@libp2p/autonat";
import { dcutr } from "@libp2p/dcutr";
import { circuitRelayServer, circuitRelayTransport } from "@libp2p/circuit-relay-v2";
import { reachability, type ReachService } from "./reachability.ts";
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from "@libp2p/crypto/keys";
import type { PrivateKey } from "@libp2p/interface";
import { coalesceWrites, socketOf } from "./coalesce.ts";

type EfedServices = { identify: Identify; ping: Ping; autoNAT?: unknown; dcutr: unknown; reach: ReachService };

export type EfedNode = Libp2p<EfedServices>;

/** What one relayed connection may carry before the relay resets it (libp2p's default, 128
 * KiB in 2 minutes, is meant for hole punching only; an inference session that cannot be
 * upgraded runs over the relay, and a reset is a failed hop that failover handles). */
export const RELAY_LIMITS = { durationMs: 30 * 60_000, bytes: 256n << 20n, reservations: 64 } as const;

/** Loads the node key from `file`, creating it (mode 600) when absent. Keys are secp256k1:
 * a server signs receipts with it, and the ledger can check those signatures (ecrecover). */
export async function loadOrCreateKey(file: string): Promise<PrivateKey> {
  if (existsSync(file)) return privateKeyFromProtobuf(readFileSync(file));
  const key = await generateKeyPair("secp256k1");
  writeFileSync(file, privateKeyToProtobuf(key), { mode: 0o600 });
  chmodSync(file, 0o600);
  return key;
}

export interface NodeOptions {
  readonly privateKey?: PrivateKey;
  readonly listen?: string[];
  /** Addresses others reach this node at (a port forward, a public IP in front of it):
   * announced instead of the listen addresses, and trusted without AutoNAT. */
  readonly announce?: string[];
  /** Offer circuit relay v2: reserve slots for, and relay to, nodes behind NAT. */
  readonly relay?: boolean;
  /** Run AutoNAT (default true). Clients do not: AutoNAT v1's dial-back in js-libp2p reuses
   * the connection the request came on and closes it, which would cut a relayed session. */
  readonly autoNat?: boolean;
}

export type PubSubNode = Libp2p<EfedServices & { pubsub: ReturnType<ReturnType<typeof gossipsub>> }>;

/** What every eFedLLM node runs: TCP, Noise, Yamux, with its key and listen addresses. */
/** Inbound connections a host may open a second (libp2p's default: 5). */
export const INBOUND_PER_HOST_PER_SECOND = 64;

async function base(o: NodeOptions) {
  return {
    // a fresh identity when none is given (clients: one per session, as audits do)
    privateKey: o.privateKey ?? (await generateKeyPair("secp256k1")),
    addresses: { listen: o.listen ?? [], announce: o.announce ?? [] },
    transports: [tcp(), circuitRelayTransport()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    // libp2p refuses a host's inbound connections past 5 a second by default; audits and
    // probes come from a fresh identity (a new connection) each time, and a one-machine swarm
    // or clients behind one NAT are one host: a refused ping read as a live server that "did
    // not answer" (test/node/p2p/inbound-rate.test.ts). Still bounded, per host and pending.
    connectionManager: { maxConnections: 256, inboundConnectionThreshold: INBOUND_PER_HOST_PER_SECOND, maxIncomingPendingConnections: 64 },
  };
}

/** The services every node runs; a relay (`relay`) adds libp2p's circuit relay server. */
function services(o: NodeOptions) {
  const relay = o.relay
    ? { relay: circuitRelayServer({ reservations: { maxReservations: RELAY_LIMITS.reservations, defaultDurationLimit: RELAY_LIMITS.durationMs, defaultDataLimit: RELAY_LIMITS.bytes } }) }
    : {};
  const nat = o.autoNat === false ? {} : { autoNAT: autoNAT() };
  return { identify: identify(), ping: ping(), dcutr: dcutr(), reach: reachability(), ...nat, ...relay };
}

export async function createNode(o: NodeOptions = {}): Promise<EfedNode> {
  return coalescing(await createLibp2p({ ...(await base(o)), services: services(o) }));
}

/** Every TCP connection of `node` sends one write per tick (coalesce.ts). */
function coalescing<N extends EfedNode>(node: N): N {
  node.addEventListener("connection:open", (e) => {
    const s = socketOf(e.detail);
    if (s !== undefined) coalesceWrites(s);
  });
  return node;
}

/** A node that also speaks gossipsub (verifiers share attestations on it). */
export async function createPubSubNode(o: NodeOptions = {}): Promise<PubSubNode> {
  return coalescing(await createLibp2p({
    ...(await base(o)),
    services: { ...services(o), pubsub: gossipsub({ allowPublishToZeroTopicPeers: true, emitSelf: false }) },
  }));
}
