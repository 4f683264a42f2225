// Receipts and their commitments: signatures that the ledger's ecrecover accepts, a chain
// that breaks when any field moves, and a commitment that catches a lie of half the old
// tolerance but not honest last-bit noise — and that a liar cannot aim at its null space.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { generateKeyPair } from "@libp2p/crypto/keys";
import { recoverAddress, TypedDataEncoder } from "ethers";
import { checkCommitment, project, PROJECTIONS, tensorDigest } from "../../../node/swarm/commitment.ts";
import { chainSignature, LOCAL_DOMAIN, RECEIPT_TYPES, receiptDigest, receiptHash, receiptSigningHash, ReceiptSigner, signerOfPublicKey, verifyReceipt, ZERO } from "../../../node/swarm/receipt.ts";
import { BrokenReceiptsError, checkStepReceipts, checkUpstream, fromWire, makeReceipt, toWire } from "../../../node/swarm/receipt-chain.ts";
import { WireError } from "../../../node/p2p/wire.ts";
import { normal } from "../../../node/model/synth.ts";

const DIM = 64;
const session = "00112233445566778899aabbccddeeff";
const facts = (start: number, end: number, pos = 0, n = 2) => ({ session, start, end, pos, n, dim: DIM, epoch: 3n });
function tensor(n: number, seed = 1): Float32Array {
  const r = normal(seed);
  return Float32Array.from({ length: n * DIM }, () => r());
}
function noisy(x: Float32Array, sigma: number, seed = 9): Float32Array {
  const r = normal(seed);
  const rms = Math.sqrt(x.reduce((a, v) => a + v * v, 0) / x.length);
  return x.map((v) => v + sigma * rms * r());
}
async function signer() {
  const key = await generateKeyPair("secp256k1");
  return { key, s: new ReceiptSigner(key.raw, LOCAL_DOMAIN) };
}

describe("commitments", () => {
  it("honest output passes with error exactly 0; noise at half the old tolerance (5e-4) fails at every position", () => {
    const out = tensor(16);
    const d = tensorDigest(out);
    const proj = project(out, 16, DIM, d);
    assert.equal(proj.length, 16 * PROJECTIONS);
    assert.deepEqual(checkCommitment(proj, out, 16, DIM, d, 1e-6), { pass: true, error: 0, position: -1 });
    const lie = noisy(out, 5e-4);
    const ld = tensorDigest(lie);
    const check = checkCommitment(project(lie, 16, DIM, ld), out, 16, DIM, ld, 1e-6);
    assert.equal(check.pass, false);
    assert.equal(check.position, 0);
    assert.ok(check.error > 1e-5, `error ${check.error}`);
  });

  it("a lie built in the null space of the projection it expects is caught (the seed follows the output)", () => {
    const out = tensor(1, 5);
    const d = tensorDigest(out);
    const honest = project(out, 1, DIM, d);
    // the liar knows the projection for its honest output's digest and removes the lie's
    // component along each row: the commitment for THAT seed would not move…
    const delta = noisy(new Float32Array(DIM).fill(0).map((_, i) => out[i]), 0.05, 3).map((v, i) => v - out[i]);
    const rows = Array.from({ length: PROJECTIONS }, (_, j) => {
      const e = new Float64Array(DIM);
      for (let i = 0; i < DIM; i++) {
        const basis = new Float32Array(DIM);
        basis[i] = 1;
        e[i] = project(basis, 1, DIM, d)[j];
      }
      return e;
    });
    for (let a = 0; a < rows.length; a++) {
      // Gram–Schmidt, so removing one row's component does not bring back another's
      for (let b = 0; b < a; b++) {
        const dot = rows[a].reduce((acc, v, i) => acc + v * rows[b][i], 0) / rows[b].reduce((acc, v) => acc + v * v, 0);
        for (let i = 0; i < DIM; i++) rows[a][i] -= dot * rows[b][i];
      }
    }
    for (const r of rows) {
      const dot = r.reduce((a, v, i) => a + v * delta[i], 0) / r.reduce((a, v) => a + v * v, 0);
      for (let i = 0; i < DIM; i++) delta[i] -= dot * r[i];
    }
    const lie = out.map((v, i) => v + delta[i]);
    const sameSeed = project(lie, 1, DIM, d);
    assert.ok(Math.max(...sameSeed.map((v, i) => Math.abs(v - honest[i]))) < 1e-3, "the crafted lie is invisible under the old seed");
    // …but the seed is the digest of what it actually sends
    const ld = tensorDigest(lie);
    assert.equal(checkCommitment(project(lie, 1, DIM, ld), out, 1, DIM, ld, 1e-6).pass, false);
  });
});

describe("receipts", () => {
  it("are signed with the peer key: verified natively, and recovered by ecrecover to the peer's address", async () => {
    const { key, s } = await signer();
    const r = makeReceipt(s, facts(0, 2), tensor(2, 1), tensor(2, 2), ZERO, ZERO);
    assert.equal(s.address, signerOfPublicKey(key.publicKey.raw));
    assert.ok(verifyReceipt(LOCAL_DOMAIN, r, key.publicKey.raw));
    const sig65 = chainSignature(LOCAL_DOMAIN, r, s.address);
    assert.equal(recoverAddress(receiptSigningHash(LOCAL_DOMAIN, r), sig65), s.address);
    assert.ok(BigInt("0x" + r.sig.slice(66)) <= 0x7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0n, "low-s");
    // any field changed, or another key, and it no longer verifies
    assert.equal(verifyReceipt(LOCAL_DOMAIN, { ...r, pos: 1 }, key.publicKey.raw), false);
    assert.equal(verifyReceipt(LOCAL_DOMAIN, { ...r, proj: r.proj.map((v) => v + 1) }, key.publicKey.raw), false);
    assert.equal(verifyReceipt({ ...LOCAL_DOMAIN, chainId: 1n }, r, key.publicKey.raw), false);
    assert.equal(verifyReceipt(LOCAL_DOMAIN, r, (await generateKeyPair("secp256k1")).publicKey.raw), false);
    // and survive the wire
    assert.deepEqual(fromWire(toWire(r), session, 0, 2), r);
    // the hand-built EIP-712 hashes are ethers' own
    const plain = { ...r, sig: undefined, proj: undefined };
    delete plain.sig;
    delete plain.proj;
    assert.equal(receiptHash(r), TypedDataEncoder.hashStruct("Receipt", RECEIPT_TYPES, plain));
    assert.equal(receiptDigest(LOCAL_DOMAIN, r), TypedDataEncoder.hash(LOCAL_DOMAIN, RECEIPT_TYPES, plain));
    assert.throws(() => receiptHash({ ...r, start: 70_000 }), /uint16/);
  });

  it("a hop refuses input whose bytes are not what the hop before committed to", async () => {
    const { s } = await signer();
    const out = tensor(2, 4);
    const up = makeReceipt(s, facts(0, 2), tensor(2, 1), out, ZERO, ZERO);
    checkUpstream(up, out, facts(2, 4)); // the right bytes
    const code = (f: () => void) => assert.throws(f, (e: Error) => e instanceof WireError && e.code === "bad_receipt");
    code(() => checkUpstream(up, noisy(out, 1e-3), facts(2, 4))); // other bytes than signed for
    code(() => checkUpstream({ ...up, proj: up.proj.map((v, i) => (i === 0 ? v + 1 : v)) }, out, facts(2, 4))); // a commitment to something else
    code(() => checkUpstream(up, out, facts(3, 4))); // a gap in the layers
  });

  it("the client blames the hop whose receipt breaks the chain", async () => {
    const a = await signer();
    const b = await signer();
    const input = tensor(2, 1);
    const mid = tensor(2, 2);
    const out = tensor(2, 3);
    const ra = makeReceipt(a.s, facts(0, 2), input, mid, ZERO, ZERO);
    const rb = makeReceipt(b.s, facts(2, 5), mid, out, ZERO, (await import("../../../node/swarm/receipt.ts")).receiptHash(ra));
    const route = [{ start: 0, end: 2, publicKey: a.key.publicKey.raw }, { start: 2, end: 5, publicKey: b.key.publicKey.raw }];
    const hashes = checkStepReceipts(LOCAL_DOMAIN, route, [ra, rb], input, out, []);
    assert.equal(hashes.length, 2);
    const blame = (f: () => void, hop: number) => assert.throws(f, (e: Error) => e instanceof BrokenReceiptsError && e.hop === hop);
    blame(() => checkStepReceipts(LOCAL_DOMAIN, route, [ra, rb], input, noisy(out, 1e-3), []), 1); // result not what the last hop signed
    blame(() => checkStepReceipts(LOCAL_DOMAIN, route, [ra, rb], noisy(input, 1e-3), out, []), 0); // first hop signed other input
    blame(() => checkStepReceipts(LOCAL_DOMAIN, [route[0], { ...route[1], publicKey: a.key.publicKey.raw }], [ra, rb], input, out, []), 1); // signed by another key
    blame(() => checkStepReceipts(LOCAL_DOMAIN, route, [ra, { ...rb, upstream: ZERO }], input, out, []), 1);
    blame(() => checkStepReceipts(LOCAL_DOMAIN, route, [ra, rb], input, out, [ZERO, hashes[0]]), 1); // does not follow its previous receipt
  });
});
