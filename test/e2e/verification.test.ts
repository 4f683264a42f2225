// End to end on a real chain with real processes (paper §3.2): verifiers probe, attest over
// gossipsub and settle epochs; every fault mode is deactivated and slashed at its first
// settlement; an --auto-cover server re-covers the layers; generation afterwards gives the
// published text; honest servers stay active epoch after epoch; a lying verifier is outvoted
// and struck; a server that leaves mid-epoch cannot withdraw before that epoch can be settled.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Contract, JsonRpcProvider } from "ethers";
import { loadAbi } from "../../node/chain/ledger.ts";
import { efed, efedBackground, type Background } from "../helpers/processes.ts";
import { goldenText, STORIES_260K } from "../helpers/models.ts";

const EPOCH = 15; // seconds: room for ~15 processes on 2 cores
const FAULTS = ["noise:0.01", "skip", "replay", "garbage", "zero"];

describe("verification, end to end", () => {
  const home = mkdtempSync(join(tmpdir(), "efed-verify-"));
  const env: Record<string, string> = { EFED_HOME: home, EFED_PASSWORD: "pw", EFED_DEPLOYMENTS: join(home, "deployments") };
  const procs: Background[] = [];
  let chain: Background;
  let ledger: Contract;
  let provider: JsonRpcProvider;
  const addressOf = (w: string) => w.split("/").at(-1)!.replace(".json", "");
  const wallet: Record<string, string> = {};
  const run = (args: string[]) => efed(args, env, 120_000);
  const bg = async (args: string[], ready = /(server|verifier) ready/) => {
    const p = await efedBackground(args, ready, 120_000, env);
    procs.push(p);
    return p;
  };
  const epochNow = async () => Number(await ledger.currentEpoch());
  const waitFor = async (what: string, cond: () => Promise<boolean>, epochs: number) => {
    const deadline = Date.now() + epochs * EPOCH * 1000;
    while (Date.now() < deadline) {
      if (await cond()) return;
      await new Promise((r) => setTimeout(r, 500));
    }
    assert.fail(`${what}: not within ${epochs} epochs`);
  };
  const settlements = async (server: string) =>
    (await ledger.queryFilter(ledger.filters.EpochSettled(null, server))).map((e) => (e as unknown as { args: { epoch: bigint; active: boolean } }).args);

  before(async () => {
    chain = await efedBackground(["chain", "--port", "0"], /listening on (http:\/\/127\.0\.0\.1:\d+)/, 60_000, env);
    env.EFED_RPC = chain.match![1];
    const params = join(home, "params.json");
    writeFileSync(params, JSON.stringify({ epochSeconds: EPOCH, unbondingSeconds: EPOCH, quorum: 3, strikeLimit: 2 }));
    assert.equal((await run(["deploy", "--model", STORIES_260K, "--params", params])).code, 0);
    const names = ["v1", "v2", "v3", "v4", "liar", "head", "tail", "cover", "leaver", ...FAULTS];
    for (const n of names) {
      const r = await run(["wallet", "new"]);
      assert.equal(r.code, 0, r.stderr);
      wallet[n] = r.stdout.trim().split(/\s+/)[1];
    }
    provider = new JsonRpcProvider(env.EFED_RPC, undefined, { staticNetwork: true });
    const d = JSON.parse((await import("node:fs")).readFileSync(join(env.EFED_DEPLOYMENTS, "31337.json"), "utf8"));
    ledger = new Contract(d.ledger, loadAbi("TrustLedger"), provider);

    const model = ["--model", STORIES_260K];
    const probes = ["--probes", "2"];
    const v1 = await bg(["verifier", "--wallet", wallet.v1, ...model, ...probes]);
    const boot = /listening on (\S+)/.exec(v1.output())![1];
    await Promise.all([
      bg(["verifier", "--wallet", wallet.v2, ...model, ...probes, "--bootstrap", boot]),
      bg(["verifier", "--wallet", wallet.v3, ...model, ...probes, "--bootstrap", boot]),
      bg(["verifier", "--wallet", wallet.v4, ...model, ...probes, "--bootstrap", boot]),
      bg(["verifier", "--wallet", wallet.liar, ...model, ...probes, "--bootstrap", boot, "--lie", "0"]),
      bg(["server", "--wallet", wallet.head, ...model, "--layers", "0-2"]),
      bg(["server", "--wallet", wallet.tail, ...model, "--layers", "4-5"]),
      bg(["server", "--wallet", wallet.leaver, ...model, "--layers", "4-5"]),
      bg(["server", "--wallet", wallet.cover, ...model, "--layers", "0-2", "--auto-cover"]),
      ...FAULTS.map((f) => bg(["server", "--wallet", wallet[f], ...model, "--layers", "2-4", "--fault", f])),
    ]);
  });
  after(async () => {
    if (process.env.EFED_TEST_LOGS) for (const p of procs) process.stderr.write(`--- ${p.child.spawnargs.slice(2, 6).join(" ")}\n${p.output()}\n`);
    await Promise.all(procs.map((p) => p.stop()));
    await chain?.stop();
    provider?.destroy();
  });

  it("every fault mode is deactivated and slashed at its first settlement", async () => {
    for (const f of FAULTS) {
      const account = addressOf(wallet[f]);
      await waitFor(`${f} deactivated`, async () => Number((await ledger.getServer(account)).status) === 3, 6);
      const s = await settlements(account);
      assert.equal(s[0].active, false, `${f} was active at its first settlement`);
      const view = await ledger.getServer(account);
      assert.equal(view.stake, 50n * 10n ** 18n, `${f} was not slashed by half`);
    }
  });

  it("an --auto-cover server takes over the uncovered layers; generation gives the published text", async () => {
    const cover = addressOf(wallet.cover);
    await waitFor("layers 2-4 re-covered", async () => Number((await ledger.getServer(cover)).start) === 2, 4);
    assert.ok(((await ledger.coverage()) as bigint[]).every((c) => c > 0n));
    const r = await run(["generate", "--model", STORIES_260K, "--max-tokens", "120"]);
    assert.equal(r.code, 0, r.stderr);
    const golden = goldenText();
    assert.equal(r.stdout.slice(0, golden.length), golden);
  });

  it("a server that unbonds mid-epoch cannot withdraw before that epoch can be settled", async () => {
    const r = await run(["unstake", "--wallet", wallet.leaver]);
    assert.equal(r.code, 0, r.stderr);
    const early = await run(["withdraw", "--wallet", wallet.leaver]);
    assert.equal(early.code, 1);
    assert.match(early.stderr, /^efed: the stake can be withdrawn from \S+ on\n$/);
  });

  it("honest servers stay active for ≥ 5 settled epochs; the lying verifier is outvoted and struck", async () => {
    const head = addressOf(wallet.head);
    const tail = addressOf(wallet.tail);
    await waitFor("5 settlements of the honest servers", async () => (await settlements(head)).length >= 5 && (await settlements(tail)).length >= 5, 12);
    for (const a of [head, tail]) {
      const s = await settlements(a);
      assert.ok(s.every((x) => x.active), `${a} was deactivated`);
      const v = await ledger.getServer(a);
      assert.equal(Number(v.status), 1);
      assert.equal(v.trust, 10n ** 18n); // the median ignored the liar's 0
    }
    const liar = addressOf(wallet.liar);
    const struck = await ledger.queryFilter(ledger.filters.VerifierStruck(liar));
    const slashed = await ledger.queryFilter(ledger.filters.VerifierSlashed(liar));
    assert.ok(struck.length >= 2, `liar struck ${struck.length} times`);
    assert.ok(slashed.length >= 1, "liar not slashed at the strike limit");
    for (const v of ["v1", "v2", "v3", "v4"]) {
      // an honest verifier may differ from the median by chance (2 probes an epoch), never enough to be slashed
      assert.equal((await ledger.queryFilter(ledger.filters.VerifierSlashed(addressOf(wallet[v])))).length, 0, `honest ${v} was slashed`);
      assert.ok(struck.length > (await ledger.queryFilter(ledger.filters.VerifierStruck(addressOf(wallet[v])))).length);
    }
    assert.ok((await epochNow()) > 0);
    assert.ok(readdirSync(home).length > 0);
  });

  it("rewards are paid out by `efed claim`", async () => {
    const r = await run(["claim", "--wallet", wallet.head]);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(Number(r.stdout.trim()) > 0, `claimed ${r.stdout}`);
  });

  it("no single verifier can stall settlement: with the epoch's aggregator — the bootstrap node — gone, another settles", async () => {
    // the rotation: eligible verifiers sorted by address, epoch mod their number. Pick the next
    // epoch whose aggregator is v1, the node every other verifier joined gossip through: its
    // loss would partition a mesh without peer exchange.
    const eligible: string[] = [];
    const min = (await ledger.params()).minVerifierStake as bigint;
    for (const a of (await ledger.allVerifiers()) as string[]) {
      const v = await ledger.getVerifier(a);
      if (Number(v.status) === 1 && (v.stake as bigint) >= min) eligible.push(a.toLowerCase());
    }
    eligible.sort();
    const v1 = addressOf(wallet.v1).toLowerCase();
    let target = (await epochNow()) + 1;
    while (eligible[target % eligible.length] !== v1) target++;
    await procs.find((p) => p.child.spawnargs.includes(wallet.v1))!.stop();
    const head = addressOf(wallet.head);
    await waitFor(`epoch ${target} settled without its aggregator v1`, async () => (await settlements(head)).some((x) => Number(x.epoch) === target), target - (await epochNow()) + 4);
  });
});
