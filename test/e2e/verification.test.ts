// Audits, evidence and settlement end to end, on a real chain with real processes: cheaters
// that lie only when a session does not look like a check, crude faults, a layer skipped and
// noise at half the old tolerance are each caught by mystery-shopper audits, taken off routes
// on co-signed evidence and slashed after the challenge window; an --auto-cover server takes
// over their layers and the published text comes through; honest servers stay active and are
// paid; a verifier that reports 0 for everyone is outvoted by the stake-weighted median and
// not struck for disagreeing; settlement survives the loss of the epoch's aggregator; a
// server killed with SIGKILL is routed around, then deactivated (not slashed) once the
// committee found it silent all epoch, and cannot come back without registering anew.
import { after, afterEach, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { JsonRpcProvider } from "ethers";
import { Contract } from "ethers";
import { loadAbi, rpcProvider } from "../../node/chain/ledger.ts";
import { readSettled } from "../../node/chain/settled.ts";
import { decodeResults, readRevealed, settledByAttestation } from "../../node/chain/settlement.ts";
import { efed, efedBackground, type Background } from "../helpers/processes.ts";
import { goldenText, STORIES_260K } from "../helpers/models.ts";

const EPOCH = 20; // seconds: room for ~20 processes on 2 cores
const CHEATERS = ["lie-when:route", "lie-when:steps", "lie-when:prompt", "lie-when:caller", "skip-layer", "noise:0.0005", "skip", "garbage"];
const STATUS = { active: 1, deactivated: 3, slashed: 4 };

describe("audits, evidence and settlement, end to end", () => {
  const home = mkdtempSync(join(tmpdir(), "efed-verify-"));
  const env: Record<string, string> = { EFED_HOME: home, EFED_PASSWORD: "pw", EFED_DEPLOYMENTS: join(home, "deployments") };
  const procs: Background[] = [];
  let chain: Background;
  let ledger: Contract;
  let provider: JsonRpcProvider;
  let auditsFrom = 0;
  const addressOf = (w: string) => w.split("/").at(-1)!.replace(".json", "");
  const wallet: Record<string, string> = {};
  const run = (args: string[]) => efed(args, env, 120_000);
  const bg = async (args: string[], ready = /(server|verifier) ready/) => {
    const p = await efedBackground(args, ready, 180_000, env);
    procs.push(p);
    return p;
  };
  const epochNow = async () => Number(await ledger.currentEpoch());
  const waitFor = async (what: string, cond: () => Promise<boolean>, epochs: number) => {
    const deadline = Date.now() + epochs * EPOCH * 1000;
    while (Date.now() < deadline) {
      if (await cond()) return;
      await new Promise((r) => setTimeout(r, 1000));
    }
    assert.fail(`${what}: not within ${epochs} epochs`);
  };
  let crashedPeer = "";
  const events = async (name: string, ...args: unknown[]) => (await ledger.queryFilter(ledger.filters[name](...args))).map((e) => (e as unknown as { args: Record<string, unknown> }).args);
  const settledOf = async (server: string) => (await readSettled(ledger)).filter((s) => s.server.toLowerCase() === server.toLowerCase());

  const dumpLedger = async () => {
    const name = new Map(Object.entries(wallet).map(([n, w]) => [addressOf(w).toLowerCase(), n]));
    const who = (a: string) => name.get(a.toLowerCase()) ?? a.slice(0, 10);
    process.stderr.write("--- ledger: reports and settlements by epoch\n");
    const settled = await readSettled(ledger);
    for (let e = 0; e <= (await epochNow()); e++) {
      for (const r of await readRevealed(ledger, e)) process.stderr.write(`epoch ${e} report ${who(r.verifier)}: ${decodeResults(r.results).map((x) => `${who(x.server)} ${x.accBps}/${x.tokens}`).join(", ")}\n`);
      const s = settled.filter((x) => x.epoch === e);
      if (s.length > 0) process.stderr.write(`epoch ${e} settled: ${s.map((x) => `${who(x.server)} ${x.accBps} ${x.active ? "active" : "DEACTIVATED"}`).join(", ")}\n`);
    }
    const committees = new Map<string, string>();
    for (let e = 0; e <= (await epochNow()); e++) {
      const [members, stakes] = (await ledger.committee(e, 0, 100)) as [string[], bigint[]];
      const c = members.map((m, i) => `${who(m)} ${stakes[i] / 10n ** 18n}`).join(", ");
      if (committees.get("last") !== c) process.stderr.write(`committee from epoch ${e}: ${c}\n`);
      committees.set("last", c);
    }
    const json = (a: unknown) => JSON.stringify(a, (_k, v) => (typeof v === "bigint" ? String(v) : typeof v === "string" && v.startsWith("0x") && v.length === 42 ? who(v) : v));
    for (const ev of ["ServerDeactivated", "VerifierStruck", "VerifierSlashed", "ReportNotRevealed", "SettlementSkipped", "ServerLayersUpdated", "EvidenceSubmitted"]) for (const a of await events(ev)) process.stderr.write(`${ev}: ${json(a)}\n`);
  };

  before(async () => {
    chain = await efedBackground(["chain", "--port", "0"], /listening on (http:\/\/127\.0\.0\.1:\d+)/, 60_000, env);
    env.EFED_RPC = chain.match![1];
    const params = join(home, "params.json");
    writeFileSync(params, JSON.stringify({ epochSeconds: EPOCH, evidenceWindowEpochs: 2, challengeEpochs: 1, unbondingSeconds: 6 * EPOCH, strikeLimit: 2 }));
    const d = await run(["deploy", "--model", STORIES_260K, "--params", params]);
    assert.equal(d.code, 0, d.stderr);
    const names = ["v1", "v2", "v3", "liar", "head", "tail", "cover", "leaver", "crasher", ...CHEATERS];
    for (const n of names) {
      const r = await run(["wallet", "new"]);
      assert.equal(r.code, 0, r.stderr);
      wallet[n] = r.stdout.trim().split(/\s+/)[1];
    }
    provider = rpcProvider(env.EFED_RPC);
    const dep = JSON.parse(readFileSync(join(env.EFED_DEPLOYMENTS, "31337.json"), "utf8"));
    ledger = new Contract(dep.ledger, loadAbi("TrustLedger"), provider);

    const model = ["--model", STORIES_260K];
    const audits = ["--audits", "4"];
    const v1 = await bg(["verifier", "--wallet", wallet.v1, ...model, ...audits]);
    const boot = /listening on (\S+)/.exec(v1.output())![1];
    await Promise.all([
      bg(["verifier", "--wallet", wallet.v2, ...model, ...audits, "--bootstrap", boot]),
      bg(["verifier", "--wallet", wallet.v3, ...model, ...audits, "--bootstrap", boot]),
      bg(["verifier", "--wallet", wallet.liar, ...model, ...audits, "--bootstrap", boot, "--lie", "0"]),
      bg(["server", "--wallet", wallet.head, ...model, "--layers", "0-2"]),
      bg(["server", "--wallet", wallet.tail, ...model, "--layers", "4-5"]),
      bg(["server", "--wallet", wallet.leaver, ...model, "--layers", "4-5"]),
      bg(["server", "--wallet", wallet.crasher, ...model, "--layers", "4-5"]),
      bg(["server", "--wallet", wallet.cover, ...model, "--layers", "0-2", "--auto-cover"]),
    ]);
    for (const f of CHEATERS) await bg(["server", "--wallet", wallet[f], ...model, "--layers", "2-4", "--fault", f]);
    auditsFrom = await epochNow();
  });
  let failed = false;
  afterEach((t) => {
    if ((t as { passed?: boolean }).passed === false) failed = true;
  });
  after(async () => {
    // a failure on CI's machine cannot be run again there: say what every process and the chain saw
    if (process.env.EFED_TEST_LOGS || failed) {
      for (const p of procs) process.stderr.write(`--- ${p.child.spawnargs.slice(2, 6).join(" ")}\n${p.output()}\n`);
      await dumpLedger().catch((err) => process.stderr.write(`--- ledger dump failed: ${(err as Error).message}\n`));
    }
    await Promise.all(procs.map((p) => p.stop()));
    await chain?.stop();
    provider?.destroy();
  });

  it("every cheater is taken off routes on co-signed evidence, then slashed after the challenge window", async () => {
    // 16 audits an epoch over 8 cheaters (fewer as they go): each is audited within 5 epochs
    // with probability > 99.9%, and every audited session through it is caught; evidence goes
    // on chain the epoch after, the slash one challenge epoch later.
    for (const f of CHEATERS) {
      const account = addressOf(wallet[f]);
      await waitFor(`${f} slashed on evidence`, async () => Number((await ledger.getServer(account)).status) === STATUS.slashed, 8 - ((await epochNow()) - auditsFrom));
      const submitted = await events("EvidenceSubmitted", null, account);
      assert.ok(submitted.length >= 1, `${f}: no evidence on chain`);
      // several audits may catch it before the first slash executes: its stake is cut once
      const slashed = (await events("ServerSlashed", account)).filter((e) => (e.stakeSlashed as bigint) > 0n);
      assert.equal(slashed.length, 1, `${f}: slashed ${slashed.length} times`);
      assert.equal((await ledger.getServer(account)).stake, 50n * 10n ** 18n, `${f} was not slashed by half`);
    }
  });

  it("an --auto-cover server takes over the uncovered layers; generation gives the published text, around a crashed server", async () => {
    const cover = addressOf(wallet.cover);
    await waitFor("layers 2-4 re-covered", async () => Number((await ledger.getServer(cover)).start) === 2, 4);
    // a crash (SIGKILL: no goodbye, its addresses stay on the ledger); clients ping before
    // they route, so it is left out from the first session on, without a failover
    const crasher = procs.find((p) => p.child.spawnargs.includes(wallet.crasher))!;
    crashedPeer = /server ready on \S+\/p2p\/(\w+)/.exec(crasher.output())![1];
    crasher.child.kill("SIGKILL");
    await new Promise((r) => crasher.child.once("exit", r));
    const listed = await ledger.getServer(addressOf(wallet.crasher));
    assert.equal(Number(listed.status), STATUS.active);
    assert.ok(listed.addrs.length > 0, "the crashed server's addresses are still on the ledger");
    const r = await run(["generate", "--model", STORIES_260K, "--max-tokens", "120", "--no-audit", "--stats"]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.slice(0, goldenText().length), goldenText());
    assert.match(r.stderr, /route 0-2@\w+ 2-4@\w+ 4-5@\w+/);
    assert.ok(!r.stderr.includes(crashedPeer), `routed over the crashed server:\n${r.stderr}`);
    assert.doesNotMatch(r.stderr, /rerouted/);
  });

  it("a server that unbonds cannot withdraw early", async () => {
    const r = await run(["unstake", "--wallet", wallet.leaver]);
    assert.equal(r.code, 0, r.stderr);
    const early = await run(["withdraw", "--wallet", wallet.leaver]);
    assert.equal(early.code, 1);
    assert.match(early.stderr, /^efed: the stake can be withdrawn from \S+ on\n$/);
  });

  it("honest servers are settled active epoch after epoch; the verifier reporting 0 is outvoted and not struck", async () => {
    const head = addressOf(wallet.head);
    const tail = addressOf(wallet.tail);
    await waitFor("3 settlements of the honest servers", async () => (await settledOf(head)).length >= 3 && (await settledOf(tail)).length >= 3, 8);
    for (const a of [head, tail]) {
      const s = await settledOf(a);
      assert.ok(s.every((x) => x.active === true), `${a} was deactivated`);
      const v = await ledger.getServer(a);
      assert.equal(Number(v.status), STATUS.active);
      assert.equal(v.trust, 10n ** 18n); // the stake-weighted median ignored the liar's 0
      assert.equal((await events("EvidenceSubmitted", null, a)).length, 0, "evidence against an honest server");
    }
    for (const v of ["v1", "v2", "v3", "liar"]) assert.equal((await events("VerifierStruck", addressOf(wallet[v]))).length, 0, `${v} was struck`);
    // the usual path: the committee signed the medians (the liar too: it computes them from every report)
    const epochs = [...new Set((await settledOf(head)).map((x) => x.epoch))];
    const attested = (await Promise.all(epochs.map((e) => settledByAttestation(ledger, e)))).filter(Boolean).length;
    assert.ok(attested >= 1, `none of epochs ${epochs.join(", ")} was settled from the committee's signed medians`);
  });

  it("rewards are paid out by `efed claim`", async () => {
    const r = await run(["claim", "--wallet", wallet.head]);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(Number(r.stdout.trim()) > 0, `claimed ${r.stdout}`);
  });

  it("no single verifier can stall settlement: with the epoch's aggregator gone, another settles", async () => {
    const committee = async (e: number) => ((await ledger.committee(e, 0, 100)) as [string[]])[0].map((a) => a.toLowerCase()).sort();
    const v1 = addressOf(wallet.v1).toLowerCase();
    let target = (await epochNow()) + 1;
    while ((await committee(Math.min(target, await epochNow())))[target % 4] !== v1) target++;
    await procs.find((p) => p.child.spawnargs.includes(wallet.v1))!.stop();
    const head = addressOf(wallet.head);
    await waitFor(`epoch ${target} settled without its aggregator v1`, async () => (await settledOf(head)).some((x) => x.epoch === target), target - (await epochNow()) + 4);
  });

  it("the crashed server is deactivated by the committee's reports, not slashed, and cannot come back unregistered", async () => {
    const account = addressOf(wallet.crasher);
    // silent on every probe of an epoch (while the other servers answer): each verifier
    // reports it with acc 0; the median over ≥ 2/3 of the stake gives S_i = 0 < θ (Eq. 4)
    await waitFor("the crashed server deactivated", async () => Number((await ledger.getServer(account)).status) === STATUS.deactivated, 6);
    const settled = (await settledOf(account)).filter((e) => !e.active);
    assert.ok(settled.length >= 1 && settled.every((e) => e.accBps === 0 && e.tokens === 0 && e.trust === 0n), JSON.stringify(settled, (_k, v) => (typeof v === "bigint" ? String(v) : v)));
    assert.equal((await events("ServerDeactivated", account)).length, 1);
    const v = await ledger.getServer(account);
    assert.equal(v.stake, 100n * 10n ** 18n, "stake untouched");
    assert.equal(v.pendingSlash, 0n);
    assert.equal((await events("EvidenceSubmitted", null, account)).length, 0);
    assert.equal((await events("ServerSlashed", account)).length, 0);
    const logs = procs.filter((p) => ["v2", "v3"].some((n) => p.child.spawnargs.includes(wallet[n]))).map((p) => p.output()).join("\n");
    assert.match(logs, new RegExp(`report on epoch \\d+: ${account.toLowerCase()} did not answer \\d+ tries over the epoch: reported unreachable`));
    // back up: the ledger re-activates no one; it says what to do, once, and stops
    const back = await run(["server", "--wallet", wallet.crasher, "--model", STORIES_260K, "--layers", "4-5"]);
    assert.equal(back.code, 1, back.stderr);
    assert.match(back.stderr, /^efed: this wallet's server was deactivated \(S_i under θ: failed audits, or unreachable all epoch\), not slashed; the ledger cannot re-activate it: `efed unstake`, then `efed withdraw` once the delay has passed, then start the server again to register anew$/m);
  });
});
