// Low-rate lies and users' own sessions, end to end: a server that lies on 5% of sessions is
// penalised with evidence within the bound the arithmetic gives at a raised audit rate, and a
// user routed through a cheater learns it from the verifier its session was handed to.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { JsonRpcProvider } from "ethers";
import { Contract } from "ethers";
import { loadAbi, rpcProvider } from "../../node/chain/ledger.ts";
import { efed, efedBackground, type Background } from "../helpers/processes.ts";
import { STORIES_260K } from "../helpers/models.ts";

const EPOCH = 20;
const AUDITS = 10; // per verifier per epoch: 30 an epoch, every one through the liar (the only 2-4 server)

describe("low-rate liars and handed-in sessions, end to end", () => {
  const home = mkdtempSync(join(tmpdir(), "efed-audits-"));
  const env: Record<string, string> = { EFED_HOME: home, EFED_PASSWORD: "pw", EFED_DEPLOYMENTS: join(home, "deployments") };
  const procs: Background[] = [];
  let chain: Background;
  let v1: Background;
  let ledger: Contract;
  let provider: JsonRpcProvider;
  const wallet: Record<string, string> = {};
  const addressOf = (w: string) => w.split("/").at(-1)!.replace(".json", "");
  const run = (args: string[]) => efed(args, env, 180_000);
  const bg = async (args: string[]) => {
    const p = await efedBackground(args, /(server|verifier) ready/, 180_000, env);
    procs.push(p);
    return p;
  };
  const epochNow = async () => Number(await ledger.currentEpoch());

  before(async () => {
    chain = await efedBackground(["chain", "--port", "0"], /listening on (http:\/\/127\.0\.0\.1:\d+)/, 60_000, env);
    env.EFED_RPC = chain.match![1];
    const params = join(home, "params.json");
    writeFileSync(params, JSON.stringify({ epochSeconds: EPOCH, evidenceWindowEpochs: 2, challengeEpochs: 1, unbondingSeconds: 6 * EPOCH }));
    assert.equal((await run(["deploy", "--model", STORIES_260K, "--params", params])).code, 0);
    for (const n of ["v1", "v2", "v3", "head", "tail", "rare", "steps"]) wallet[n] = (await run(["wallet", "new"])).stdout.trim().split(/\s+/)[1];
    provider = rpcProvider(env.EFED_RPC);
    ledger = new Contract(JSON.parse(readFileSync(join(env.EFED_DEPLOYMENTS, "31337.json"), "utf8")).ledger, loadAbi("TrustLedger"), provider);
    const model = ["--model", STORIES_260K];
    // no --bootstrap: the verifiers find each other on the ledger
    v1 = await bg(["verifier", "--wallet", wallet.v1, ...model, "--audits", String(AUDITS), "--verbose", "--log", join(home, "v1.log")]);
    await Promise.all([
      bg(["verifier", "--wallet", wallet.v2, ...model, "--audits", String(AUDITS)]),
      bg(["verifier", "--wallet", wallet.v3, ...model, "--audits", String(AUDITS)]),
      bg(["server", "--wallet", wallet.head, ...model, "--layers", "0-2"]),
      bg(["server", "--wallet", wallet.tail, ...model, "--layers", "4-5"]),
      bg(["server", "--wallet", wallet.rare, ...model, "--layers", "2-4", "--fault", "lie-rate:0.05"]),
    ]);
  });
  after(async () => {
    if (process.env.EFED_TEST_LOGS) for (const p of procs) process.stderr.write(`--- ${p.child.spawnargs.slice(2, 6).join(" ")}\n${p.output()}\n`);
    await Promise.all(procs.map((p) => p.stop()));
    await chain?.stop();
    provider?.destroy();
  });

  it("a server lying on 5% of sessions is penalised with evidence within the bound", async () => {
    // 30 audits an epoch are planned; on 2 shared cores about half run (each ~3 s here), so
    // about 15 an epoch, each a lying session with probability 0.05: caught within 10 epochs
    // with probability 1 − 0.95^150 > 0.999; evidence goes on chain the epoch after.
    const rare = addressOf(wallet.rare);
    const from = await epochNow();
    const deadline = Date.now() + 11 * EPOCH * 1000;
    let evidence: unknown[] = [];
    while (Date.now() < deadline && evidence.length === 0) {
      evidence = await ledger.queryFilter(ledger.filters.EvidenceSubmitted(null, rare));
      await new Promise((r) => setTimeout(r, 1000));
    }
    assert.ok(evidence.length > 0, `no evidence against the 5% liar within ${(await epochNow()) - from} epochs`);
    assert.match(v1.output(), /found verifier 0x[0-9a-fA-F]{40} on the ledger/, "the committee met without --bootstrap");
    assert.match(readFileSync(join(home, "v1.log"), "utf8"), /^\S+Z verifier ready$/m, "--log copies the verifier's notices, timed");
    assert.equal(Number((await ledger.getServer(rare)).status), 3, "not taken off routes");
  });

  it("a user routed through a cheater finds out from the receipts its verifier re-checked", async () => {
    await procs.find((p) => p.child.spawnargs.includes(wallet.rare))!.stop(); // routes skip it: it does not answer
    // the committee's own audits (which look like users' sessions) catch this liar too, and
    // their evidence takes it off routes at the start of the next epoch: start it as an epoch
    // begins, so the user's session is routed through it before that (CI's machine once lost
    // this race: "no active servers cover layers 2-4")
    const e = await epochNow();
    while ((await epochNow()) === e) await new Promise((r) => setTimeout(r, 200));
    await bg(["server", "--wallet", wallet.steps, "--model", STORIES_260K, "--layers", "2-4", "--fault", "lie-when:steps"]);
    const r = await run(["generate", "--model", STORIES_260K, "--prompt", "Once upon a time", "--max-tokens", "24", "--audit-share", "1"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /audit: handing this session to verifier 0x[0-9a-fA-F]{40}/);
    assert.match(r.stderr, /audit: server \S+ \(layers 2-4\) lied from position \d+: the verifier has evidence/);
  });
});
