// A libp2p 3 node: TCP, Noise, Yamux, identify, ping. Its key lives in a file (next to the
// wallet), so the peer id a server registers on chain survives restarts.
import { existsSync, readFileSync, writeFileSync, chmodSync } from "node:fs";
import { createLibp2p, type Libp2p } from "libp2p";
import { tcp } from "@libp2p/tcp";
import { noise } from "@chainsafe/libp2p-noise";
import { yamux } from "@chainsafe/libp2p-yamux";
import { identify, type Identify } from "@libp2p/identify";
import { ping, type Ping } from "@libp2p/ping";
import { gossipsub } from "@libp2p/gossipsub";
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from "@libp2p/crypto/keys";
import type { PrivateKey } from "@libp2p/interface";

export type EfedNode = Libp2p<{ identify: Identify; ping: Ping }>;

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
}

export type PubSubNode = Libp2p<{ identify: Identify; ping: Ping; pubsub: ReturnType<ReturnType<typeof gossipsub>> }>;

/** What every eFedLLM node runs: TCP, Noise, Yamux, with its key and listen addresses. */
async function base(o: NodeOptions) {
  return {
    // a fresh identity when none is given (clients: one per session, as audits do)
    privateKey: o.privateKey ?? (await generateKeyPair("secp256k1")),
    addresses: { listen: o.listen ?? [] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionManager: { maxConnections: 256 },
  };
}

export async function createNode(o: NodeOptions = {}): Promise<EfedNode> {
  return createLibp2p({ ...(await base(o)), services: { identify: identify(), ping: ping() } });
}

/** A node that also speaks gossipsub (verifiers share attestations on it). */
export async function createPubSubNode(o: NodeOptions = {}): Promise<PubSubNode> {
  return createLibp2p({
    ...(await base(o)),
    services: { identify: identify(), ping: ping(), pubsub: gossipsub({ allowPublishToZeroTopicPeers: true, emitSelf: false }) },
  });
}
