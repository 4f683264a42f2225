// Receipts and their commitments: signatures that the ledger's ecrecover accepts, a chain
// that breaks when any field moves, windows whose one signature binds every step, compact
// wire forms, and a commitment that catches a lie of half the old tolerance but not honest
// last-bit noise — and that a liar cannot aim at its null space.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { generateKeyPair } from "@libp2p/crypto/keys";
import { recoverAddress, TypedDataEncoder } from "ethers";
import { checkCommitment, commitDigest, project, PROJECTIONS, sealNonce, tensorDigest, windowSeed } from "../../../node/swarm/commitment.ts";
import { chainSignature, LOCAL_DOMAIN, RECEIPT_TYPES, receiptDigest, receiptHash, receiptSigningHash, ReceiptSigner, signerOfPublicKey, verifyReceipt, ZERO } from "../../../node/swarm/receipt.ts";
import { BrokenReceiptsError, checkUpstream, checkWindowReceipts, fromJson, makeReceipt, toJson } from "../../../node/swarm/receipt-chain.ts";
import { decodeHopReceipts, decodeUpstream, encodeHopReceipt, encodeUpstream, hopReceiptBytes, UPSTREAM_RECEIPT_BYTES } from "../../../node/swarm/receipt-wire.ts";
import { chainDigest, StepWindow } from "../../../node/swarm/window.ts";
import { WireError } from "../../../node/p2p/wire.ts";
import { normal } from "../../../node/model/random.ts";

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
  it("Gaussian rows: no two-entry lie cancels on every row (±1 rows let 1 in 16 through)", () => {
    const seed = windowSeed(tensorDigest(tensor(1, 7)), sealNonce());
    let cancelled = 0;
    for (let a = 0; a < 40; a++) {
      for (let b = a + 1; b < 40; b++) {
        const lie = new Float32Array(DIM);
        lie[a] = 10;
        lie[b] = -10;
        if (project(lie, 1, DIM, seed).every((v) => Math.abs(v) < 1e-3)) cancelled++;
      }
    }
    assert.equal(cancelled, 0, `${cancelled} of 780 two-entry lies invisible`);
  });

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

/** A hop's window of two steps (1 and 1 positions): what it received and sent. */
function window(input: Float32Array, output: Float32Array): StepWindow {
  const w = new StepWindow(0, true);
  w.add(input.subarray(0, DIM), output.subarray(0, DIM), 1);
  w.add(input.subarray(DIM), output.subarray(DIM), 1);
  return w;
}
const NONCE = "0123456789abcdef0123456789abcdef";
function sign(s: ReceiptSigner, start: number, end: number, w: StepWindow, prev = ZERO, upstream = ZERO, nonce = NONCE) {
  return makeReceipt(s, facts(start, end, w.pos, w.positions), w.inputDigest(), w.outputDigest(), w.outputs(), nonce, prev, upstream);
}

describe("receipts", () => {
  it("are signed with the peer key: verified natively, and recovered by ecrecover to the peer's address", async () => {
    const { key, s } = await signer();
    const r = sign(s, 0, 2, window(tensor(2, 1), tensor(2, 2)));
    assert.equal(s.address, signerOfPublicKey(key.publicKey.raw));
    assert.ok(verifyReceipt(LOCAL_DOMAIN, r, key.publicKey.raw));
    const sig65 = chainSignature(LOCAL_DOMAIN, r, s.address);
    assert.equal(recoverAddress(receiptSigningHash(LOCAL_DOMAIN, r), sig65), s.address);
    assert.ok(BigInt("0x" + r.sig.slice(66)) <= 0x7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0n, "low-s");
    // any field changed, or another key, and it no longer verifies
    assert.equal(verifyReceipt(LOCAL_DOMAIN, { ...r, pos: 1 }, key.publicKey.raw), false);
    assert.equal(verifyReceipt(LOCAL_DOMAIN, { ...r, proj: r.proj.map((v) => v + 1) }, key.publicKey.raw), false);
    assert.equal(verifyReceipt(LOCAL_DOMAIN, { ...r, nonce: sealNonce() }, key.publicKey.raw), false, "the nonce is bound through the commit digest");
    assert.equal(verifyReceipt({ ...LOCAL_DOMAIN, chainId: 1n }, r, key.publicKey.raw), false);
    assert.equal(verifyReceipt(LOCAL_DOMAIN, r, (await generateKeyPair("secp256k1")).publicKey.raw), false);
    // and survive JSON (evidence)
    assert.deepEqual(fromJson(toJson(r), session), r);
    // the hand-built EIP-712 hashes are ethers' own
    const plain = { ...r, sig: undefined, proj: undefined };
    delete plain.sig;
    delete plain.proj;
    assert.equal(receiptHash(r), TypedDataEncoder.hashStruct("Receipt", RECEIPT_TYPES, plain));
    assert.equal(receiptDigest(LOCAL_DOMAIN, r), TypedDataEncoder.hash(LOCAL_DOMAIN, RECEIPT_TYPES, plain));
    assert.throws(() => receiptHash({ ...r, start: 70_000 }), /uint16/);
  });

  it("one signature binds every step of a window: its order and where each step ended", () => {
    const a = tensor(3, 1);
    const whole = new StepWindow(0, false);
    whole.add(a, a, 3);
    const split = new StepWindow(0, false);
    split.add(a.subarray(0, DIM), a.subarray(0, DIM), 1);
    split.add(a.subarray(DIM), a.subarray(DIM), 2);
    assert.equal(whole.positions, split.positions);
    assert.notEqual(whole.inputDigest(), split.inputDigest(), "the same positions in other steps are another window");
    assert.equal(split.inputDigest(), chainDigest([tensorDigest(a.subarray(0, DIM)), tensorDigest(a.subarray(DIM))]));
    assert.notEqual(chainDigest([tensorDigest(a.subarray(DIM)), tensorDigest(a.subarray(0, DIM))]), split.inputDigest(), "order matters");
    split.reset();
    assert.deepEqual([split.pos, split.positions, split.steps], [3, 0, 0]);
  });

  it("travel compactly: 104 bytes a hop and window plus 16 a position; 138 hop to hop", async () => {
    const { s } = await signer();
    const r = sign(s, 0, 2, window(tensor(2, 1), tensor(2, 2)));
    const bytes = encodeHopReceipt(r);
    assert.equal(bytes.length, hopReceiptBytes(2));
    assert.equal(hopReceiptBytes(8), 104 + 8 * 16);
    const [back] = decodeHopReceipts(Uint8Array.from([...bytes]), 2);
    assert.deepEqual(back, { epoch: r.epoch, outputDigest: r.outputDigest, sig: r.sig, proj: r.proj });
    const up = decodeUpstream(encodeUpstream(r));
    assert.equal(encodeUpstream(r).length, UPSTREAM_RECEIPT_BYTES);
    assert.deepEqual(up, { epoch: r.epoch, start: r.start, inputDigest: r.inputDigest, upstream: r.upstream, sig: r.sig });
    const code = (f: () => void) => assert.throws(f, (e: Error) => e instanceof WireError && e.code === "bad_receipt");
    code(() => decodeHopReceipts(bytes.subarray(1), 2)); // not whole receipts
    code(() => decodeHopReceipts(bytes, 3)); // receipts for another window size
    code(() => decodeUpstream(bytes)); // not an upstream receipt
    const nan = Uint8Array.from(bytes);
    new DataView(nan.buffer).setFloat32(104, NaN, true);
    code(() => decodeHopReceipts(nan, 2));
  });

  it("a hop refuses to sign for a window whose input the hop before did not commit to", async () => {
    const a = await signer();
    const sent = tensor(2, 4);
    const wa = window(tensor(2, 1), sent);
    const up = decodeUpstream(encodeUpstream(sign(a.s, 0, 2, wa)));
    const received = window(sent, tensor(2, 5));
    const check = (u: typeof up, w: StepWindow, start = 2, nonce = NONCE) =>
      checkUpstream(LOCAL_DOMAIN, u, a.key.publicKey.raw, facts(start, 4, w.pos, w.positions), w.inputDigest(), w.inputs(), nonce, ZERO);
    assert.match(check(up, received), /^0x[0-9a-f]{64}$/); // the right bytes
    const code = (f: () => void) => assert.throws(f, (e: Error) => e instanceof WireError && e.code === "bad_receipt");
    code(() => check(up, window(noisy(sent, 1e-3), tensor(2, 5)))); // other bytes than signed for
    // the framing attempt: sign the digest of the bytes sent but project something else
    const framed = makeReceipt(a.s, facts(0, 2, 0, 2), wa.inputDigest(), wa.outputDigest(), noisy(sent, 1e-2), NONCE, ZERO, ZERO);
    code(() => check(decodeUpstream(encodeUpstream(framed)), received));
    code(() => check(up, received, 1)); // a hop starting inside the one before
    code(() => check(up, received, 2, sealNonce())); // projections for another seal
    code(() => check({ ...up, epoch: 9n }, received)); // signed in another epoch
    const other = (await generateKeyPair("secp256k1")).publicKey.raw;
    code(() => checkUpstream(LOCAL_DOMAIN, up, other, facts(2, 4, 0, 2), received.inputDigest(), received.inputs(), NONCE, ZERO)); // signed by another key
  });

  it("the client blames the hop whose receipt breaks the chain", async () => {
    const a = await signer();
    const b = await signer();
    const input = tensor(2, 1);
    const mid = tensor(2, 2);
    const out = tensor(2, 3);
    const wa = window(input, mid);
    const ra = sign(a.s, 0, 2, wa);
    const rb = sign(b.s, 2, 5, window(mid, out), ZERO, receiptHash(ra));
    const route = [{ start: 0, end: 2, publicKey: a.key.publicKey.raw }, { start: 2, end: 5, publicKey: b.key.publicKey.raw }];
    const seen = (i = input, o = out) => {
      const w = window(i, o);
      return { session, pos: 0, n: 2, inputDigest: w.inputDigest(), outputDigest: w.outputDigest(), outputs: w.outputs(), nonce: NONCE, epoch: 3n };
    };
    const parts = decodeHopReceipts(new Uint8Array([...encodeHopReceipt(ra), ...encodeHopReceipt(rb)]), 2);
    const full = checkWindowReceipts(LOCAL_DOMAIN, route, parts, seen(), []);
    assert.deepEqual(full, [ra, rb], "the client rebuilds the whole receipts from the compact ones");
    const blame = (f: () => void, hop: number) => assert.throws(f, (e: Error) => e instanceof BrokenReceiptsError && e.hop === hop);
    blame(() => checkWindowReceipts(LOCAL_DOMAIN, route, parts, seen(input, noisy(out, 1e-3)), []), 1); // result not what the last hop signed
    blame(() => checkWindowReceipts(LOCAL_DOMAIN, route, parts, seen(noisy(input, 1e-3), out), []), 0); // first hop signed other input
    blame(() => checkWindowReceipts(LOCAL_DOMAIN, [route[0], { ...route[1], publicKey: a.key.publicKey.raw }], parts, seen(), []), 1); // signed by another key
    blame(() => checkWindowReceipts(LOCAL_DOMAIN, route, [parts[0], { ...parts[1], outputDigest: parts[0].outputDigest }], seen(), []), 1);
    blame(() => checkWindowReceipts(LOCAL_DOMAIN, route, parts, seen(), [ZERO, receiptHash(ra)]), 1); // does not follow its previous receipt
    blame(() => checkWindowReceipts(LOCAL_DOMAIN, route, parts.slice(0, 1), seen(), []), 1); // a hop's receipt missing
    blame(() => checkWindowReceipts(LOCAL_DOMAIN, route, parts, { ...seen(), n: 1 }, []), 0); // for another window
    blame(() => checkWindowReceipts(LOCAL_DOMAIN, route, parts, { ...seen(), epoch: 7n }, []), 0); // signed in an epoch evidence could not name
    // the hop before sent no receipt with the seal, so the next signed without a link: the hop before is blamed
    const unlinked = sign(b.s, 2, 5, window(mid, out));
    blame(() => checkWindowReceipts(LOCAL_DOMAIN, route, [parts[0], decodeHopReceipts(encodeHopReceipt(unlinked), 2)[0]], seen(), []), 0);
  });

  it("the last hop's projections must be of the very result it sent (nobody after it checks)", async () => {
    const a = await signer();
    const input = tensor(2, 1);
    const honest = tensor(2, 3);
    const lie = noisy(honest, 0.05);
    const wLie = window(input, lie);
    // it signs the digest of the lie it sent, but projections of the honest output
    const proj = project(honest, 2, DIM, windowSeed(wLie.outputDigest(), NONCE));
    const r = a.s.sign({ session: "0x" + session + "0".repeat(32), start: 0, end: 5, pos: 0, n: 2, epoch: 3n, inputDigest: wLie.inputDigest(), outputDigest: wLie.outputDigest(), commitDigest: commitDigest(proj, NONCE), prev: ZERO, upstream: ZERO }, proj, NONCE);
    const route = [{ start: 0, end: 5, publicKey: a.key.publicKey.raw }];
    const seenLie = { session, pos: 0, n: 2, inputDigest: wLie.inputDigest(), outputDigest: wLie.outputDigest(), outputs: wLie.outputs(), nonce: NONCE };
    assert.throws(() => checkWindowReceipts(LOCAL_DOMAIN, route, decodeHopReceipts(encodeHopReceipt(r), 2), seenLie, []), (e: Error) => e instanceof BrokenReceiptsError && e.hop === 0 && /not to the result it sent/.test(e.message));
    const fair = sign(a.s, 0, 5, wLie);
    assert.equal(checkWindowReceipts(LOCAL_DOMAIN, route, decodeHopReceipts(encodeHopReceipt(fair), 2), seenLie, []).length, 1);
  });
});
