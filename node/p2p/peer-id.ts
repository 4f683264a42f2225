// Peer ids as the ledger stores them (raw multihash bytes) and as libp2p prints them.
import { peerIdFromString } from "@libp2p/peer-id";
import { base58btc } from "multiformats/bases/base58";
import type { PeerId } from "@libp2p/interface";

export function peerIdToBytes(id: PeerId): Uint8Array {
  return id.toMultihash().bytes;
}

export function peerIdFromBytes(bytes: Uint8Array): PeerId {
  return peerIdFromString(base58btc.encode(bytes).slice(1));
}
