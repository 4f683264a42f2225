// Gas benchmark of the trust ledger (a script, not a test): one epoch's reports and
// settlement for committees of 3, 5, 7 verifiers and 8, 32, 128 servers, in the steady state
// (every server has a previous epoch to be credited), plus register, claim, slashing.
// Writes bench/gas.json.
//   npm run bench:gas
import { mkdirSync, writeFileSync } from "node:fs";
import { encodeResults, receiptHash, signCommitment, signEvidence, signReceipt } from "../node/chain/settlement.ts";
import type { Receipt } from "../node/chain/domain.ts";
import { attestationDigest, leastSigners, prepareAttestation, settleAttested, signAttestation } from "../node/chain/attested.ts";
import { keccak256, toUtf8Bytes, ZeroHash } from "ethers";
import {
  as,
  connect,
  deployWorld,
  domainOf,
  goTo,
  goToCommit,
  goToSettle,
  peerKey,
  registerServer,
  registerVerifiers,
  type World,
} from "../test/helpers/ledger.ts";

// GAS_COMMITTEES=3,7 GAS_SIZES=32 for a quick look (bench/gas.json is written only for the full set)
const list = (v: string | undefined, all: number[]) => (v === undefined ? all : v.split(",").map(Number));
const COMMITTEES = list(process.env.GAS_COMMITTEES, [3, 5, 7]);
const SIZES = list(process.env.GAS_SIZES, [8, 32, 128]);
const PARTIAL = process.env.GAS_COMMITTEES !== undefined || process.env.GAS_SIZES !== undefined;
const MAX = Math.max(...SIZES);

type Tx = Promise<{ wait(): Promise<{ gasUsed: bigint }> }>;
async function gasOf(tx: Tx): Promise<number> {
  return Number((await (await tx).wait()).gasUsed);
}

const byAddr = (a: string, b: string) => (BigInt(a) < BigInt(b) ? -1 : 1);

/** One epoch's reports and settlement for `servers`: the committee's signed commitments in
 * one batch, then, from the same state (a snapshot), the settlement that carries (and so
 * reveals) every report and the attested one (the usual path: medians signed by members
 * worth ≥ 2/3 of the stake, each report opened by its hash), which the epoch keeps. */
async function epochGas(w: World, epoch: number, servers: string[]) {
  const results = encodeResults(servers.map((server, i) => ({ server, accBps: 9_900 + (i % 100), tokens: 1000 + i })));
  await goToCommit(w, epoch);
  const signed = await Promise.all(w.verifiers.map((v) => signCommitment(v, domainOf(w), epoch, results)));
  const commit = await gasOf(w.ledger.commitReports(epoch, signed.map((s) => s.signed.verifier), signed.map((s) => s.signed.commitment), signed.map((s) => s.signed.sig)));
  await goToSettle(w, epoch);
  const order = signed.map((s, i) => ({ ...s, i })).sort((a, b) => byAddr(a.signed.verifier, b.signed.verifier));
  const snapshot = await w.helpers.takeSnapshot();
  const settle = await gasOf(
    w.ledger.settleEpoch(epoch, [...servers].sort(byAddr), order.map((s) => s.signed.verifier), order.map(() => results), order.map((s) => s.salt)),
  );
  await snapshot.restore();
  const reveals = new Map(signed.map((s) => [s.signed.verifier.toLowerCase(), { results, salt: s.salt }]));
  const a = (await prepareAttestation(w.ledger, epoch, reveals))!;
  const d = attestationDigest(a);
  const sigs = new Map(await Promise.all(w.verifiers.map(async (v) => [(await v.getAddress()).toLowerCase(), await signAttestation(v, domainOf(w), epoch, d)] as [string, string])));
  const attested = Number((await settleAttested(w.ledger, a, leastSigners(a, sigs))).gasUsed);
  return { commit, reveal: 0, settle, attested };
}

async function measure(committee: number) {
  const { ethers, helpers } = await connect(MAX + committee + 5);
  const w = await deployWorld(ethers, helpers, undefined, { servers: MAX, verifiers: committee });
  const register: number[] = [];
  for (let i = 0; i < MAX; i++) register.push(await gasOf(registerServer(w, i, i % 5, (i % 5) + 1)));
  const verifierGas = await gasOf(as(w, w.verifiers[0]).registerVerifier(50n * 10n ** 18n, "0x01", ["/ip4/127.0.0.1/tcp/5000"]));
  await registerVerifiers({ ...w, verifiers: w.verifiers.slice(1) });
  const all = await Promise.all(w.servers.map((s) => s.getAddress()));

  // setting up takes many blocks (a second each): start from the first epoch everyone is in
  const first = Number(await w.ledger.currentEpoch()) + 1;
  // warm-up: every server gets a pending reward to be credited next time, and every verifier
  // has used its 4 report slots (a report reuses the slot of epoch − 4)
  for (let e = first; e < first + 4; e++) await epochGas(w, e, all);
  const perServerEpoch: Record<number, { allIn: number; settleOnly: number; allInReports: number; settleOnlyReports: number; commitPerVerifier: number; revealPerVerifier: number }> = {};
  let epoch = first + 4;
  for (const n of SIZES) {
    const g = await epochGas(w, epoch++, all.slice(0, n));
    perServerEpoch[n] = {
      allIn: Math.round((g.commit + g.attested) / n),
      settleOnly: Math.round(g.attested / n),
      allInReports: Math.round((g.commit + g.reveal + g.settle) / n),
      settleOnlyReports: Math.round(g.settle / n),
      commitPerVerifier: Math.round(g.commit / committee),
      revealPerVerifier: Math.round(g.reveal / committee),
    };
  }
  await goTo(w, epoch + 3);
  const claim = await gasOf(as(w, w.servers[0]).claim());

  // slashing: evidence co-signed by the whole committee, executed after the challenge window
  const h = (s: string) => keccak256(toUtf8Bytes(s));
  const receipt = (e: number, out: string): Receipt => ({ session: h("s"), start: 1, end: 2, pos: 3, n: 1, epoch: BigInt(e), inputDigest: h("in"), outputDigest: h(out), commitDigest: h("c" + out), prev: ZeroHash, upstream: ZeroHash });
  const r = receipt(epoch + 2, "out");
  const s1 = await w.servers[1].getAddress();
  const sigs = (await Promise.all(w.verifiers.map((v) => signEvidence(v, domainOf(w), { server: s1, receiptHash: receiptHash(r), recordHash: h("record") })))).sort((a, b) => byAddr(a.signer, b.signer));
  const rc = await (await w.ledger.submitEvidence(r, signReceipt(peerKey(1), domainOf(w), r), h("record"), sigs.map((x) => x.signer), sigs.map((x) => x.signature))).wait();
  const slashId = rc.logs.map((l: never) => w.ledger.interface.parseLog(l)).find((e: { name: string } | null) => e?.name === "EvidenceSubmitted").args.slashId;
  await goTo(w, epoch + 6);
  const executeSlash = await gasOf(w.ledger.executeSlash(slashId));
  const a = receipt(epoch + 2, "one");
  const b = receipt(epoch + 2, "two");
  const equivocation = await gasOf(w.ledger.slashEquivocation(a, signReceipt(peerKey(2), domainOf(w), a), b, signReceipt(peerKey(2), domainOf(w), b)));
  return {
    perServerEpoch,
    registerServer: Math.round(register.reduce((x, y) => x + y, 0) / register.length),
    registerVerifier: verifierGas,
    claim,
    submitEvidence: Number(rc.gasUsed),
    executeSlash,
    slashEquivocation: equivocation,
  };
}

const results: Record<number, Awaited<ReturnType<typeof measure>>> = {};
for (const c of COMMITTEES) {
  results[c] = await measure(c);
  console.error(`committee ${c}: ${JSON.stringify(results[c].perServerEpoch)}`);
}
if (PARTIAL) process.exit(0);
const pick = (f: (p: Awaited<ReturnType<typeof measure>>["perServerEpoch"][number]) => number) =>
  Object.fromEntries(COMMITTEES.map((c) => [c, Object.fromEntries(SIZES.map((n) => [n, f(results[c].perServerEpoch[n])]))]));
const out = {
  unit: "gas",
  // all-in, the usual path: the committee's commitReports batch + settleAttested (each with its 21,000 base), divided by servers
  perServerEpoch: pick((p) => p.allIn),
  // settleAttested alone, divided by servers
  perServerEpochSettleOnly: pick((p) => p.settleOnly),
  // the fallback when members do not attest: commitReports + settleEpoch carrying every report
  perServerEpochReports: pick((p) => p.allInReports),
  perServerEpochReportsSettleOnly: pick((p) => p.settleOnlyReports),
  commitPerVerifier: pick((p) => p.commitPerVerifier),
  revealPerVerifier: pick((p) => p.revealPerVerifier),
  registerServer: results[3].registerServer,
  registerVerifier: results[3].registerVerifier,
  claim: results[3].claim,
  // evidence co-signed by the whole committee (3, 5, 7 signatures)
  submitEvidence: Object.fromEntries(COMMITTEES.map((c) => [c, results[c].submitEvidence])),
  executeSlash: results[3].executeSlash,
  slashEquivocation: results[3].slashEquivocation,
  target: { perServerEpochAtCommittee3Servers32: 15000, perServerEpochAtCommittee7Servers32: 20000 },
  met: {
    committee3: results[3].perServerEpoch[32].allIn <= 15000,
    committee7: results[7].perServerEpoch[32].allIn <= 20000,
  },
  notes: [
    "steady state: every settled server also has its previous epoch's reward credited, and each verifier's report slot is reused (4 epochs of warm-up)",
    "the usual path: every member's signed commitment in one commitReports transaction, then one settleAttested with the medians the members computed and signed (the fewest signatures that reach 2/3 of the committee stake: 2 of 3, 4 of 5, 5 of 7) and each report opened by its hash and salt; commitPerVerifier is that batch's gas divided by the committee; revealPerVerifier is 0 (no reveal transactions)",
    "the fallback (perServerEpochReports), measured from the same state: one settleEpoch that carries every report and salt and walks them on chain",
    "settlement takes the whole committee; it credits each report's verifier fee (one write per report, in the report's own slot); an active server's settlement reads and writes one storage slot; one EpochSettled event per settlement call packs every server settled (35 bytes each)",
    "all-in per server falls with the server count as the committee's two transactions are shared",
    "the ledger is three contracts (TrustLedger, TrustLedgerRegistry, TrustLedgerCourt), each under EIP-170's 24,576 bytes: see docs/settlement.md",
  ],
};
mkdirSync("bench", { recursive: true });
writeFileSync("bench/gas.json", JSON.stringify(out, null, 2) + "\n");
console.log(JSON.stringify(out, null, 2));
