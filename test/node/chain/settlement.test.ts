// Pure helpers of node/chain/settlement.ts and peer-binding.ts: report packing, commitments,
// epoch windows, peer ids and their signer addresses.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { computeAddress, getAddress, SigningKey, keccak256, toUtf8Bytes, getBytes, hexlify } from "ethers";
import { decodeResults, encodeResults, epochPhase, MalformedResultsError, reportCommitment } from "../../../node/chain/settlement.ts";
import { decodeSettled } from "../../../node/chain/settled.ts";
import { peerIdOfKey, peerSignerOf, UnsupportedPeerIdError } from "../../../node/chain/peer-binding.ts";

const A = getAddress("0x" + "aa".repeat(20));
const B = getAddress("0x" + "0b".repeat(20));

describe("settlement helpers", () => {
  it("encodeResults sorts by server and packs 26 bytes per entry; decodeResults inverts it", () => {
    const hex = encodeResults([{ server: A, accBps: 10_000, tokens: 7 }, { server: B, accBps: 1, tokens: 0xffffffff }]);
    assert.equal(hex, "0x" + "0b".repeat(20) + "0001" + "ffffffff" + "aa".repeat(20) + "2710" + "00000007");
    assert.deepEqual(decodeResults(hex), [{ server: B, accBps: 1, tokens: 0xffffffff }, { server: A, accBps: 10_000, tokens: 7 }]);
    assert.equal(encodeResults([]), "0x");
  });

  it("refuses duplicate servers and out-of-range values", () => {
    assert.throws(() => encodeResults([{ server: A, accBps: 1, tokens: 1 }, { server: A, accBps: 2, tokens: 2 }]), MalformedResultsError);
    assert.throws(() => encodeResults([{ server: A, accBps: 10_001, tokens: 1 }]), MalformedResultsError);
    assert.throws(() => encodeResults([{ server: A, accBps: 1, tokens: 2 ** 32 }]), MalformedResultsError);
    assert.throws(() => decodeResults("0x00"), MalformedResultsError);
  });

  it("decodeSettled reads the 35-byte records of an EpochSettled event and refuses a partial one", () => {
    const record = "aa".repeat(20) + "2706" + "0ddd2935029d8000" + "000003e8" + "01";
    assert.deepEqual(decodeSettled(4n, "0x" + record + "0b".repeat(20) + "0000" + "0000000000000000" + "00000000" + "00"), [
      { epoch: 4, server: A, accBps: 9990, trust: 999_000_000_000_000_000n, tokens: 1000, active: true },
      { epoch: 4, server: B, accBps: 0, trust: 0n, tokens: 0, active: false },
    ]);
    assert.throws(() => decodeSettled(4n, "0x" + record.slice(2)), /not a whole number/);
  });

  it("a commitment binds epoch, verifier, results and salt", () => {
    const r = encodeResults([{ server: A, accBps: 1, tokens: 1 }]);
    const salt = keccak256(toUtf8Bytes("salt"));
    const c = reportCommitment(3, A, r, salt);
    assert.notEqual(c, reportCommitment(4, A, r, salt));
    assert.notEqual(c, reportCommitment(3, B, r, salt));
    assert.notEqual(c, reportCommitment(3, A, "0x", salt));
  });

  it("epochPhase: commit in the first half of e+1, reveal in the second, settle e−2", () => {
    assert.deepEqual(epochPhase(100, 100, 10), { epoch: 0, window: "commit", reportEpoch: -1, settleEpoch: -1, windowEndsAt: 105 });
    assert.deepEqual(epochPhase(121, 100, 10), { epoch: 2, window: "commit", reportEpoch: 1, settleEpoch: 0, windowEndsAt: 125 });
    const p = epochPhase(125, 100, 10);
    assert.equal(p.window, "reveal");
    assert.equal(p.windowEndsAt, 130);
  });

  it("peerSignerOf is the address of the key inside a secp256k1 peer id", () => {
    const key = getBytes(keccak256(toUtf8Bytes("k")));
    const id = peerIdOfKey(key);
    assert.equal(id.length, 39);
    assert.equal(hexlify(id.slice(0, 6)), "0x002508021221");
    assert.equal(peerSignerOf(id), computeAddress(new SigningKey(hexlify(key)).publicKey));
    assert.throws(() => peerSignerOf(new Uint8Array(38)), UnsupportedPeerIdError);
  });
});
