// The swarm across hosts: Linux network namespaces made by the test (test/helpers/netns.ts).
// The chain, a relay (a verifier started with --relay) and a second verifier on a public
// segment; two servers, each on a host behind its own NAT router; a client on the public
// segment. The servers learn from AutoNAT that nobody can dial them, reserve relay slots and
// register the relayed addresses; the published text comes through; the client reaches the
// first server through the relay and then directly (DCUtR: the server dials the client back),
// while the hop between the two NAT'd servers stays relayed, and the test says why. Then every
// link is delayed 20 ms each way (`tc netem` where the kernel has it, else a user-space TAP
// delay line: test/helpers/delay-line.ts), ping shows the round trips grow by that, and
// tokens/s without and with the delay go to bench/multihost.json beside the README's arithmetic.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ROOT, efed, efedBackground, type Background } from "../helpers/processes.ts";
import { goldenText, STORIES_260K } from "../helpers/models.ts";
import { buildInternet, CLIENT_HOST, netnsUnavailable, pingMinMs, PUBLIC_HOST, type Internet } from "../helpers/netns.ts";
import { predictTokensPerSecond, LINKS } from "../../scripts/multihost-arithmetic.ts";

const DELAY_MS = 20;
const TOKENS = 64;
const MEASURED_TOKENS = 32; // short: at 20 ms a link each token takes a third of a second
/** What a ping may add to 2 × links × delay (the delay line's scheduling, a loaded machine). */
const PING_SLACK_MS = 15;
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
  const generate = (tokens = TOKENS) =>
    efed(["generate", "--model", STORIES_260K, "--max-tokens", String(tokens), "--stats", "--no-audit", "--listen", `/ip4/${CLIENT_HOST}/tcp/${4300 + runs++}`], env, 180_000, net!.exec(net!.client));

  before(async () => {
    golden = goldenText();
    net = await buildInternet(0); // delayed only for the measurement
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

  it("20 ms per link: ping round trips grow by 2 × links × 20 ms; tokens/s without and with it, against the latency arithmetic", async () => {
    const n = net!;
    const gen = async (tokens: number) => {
      const r = await generate(tokens);
      assert.equal(r.code, 0, `${r.stderr}\n${serverLogs()}`);
      assert.ok(golden.startsWith(r.stdout.trim()) && r.stdout.trim().length > 20, `${r.stdout}\n---\n${r.stderr}`);
      const m = /(\d+) tokens in ([\d.]+) s \(([\d.]+) tokens\/s\)/.exec(r.stderr);
      assert.ok(m, r.stderr);
      return { tokens: Number(m[1]), seconds: Number(m[2]), tokensPerSecond: Number((Number(m[1]) / Number(m[2])).toFixed(2)) };
    };
    // client → segment is 1 link, client → a home router's public address 2
    const paths = { clientToSegment: { to: PUBLIC_HOST, links: 1 }, clientToRouter: { to: n.homes[0].wan, links: 2 } };
    const rtt = (to: string) => pingMinMs(n.client, to);
    const base = { clientToSegment: rtt(paths.clientToSegment.to), clientToRouter: rtt(paths.clientToRouter.to) };
    const noDelay = await gen(MEASURED_TOKENS);
    let delayed: Awaited<ReturnType<typeof gen>> | undefined;
    const pings: Record<string, { expectedMs: number; baseMs: number; measuredMs: number }> = {};
    if (n.delayKind !== "none") {
      await n.setDelay(DELAY_MS);
      try {
        for (const [name, p] of Object.entries(paths)) {
          const expectedMs = 2 * p.links * DELAY_MS;
          const measuredMs = rtt(p.to);
          pings[name] = { expectedMs, baseMs: base[name as keyof typeof base], measuredMs };
          assert.ok(measuredMs >= expectedMs, `${name}: ping ${measuredMs} ms, under 2 × ${p.links} link(s) × ${DELAY_MS} ms: the ${n.delayKind} does not delay`);
          assert.ok(measuredMs < expectedMs + pings[name].baseMs + PING_SLACK_MS, `${name}: ping ${measuredMs} ms, far over ${expectedMs} ms`);
        }
        delayed = await gen(MEASURED_TOKENS);
      } finally {
        await n.setDelay(0);
      }
    } else {
      console.log("# no delay here: no sch_netem, and no /dev/net/tun or python3 for the delay line; only the figure without delay is written");
    }
    const ceiling = predictTokensPerSecond(DELAY_MS);
    const perToken = (x: { tokensPerSecond: number }) => 1000 / x.tokensPerSecond;
    const bench = {
      what: "tokens/s of `efed generate` across network namespaces: client on the public segment, servers 0-3 and 3-5 each behind its own NAT, server-to-server hop through a relay; without delay, then with every link delayed each way",
      delay: n.delayKind, // netem, or the user-space TAP delay line (test/helpers/delay_line.py)
      delayMsPerLink: delayed === undefined ? 0 : DELAY_MS,
      pingMinRttMs: pings,
      noDelay,
      delayed: delayed ?? null,
      linksPerToken: LINKS.perToken,
      predictedCeilingTokensPerSecond: Number(ceiling.toFixed(2)),
      predictedAddedMsPerToken: Number((1000 / ceiling).toFixed(1)),
      measuredAddedMsPerToken: delayed === undefined ? null : Number((perToken(delayed) - perToken(noDelay)).toFixed(1)),
      date: new Date().toISOString().slice(0, 10),
    };
    writeFileSync(join(ROOT, "bench", "multihost.json"), JSON.stringify(bench, null, 2) + "\n");
    console.log(`# multihost: ${JSON.stringify(bench)}`);
  });
});
