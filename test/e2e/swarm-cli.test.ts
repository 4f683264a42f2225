// End to end on a real `hardhat node` (efed chain), real libp2p on 127.0.0.1 and real
// onnxruntime, every part started as a user would: deploy, wallets, servers, generate.
// The published greedy text through servers 0-2, 2-4, 4-5; the same text when the middle
// server is killed mid-generation; and one clear line for each user mistake.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CLI, ROOT, efed, efedBackground, type Background } from "../helpers/processes.ts";
import { goldenText, STORIES_260K } from "../helpers/models.ts";

describe("the swarm, end to end", () => {
  const home = mkdtempSync(join(tmpdir(), "efed-swarm-"));
  const env: Record<string, string> = { EFED_HOME: home, EFED_PASSWORD: "correct horse", EFED_DEPLOYMENTS: join(home, "deployments") };
  let chain: Background;
  const servers: { proc: Background; peer: string; layers: string }[] = [];
  let wallets: string[] = [];
  let golden: string;

  const run = (args: string[], extra: Record<string, string> = {}) => efed(args, { ...env, ...extra });
  const startServer = async (wallet: string, layers: string, source: string[] = ["--model", STORIES_260K]) => {
    const proc = await efedBackground(["server", "--wallet", wallet, ...source, "--layers", layers], /server ready/, 60_000, env);
    const entry = { proc, peer: "", layers };
    servers.push(entry); // stopped in after() whatever happens next
    const m = /as (16Uiu2\w+)/.exec(proc.output());
    assert.ok(m, `no peer id in the server's output:\n${proc.output()}`);
    entry.peer = m[1];
  };

  before(async () => {
    golden = goldenText();
    chain = await efedBackground(["chain", "--port", "0"], /listening on (http:\/\/127\.0\.0\.1:\d+)/, 60_000, env);
    env.EFED_RPC = chain.match![1];
    const d = await run(["deploy", "--model", STORIES_260K]);
    assert.equal(d.code, 0, d.stderr);
    for (let i = 0; i < 5; i++) {
      const w = await run(["wallet", "new"]);
      assert.equal(w.code, 0, w.stderr);
      assert.match(w.stderr, /funded with 10\.0 ETH and 1000\.0 EFED/);
    }
    wallets = readdirSync(join(home, "wallets")).filter((f) => f.endsWith(".json")).map((f) => join(home, "wallets", f));
    // the first server shares the model; the backup 2-4 server finds it on the ledger and
    // fetches its layers from it (passing over servers that do not share)
    await startServer(wallets[0], "0-2", ["--model", STORIES_260K, "--share-weights"]);
    await Promise.all([startServer(wallets[1], "2-4"), startServer(wallets[2], "4-5"), startServer(wallets[3], "2-4", ["--weights-from", "ledger"])]);
  });
  after(async () => {
    await Promise.all(servers.map((s) => s.proc.stop()));
    await chain?.stop();
  });

  it("a server found a peer sharing the model on the ledger and fetched its layers, checked against the ledger's model hash", () => {
    const fetcher = servers.find((s) => /fetching layers 2-4 from \d+ address\(es\) found on the ledger/.test(s.proc.output()));
    assert.ok(fetcher !== undefined, servers.map((s) => s.proc.output()).join("\n---\n"));
    assert.match(fetcher.proc.output(), /fetched \d+ bytes of weights \(\d+ on the wire\), 18 tensors checked against the manifest/);
    // progress: the bytes and the rate (one final line on a pipe)
    assert.match(fetcher.proc.output(), /^fetching layers 2-4: [\d.]+ [KM]iB in [\d.]+ s, ([\d.]+ \w+\/s|—)$/m);
  });

  it("servers show their load with bytes and rate, and print their reachable address on the ready line", () => {
    const head = servers[0].proc.output();
    assert.match(head, /^loading .*stories260K-f32\.gguf: 1\.1 MiB of 1\.1 MiB \(100%\) in [\d.]+ s, ([\d.]+ \w+\/s|—)$/m); // the whole model: it shares it
    // only its layers: 177.5 KiB a layer of this model
    assert.ok(servers.some((s) => /^loading layers 4-5 of .*stories260K-f32\.gguf: 177\.5 KiB of 177\.5 KiB \(100%\) in /m.test(s.proc.output())));
    for (const s of servers) assert.match(s.proc.output(), new RegExp(`^server ready on /ip4/127\\.0\\.0\\.1/tcp/\\d+/p2p/${s.peer}$`, "m"));
  });

  it("registers every server on the ledger with its peer id", async () => {
    const s = JSON.parse((await run(["status", "--json"])).stdout);
    assert.equal(s.servers.filter((x: { status: string }) => x.status === "active").length, 4);
    assert.deepEqual(s.coverage, [1, 1, 2, 2, 1]);
  });

  it("generates the published greedy text through the servers", async () => {
    const r = await run(["generate", "--model", STORIES_260K, "--max-tokens", "120", "--stats"]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.slice(0, golden.length), golden);
    assert.match(r.stderr, /route 0-2@16Uiu2\w+ 2-4@16Uiu2\w+ 4-5@16Uiu2\w+/);
  });

  it("the middle server is killed mid-generation: same text, through the other 2-4 server", async () => {
    const child = spawn(process.execPath, [CLI, "generate", "--model", STORIES_260K, "--max-tokens", "200", "--stats"], { cwd: ROOT, env: { ...process.env, ...env } });
    let out = "";
    let err = "";
    let killed: string | undefined;
    child.stderr.on("data", (d) => (err += d));
    child.stdout.on("data", (d) => {
      out += d;
      const m = /route 0-2@\w+ 2-4@(\w+)/.exec(err);
      if (killed === undefined && m && out.length > 40) {
        const victim = servers.find((s) => s.peer === m[1])!;
        killed = victim.peer;
        victim.proc.child.kill("SIGKILL");
      }
    });
    const code = await new Promise((r) => child.on("close", r));
    assert.equal(code, 0, err);
    assert.ok(killed !== undefined, "the middle server was not on a route before the end");
    assert.match(err, new RegExp(`server ${killed} failed; rerouted over 0-2 2-4 4-5`));
    assert.match(err, /1 failover\(s\)/);
    assert.equal(out.slice(0, golden.length), golden);
  });

  it("user mistakes: one clear line and a non-zero exit each", async () => {
    const w = wallets[4];
    const cases: [string[], Record<string, string>, RegExp][] = [
      [["server", "--wallet", w, "--model", STORIES_260K, "--layers", "3-9"], {}, /^efed: layers 3-9 are outside the model's 5 layers/],
      [["server", "--wallet", w, "--model", STORIES_260K, "--layers", "0-2", "--stake", "10"], {}, /^efed: --stake 10\.0 is below the ledger's minimum of 100\.0 tokens/],
      [["server", "--wallet", w, "--model", STORIES_260K, "--layers", "0-2", "--rpc", "http://127.0.0.1:1"], {}, /^efed: no chain at http:\/\/127\.0\.0\.1:1: start one with `efed chain`/],
      [["server", "--wallet", w, "--model", STORIES_260K, "--layers", "0-2"], { EFED_PASSWORD: "wrong" }, /^efed: wrong password for .*\.json/],
      [["server", "--wallet", w, "--model", join(home, "missing.gguf"), "--layers", "0-2"], {}, /^efed: cannot read .*missing\.gguf: ENOENT/],
      [["generate", "--model", STORIES_260K, "--rpc", "http://127.0.0.1:1"], {}, /^efed: no chain at/],
      [["fund", "0x0000000000000000000000000000000000000001", "--amount", "-3"], {}, /argument '-3' is invalid/],
    ];
    for (const [args, extra, expected] of cases) {
      const r = await run(args, extra);
      assert.notEqual(r.code, 0, args.join(" "));
      const lines = r.stderr.trim().split("\n").filter((l) => !l.startsWith("loading ") && !l.startsWith("(run with") && !l.startsWith("checking "));
      assert.equal(lines.length, 1, r.stderr);
      assert.match(lines[0], expected);
    }
  });
});
