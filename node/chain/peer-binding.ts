// A server proves to the ledger that it holds the secp256k1 key of its libp2p peer id: the
// key signs EIP-712 `PeerBinding(address server)`. The ledger derives the key's address from
// the peer id (identity multihash of the protobuf public key) and checks the signature.
import { computeAddress, hexlify, SigningKey, TypedDataEncoder } from "ethers";
import type { TypedDataDomain } from "ethers";
import { PEER_BINDING_TYPES } from "./domain.ts";

/** identity multihash (0x00, 37 bytes) of protobuf { type: Secp256k1 (0x08 0x02), data: 33 bytes (0x12 0x21) } */
export const SECP256K1_PEER_ID_PREFIX = Uint8Array.from([0x00, 0x25, 0x08, 0x02, 0x12, 0x21]);

export class UnsupportedPeerIdError extends Error {
  override readonly name = "UnsupportedPeerIdError";
}

/** The 33-byte compressed public key inside a secp256k1 peer id. */
export function peerPublicKey(peerId: Uint8Array): Uint8Array {
  if (peerId.length !== 39 || SECP256K1_PEER_ID_PREFIX.some((b, i) => peerId[i] !== b)) {
    throw new UnsupportedPeerIdError("the ledger takes secp256k1 peer ids only (identity multihash of a 33-byte compressed key)");
  }
  return peerId.slice(6);
}

/** The peer id bytes of a secp256k1 key (private or public). */
export function peerIdOfKey(key: Uint8Array | string): Uint8Array {
  const compressed = SigningKey.computePublicKey(key, true);
  const pub = Buffer.from(compressed.slice(2), "hex");
  return Uint8Array.from([...SECP256K1_PEER_ID_PREFIX, ...pub]);
}

/** The address the ledger stores as `peerSigner` for `peerId`. */
export function peerSignerOf(peerId: Uint8Array): string {
  return computeAddress(hexlify(peerPublicKey(peerId)));
}

/** The 65-byte r‖s‖v signature of EIP-712 `PeerBinding(server)` by the peer key. */
export function signPeerBinding(privateKey32: Uint8Array, domain: TypedDataDomain, server: string): string {
  const digest = TypedDataEncoder.hash(domain, PEER_BINDING_TYPES, { server });
  return new SigningKey(hexlify(privateKey32)).sign(digest).serialized;
}
