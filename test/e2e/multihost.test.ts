// The swarm across hosts: Linux network namespaces made by the test (test/helpers/netns.ts).
// The chain, a relay (a verifier started with --relay) and a second verifier on a public
// segment; two servers, each on a host behind its own NAT router; a client on the public
// segment. The servers learn from AutoNAT that nobody can dial them, reserve relay slots and
// register the relayed addresses; the published text comes through; the client reaches the
// first server through the relay and then directly (DCUtR: the server dials the client back),
// while the hop between the two NAT'd servers stays relayed, and the test says why. With
// `tc netem` (20 ms a link, where the kernel has it) the tokens/s go to bench/multihost.json.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ROOT, efed, efedBackground, type Background } from "../helpers/processes.ts";
import { goldenText, STORIES_260K } from "../helpers/models.ts";
import { buildInternet, CLIENT_HOST, netnsUnavailable, PUBLIC_HOST, type Internet } from "../helpers/netns.ts";
import { predictTokensPerSecond, LINKS } from "../../scripts/multihost-arithmetic.ts";

const DELAY_MS = 20;
const TOKENS = 64;
const unavailable = netnsUnavailable();
if (unavailable !== undefined) console.log(`# skipped: the multi-host test ${unavailable}`);

describe("the swarm across hosts behind NAT", { skip: unavailable }, () => {
  const home = mkdtempSync(join(tmpdir(), "efed-multihost-"));
  const env: Record<string, string> = { EFED_HOME: home, EFED_PASSWORD: "pw", EFED_DEPLOYMENTS: join(home, "deployments") };
  const procs: Background[] = [];
  let net: Internet | undefined;
  const servers: { proc: Background; peer: string; layers: string }[] = []; // in route order once started
  let golden: string;
  const cleanup = () => net?.remove();
  process.once("SIGINT", () => {
    cleanup();
    process.exit(130);
  });

  const bg = async (ns: string, args: string[], ready: RegExp) => {
    const p = await efedBackground(args, ready, 120_000, env, net!.exec(ns));
    procs.push(p);
    return p;
  };
  const serverLogs = () => servers.map((s) => `--- server ${s.layers}:\n${s.proc.output().slice(-3000)}`).join("\n");
  let runs = 0; // a fresh port per run: the last run's may linger in TIME_WAIT
  const generate = (extra: string[] = []) =>
    efed(["generate", "--model", STORIES_260K, "--max-tokens", String(TOKENS), "--stats", "--no-audit", "--listen", `/ip4/${CLIENT_HOST}/tcp/${4300 + runs++}`, ...extra], env, 180_000, net!.exec(net!.client));

  before(async () => {
    golden = goldenText();
    net = buildInternet(DELAY_MS);
    const chain = await bg(net.pub, ["chain", "--host", PUBLIC_HOST, "--port", "8545"], /listening on (http:\/\/\S+)/);
    env.EFED_RPC = chain.match[1];
    const d = await efed(["deploy", "--model", STORIES_260K], env, 120_000, net.exec(net.pub));
    assert.equal(d.code, 0, d.stderr);
    for (let i = 0; i < 4; i++) assert.equal((await efed(["wallet", "new"], env, 60_000, net.exec(net.pub))).code, 0);
    const w = readdirSync(join(home, "wallets")).filter((f) => f.endsWith(".json")).map((f) => join(home, "wallets", f));
    const model = ["--model", STORIES_260K, "--audits", "1"];
    // public nodes say where they are (--announce): nobody has to guess, AutoNAT need not ask
    const at = (port: number) => ["--listen", `/ip4/${PUBLIC_HOST}/tcp/${port}`, "--announce", `/ip4/${PUBLIC_HOST}/tcp/${port}`];
    await bg(net.pub, ["verifier", "--wallet", w[0], ...model, ...at(4101), "--relay"], /verifier ready/);
    await bg(net.pub, ["verifier", "--wallet", w[1], ...model, ...at(4102)], /verifier ready/);
    const [h1, h2] = net.homes;
    const serve = async (ns: string, wallet: string, lan: string, layers: string) => {
      const proc = await bg(ns, ["server", "--wallet", wallet, "--model", STORIES_260K, "--layers", layers, "--listen", `/ip4/${lan}/tcp/4201`], /server ready/);
      servers.push({ proc, peer: /as (16Uiu2\w+)/.exec(proc.output())![1], layers });
    };
    await Promise.all([serve(h1.host, w[2], h1.lan, "0-3"), serve(h2.host, w[3], h2.lan, "3-5")]);
    servers.sort((a, b) => a.layers.localeCompare(b.layers));
  });
  after(async () => {
    await Promise.all(procs.map((p) => p.stop()));
    cleanup();
  });

  it("servers behind NAT learn that nobody can dial them and register a relayed address", async () => {
    for (const s of servers) {
      assert.match(s.proc.output(), /not publicly reachable .*reserving a slot on a relay/);
      assert.match(s.proc.output(), new RegExp(`reserved a relay slot: reachable as /ip4/${PUBLIC_HOST.replaceAll(".", "\\.")}/tcp/4101/p2p/\\w+/p2p-circuit/p2p/${s.peer}`));
    }
    const st = JSON.parse((await efed(["status", "--json"], env, 60_000, net!.exec(net!.pub))).stdout);
    for (const s of st.servers) assert.ok(s.addrs.some((a: string) => a.endsWith("/p2p-circuit")), JSON.stringify(s.addrs));
  });

  it("the published text comes through the NAT'd servers; the client is reached directly once DCUtR upgrades the relayed connection", async () => {
    const r = await generate();
    assert.equal(r.code, 0, `${r.stderr}\n${serverLogs()}`);
    // 64 greedy tokens: the start of the published text
    assert.ok(r.stdout.trim().length > 100 && golden.startsWith(r.stdout.trim()), `${r.stdout}\n---\n${r.stderr}`);
    const [first, second] = servers.map((s) => s.peer);
    const lines = r.stderr.split("\n");
    const relayedAt = lines.findIndex((l) => l.startsWith(`connection to ${first}: relayed`));
    const directAt = lines.findIndex((l) => l.startsWith(`connection to ${first}: direct (inbound, /ip4/${net!.homes[0].wan}/`));
    assert.ok(relayedAt >= 0, `the first server was not reached through the relay first:\n${r.stderr}`);
    assert.ok(directAt > relayedAt, `no direct connection from the first server after the relayed one:\n${r.stderr}`);
    assert.match(r.stderr, new RegExp(`first hop ${first}: direct connection`));
    // server to server, both behind NAT: neither has an address the other can dial, and
    // Node's TCP cannot reuse its listen port to punch a hole, so this hop stays relayed
    assert.match(servers[0].proc.output(), new RegExp(`next hop ${second} is relayed`));
  });

  it("tokens/s across the namespaces, against the latency arithmetic", async () => {
    const r = await generate();
    assert.equal(r.code, 0, `${r.stderr}\n${serverLogs()}`);
    const m = /(\d+) tokens in ([\d.]+) s \(([\d.]+) tokens\/s\)/.exec(r.stderr);
    assert.ok(m, r.stderr);
    const measured = Number(m[1]) / Number(m[2]);
    const predicted = predictTokensPerSecond(net!.netem ? DELAY_MS : 0);
    const bench = {
      what: "tokens/s of `efed generate` across network namespaces: client on the public segment, servers 0-3 and 3-5 each behind its own NAT, server-to-server hop through a relay",
      netem: net!.netem,
      delayMsPerLink: net!.netem ? DELAY_MS : 0,
      note: net!.netem ? undefined : "this kernel has no sch_netem: links had no added delay, so the figure is compute-bound",
      tokens: Number(m[1]),
      seconds: Number(m[2]),
      tokensPerSecond: Number(measured.toFixed(2)),
      linksPerToken: LINKS.perToken,
      predictedCeilingTokensPerSecond: Number.isFinite(predicted) ? Number(predicted.toFixed(2)) : null,
      date: new Date().toISOString().slice(0, 10),
    };
    writeFileSync(join(ROOT, "bench", "multihost.json"), JSON.stringify(bench, null, 2) + "\n");
    assert.ok(measured > 0);
  });
});
