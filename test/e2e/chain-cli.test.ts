// End to end: `efed chain` as a real process, `efed deploy` over JSON-RPC, `efed status`,
// and the one-line errors a user gets when something is missing or wrong.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { efed, efedBackground, type Background } from "../helpers/processes.ts";

describe("efed chain / deploy / status", () => {
  let chain: Background;
  let rpc: string;
  const dir = mkdtempSync(join(tmpdir(), "efed-e2e-"));

  before(async () => {
    const started = await efedBackground(["chain", "--port", "0"], /listening on (http:\/\/127\.0\.0\.1:\d+)/);
    chain = started;
    rpc = started.match[1];
  });
  after(async () => {
    await chain?.stop();
  });

  it("deploys, writes deployments/<chainId>.json and reports status", async () => {
    const params = join(dir, "params.json");
    writeFileSync(params, JSON.stringify({ numLayers: 7, epochSeconds: 5, unbondingSeconds: 35, challengeEpochs: 2 }));
    const deployed = await efed(["deploy", "--rpc", rpc, "--params", params, "--deployments", dir]);
    assert.equal(deployed.code, 0, deployed.stderr);
    const file = deployed.stdout.trim();
    assert.equal(file, join(dir, "31337.json"));
    const d = JSON.parse(readFileSync(file, "utf8"));
    assert.match(d.ledger, /^0x[0-9a-fA-F]{40}$/);
    assert.match(d.governor, /^0x[0-9a-fA-F]{40}$/);
    assert.equal(d.chainId, "31337");

    const status = await efed(["status", "--rpc", rpc, "--deployments", dir, "--json"]);
    assert.equal(status.code, 0, status.stderr);
    const s = JSON.parse(status.stdout);
    assert.equal(s.ledger, d.ledger);
    assert.equal(s.numLayers, 7);
    assert.equal(s.committeeStake, "0.0");
    assert.equal(s.epochSeconds, 5);
    assert.deepEqual(s.coverage, [0, 0, 0, 0, 0, 0, 0]);
    assert.equal(s.rewardPool, "1000000.0");

    const table = await efed(["status", "--rpc", rpc, "--deployments", dir]);
    assert.match(table.stdout, /coverage \[0 0 0 0 0 0 0\]/);
  });

  it("epochs advance on the local chain without transactions", async () => {
    const status = async () => JSON.parse((await efed(["status", "--rpc", rpc, "--deployments", dir, "--json"])).stdout);
    const first = await status();
    await new Promise((r) => setTimeout(r, 5500));
    const later = await status();
    assert.ok(later.epoch > first.epoch, `epoch ${first.epoch} -> ${later.epoch}`);
  });

  it("any EVM network: --rpc with EFED_DEPLOYER_KEY, --network from the environment, one line when a variable is missing", async () => {
    // Hardhat's default account #1: the deployer is whoever the key says, not the first unlocked account
    const key = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";
    const own = mkdtempSync(join(tmpdir(), "efed-key-"));
    let r = await efed(["deploy", "--rpc", rpc, "--deployments", own], { EFED_DEPLOYER_KEY: key });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(JSON.parse(readFileSync(r.stdout.trim(), "utf8")).deployer, "0x70997970C51812dc3A010C7d01b50e0d17dc79C8");
    r = await efed(["deploy", "--network", "evm", "--deployments", own], { EFED_RPC: rpc, EFED_DEPLOYER_KEY: key });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(JSON.parse(readFileSync(r.stdout.trim(), "utf8")).deployer, "0x70997970C51812dc3A010C7d01b50e0d17dc79C8");
    r = await efed(["deploy", "--network", "sepolia", "--deployments", own], { SEPOLIA_RPC_URL: "", EFED_DEPLOYER_KEY: "" });
    assert.equal(r.code, 1);
    assert.equal(r.stderr, "efed: network sepolia reads SEPOLIA_RPC_URL and EFED_DEPLOYER_KEY from the environment: set SEPOLIA_RPC_URL and EFED_DEPLOYER_KEY (e.g. export SEPOLIA_RPC_URL=…)\n");
    r = await efed(["deploy", "--network", "evm", "--rpc", rpc]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /cannot be used with/);
  });

  it("no chain: one clear line and a non-zero exit", async () => {
    const r = await efed(["deploy", "--rpc", "http://127.0.0.1:1", "--deployments", dir]);
    assert.equal(r.code, 1);
    assert.equal(r.stderr.trim(), "efed: no chain at http://127.0.0.1:1: start one with `efed chain` (or pass --rpc <url>)");
  });

  it("no deployment for the chain: tells the user to deploy", async () => {
    const empty = mkdtempSync(join(tmpdir(), "efed-empty-"));
    const r = await efed(["status", "--rpc", rpc, "--deployments", empty]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^efed: no deployment for chain 31337 .*run `efed deploy` first\n$/);
  });

  it("bad parameters: names the file, the key and the problem", async () => {
    const bad = join(dir, "bad.json");
    writeFileSync(bad, JSON.stringify({ minServerStake: "1000", strikeLimit: 1000, unbondingSeconds: 1, theta: "0.99", numLayers: "x", quorm: 3 }));
    let r = await efed(["deploy", "--rpc", rpc, "--params", bad, "--deployments", dir]);
    assert.equal(r.code, 1);
    // every problem at once, each once under its key, with its floor or cap: one line
    assert.match(r.stderr, new RegExp(`^efed: ${bad}: 6 problems: [^\n]*\n$`));
    assert.match(r.stderr, /numLayers: must be a whole number from 1 to 65535 \(is "x"\)/);
    assert.match(r.stderr, /theta: must be from 0 to 0\.95 \(is 0\.99\)/);
    assert.match(r.stderr, /strikeLimit: must be from 2 to 100 \(is 1000\)/);
    assert.match(r.stderr, /quorm: not a parameter/);
    assert.match(r.stderr, /minVerifierStake: must be at least minServerStake × slashShareBps \/ 10000 = 500 tokens/);
    assert.match(r.stderr, /unbondingSeconds: must be from .* = 70, /);
    r = await efed(["deploy", "--params", join(dir, "missing.json")]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /cannot read .*missing\.json: ENOENT/);
  });

  it("bad flags: commander's message and a non-zero exit", async () => {
    const r = await efed(["chain", "--port", "70000"]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /must be a port number/);
  });

  it("a busy port: one clear line", async () => {
    const port = new URL(rpc).port;
    const r = await efed(["chain", "--port", port]);
    assert.equal(r.code, 1);
    assert.equal(r.stderr, `efed: 127.0.0.1:${port} is in use: is another chain already running? pick another --port\n`);
  });
});
