// Receipts (paper §3.2, made checkable): for every step of every session each Server signs
// what it received and what it answered — the exact digests of its input and output, a
// tolerant commitment to the output, its previous receipt in the session and the receipt of
// the hop before it — with the secp256k1 key of its peer id, which the ledger binds to the
// server. The EIP-712 struct is the one TrustLedger hashes for evidence and equivocation.
import { createPrivateKey, createPublicKey, sign as nodeSign, verify as nodeVerify, type KeyObject } from "node:crypto";
import { Signature, TypedDataEncoder, ZeroHash, computeAddress, keccak256, recoverAddress, sha256, toUtf8Bytes, type TypedDataDomain } from "ethers";
import { secp256k1 } from "@noble/curves/secp256k1";
import { commitDigest } from "./commitment.ts";
import { ledgerDomain, RECEIPT_TYPES, type Receipt } from "../chain/domain.ts";

export type { Receipt };
export { RECEIPT_TYPES };

/** A receipt with its signature (r‖s, low-s: 64 bytes), the projections it commits to and
 * the client's nonce they were seeded with (both bound through `commitDigest`). */
export interface SignedReceipt extends Receipt {
  readonly sig: string;
  readonly proj: Float32Array;
  readonly nonce: string;
}

export const ZERO = ZeroHash;

/** Receipts signed outside any ledger (in-process tests and benchmarks). */
export const LOCAL_DOMAIN: TypedDataDomain = ledgerDomain(31337n, "0x0000000000000000000000000000000000000000");

export class ReceiptError extends Error {
  override readonly name = "ReceiptError";
}

export function sessionWord(session: string): string {
  if (!/^[0-9a-f]{32}$/.test(session)) throw new ReceiptError(`session id ${session} is not 32 hex characters`);
  return "0x" + session + "0".repeat(32);
}

// Every field of Receipt is a static word, so its EIP-712 encoding is 12 words hashed once;
// built by hand because ethers' generic encoder costs milliseconds per receipt and servers
// hash several per step (test/node/swarm/receipt.test.ts holds the two equal).
const TYPE_HASH = Buffer.from(keccak256(toUtf8Bytes(TypedDataEncoder.from(RECEIPT_TYPES).encodeType("Receipt"))).slice(2), "hex");

function word(hex: string, what: string): Buffer {
  if (!/^0x[0-9a-fA-F]{64}$/.test(hex)) throw new ReceiptError(`${what} is not 32 bytes of hex`);
  return Buffer.from(hex.slice(2), "hex");
}

function uintWord(v: number | bigint, bits: number, what: string): Buffer {
  const b = BigInt(v);
  if (b < 0n || b >= 1n << BigInt(bits)) throw new ReceiptError(`${what} ${v} does not fit in uint${bits}`);
  return Buffer.from(b.toString(16).padStart(64, "0"), "hex");
}

/** The EIP-712 struct hash: what `prev` and `upstream` point at, and what evidence names. */
export function receiptHash(r: Receipt): string {
  return keccak256(Buffer.concat([
    TYPE_HASH,
    word(r.session, "session"),
    uintWord(r.start, 16, "start"),
    uintWord(r.end, 16, "end"),
    uintWord(r.pos, 32, "pos"),
    uintWord(r.n, 32, "n"),
    uintWord(r.epoch, 64, "epoch"),
    word(r.inputDigest, "inputDigest"),
    word(r.outputDigest, "outputDigest"),
    word(r.commitDigest, "commitDigest"),
    word(r.prev, "prev"),
    word(r.upstream, "upstream"),
  ]));
}

const separators = new Map<string, Buffer>();
function domainSeparator(domain: TypedDataDomain): Buffer {
  const key = `${domain.name}|${domain.version}|${domain.chainId}|${domain.verifyingContract}`;
  let s = separators.get(key);
  if (s === undefined) {
    s = Buffer.from(TypedDataEncoder.hashDomain(domain).slice(2), "hex");
    separators.set(key, s);
  }
  return s;
}

export function receiptDigest(domain: TypedDataDomain, r: Receipt): string {
  return keccak256(Buffer.concat([Buffer.from([0x19, 0x01]), domainSeparator(domain), Buffer.from(receiptHash(r).slice(2), "hex")]));
}

/** Signs receipts with a raw secp256k1 key through OpenSSL (≈10× faster than JS). */
export class ReceiptSigner {
  private readonly key: KeyObject;
  readonly address: string;
  readonly domain: TypedDataDomain;

  constructor(privateKey: Uint8Array, domain: TypedDataDomain) {
    if (privateKey.length !== 32) throw new ReceiptError("receipts need a secp256k1 node key (32 bytes)");
    const pub = secp256k1.getPublicKey(privateKey, false);
    const b64 = (b: Uint8Array) => Buffer.from(b).toString("base64url");
    this.key = createPrivateKey({ key: { kty: "EC", crv: "secp256k1", d: b64(privateKey), x: b64(pub.subarray(1, 33)), y: b64(pub.subarray(33)) }, format: "jwk" });
    this.address = signerOfPublicKey(pub);
    this.domain = domain;
  }

  sign(r: Receipt, proj: Float32Array, nonce: string): SignedReceipt {
    const digest = Buffer.from(receiptDigest(this.domain, r).slice(2), "hex");
    const der = nodeSign(null, digest, { key: this.key, dsaEncoding: "ieee-p1363" });
    return { ...r, sig: "0x" + lowS(der).toString("hex"), proj, nonce };
  }
}

const N = secp256k1.CURVE.n;
function lowS(rs: Buffer): Buffer {
  const s = BigInt("0x" + rs.subarray(32).toString("hex"));
  if (s <= N / 2n) return rs;
  return Buffer.concat([rs.subarray(0, 32), Buffer.from((N - s).toString(16).padStart(64, "0"), "hex")]);
}

/** The Ethereum-style address of a secp256k1 public key (compressed or not): what
 * ecrecover returns for its signatures, and what the ledger stores as the peer's signer. */
export function signerOfPublicKey(pub: Uint8Array): string {
  return computeAddress("0x" + Buffer.from(pub).toString("hex"));
}

const publicKeys = new Map<string, KeyObject>();
function publicKeyObject(publicKey: Uint8Array): KeyObject {
  const hex = Buffer.from(publicKey).toString("hex");
  let key = publicKeys.get(hex);
  if (key === undefined) {
    const full = publicKey.length === 33 ? secp256k1.ProjectivePoint.fromHex(publicKey).toRawBytes(false) : publicKey;
    const b64 = (b: Uint8Array) => Buffer.from(b).toString("base64url");
    key = createPublicKey({ key: { kty: "EC", crv: "secp256k1", x: b64(full.subarray(1, 33)), y: b64(full.subarray(33)) }, format: "jwk" });
    publicKeys.set(hex, key);
    if (publicKeys.size > 4096) publicKeys.delete(publicKeys.keys().next().value!);
  }
  return key;
}

/** Checks a receipt's signature against the public key of the peer that should have made it. */
export function verifyReceipt(domain: TypedDataDomain, r: SignedReceipt, publicKey: Uint8Array): boolean {
  if (commitDigest(r.proj, r.nonce) !== r.commitDigest) return false;
  if (!/^0x[0-9a-f]{128}$/.test(r.sig)) return false;
  const key = publicKeyObject(publicKey);
  const digest = Buffer.from(receiptDigest(domain, r).slice(2), "hex");
  return nodeVerify(null, digest, { key, dsaEncoding: "ieee-p1363" }, Buffer.from(r.sig.slice(2), "hex"));
}

/** What the signature is over: sha256 of the EIP-712 digest. */
export function receiptSigningHash(domain: TypedDataDomain, r: Receipt): string {
  return sha256(receiptDigest(domain, r));
}

/** The 65-byte r‖s‖v signature the ledger's ecrecover takes (v found by recovery). */
export function chainSignature(domain: TypedDataDomain, r: SignedReceipt, signer: string): string {
  const digest = receiptSigningHash(domain, r);
  for (const v of [27, 28]) {
    const sig = Signature.from({ r: "0x" + r.sig.slice(2, 66), s: "0x" + r.sig.slice(66), v });
    if (recoverAddress(digest, sig).toLowerCase() === signer.toLowerCase()) return sig.serialized;
  }
  throw new ReceiptError("the receipt's signature does not recover to its server");
}
