// End to end: how servers leave. Ctrl-C/SIGTERM marks a server offline on the ledger (no
// addresses: clients skip it, no slash), `efed unstake` stops a running server, and after a
// chain restart a server says once that the ledger is gone and stops.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { efed, efedBackground, type Background } from "../helpers/processes.ts";
import { STORIES_260K } from "../helpers/models.ts";

const exited = (p: Background, ms: number) =>
  new Promise<number | null>((resolve, reject) => {
    if (p.child.exitCode !== null) return resolve(p.child.exitCode);
    const t = setTimeout(() => reject(new Error(`still running after ${ms} ms:\n${p.output()}`)), ms);
    p.child.once("exit", (code) => {
      clearTimeout(t);
      resolve(code);
    });
  });

describe("servers leaving, end to end", () => {
  const home = mkdtempSync(join(tmpdir(), "efed-leave-"));
  const env: Record<string, string> = { EFED_HOME: home, EFED_PASSWORD: "correct horse", EFED_DEPLOYMENTS: join(home, "deployments") };
  const procs: Background[] = [];
  let wallets: string[] = [];
  let port = "";
  const run = (args: string[]) => efed(args, env);
  const server = async (w: string, extra: string[] = []) => {
    const p = await efedBackground(["server", "--wallet", w, "--model", STORIES_260K, "--layers", "0-5", ...extra], /server ready/, 90_000, env);
    procs.push(p);
    return p;
  };
  const status = async () => JSON.parse((await run(["status", "--json"])).stdout) as { servers: { address: string; status: string; addrs: string[] }[] };

  before(async () => {
    const chain = await efedBackground(["chain", "--port", "0"], /listening on (http:\/\/127\.0\.0\.1:(\d+))/, 60_000, env);
    procs.push(chain);
    env.EFED_RPC = chain.match[1];
    port = chain.match[2];
    assert.equal((await run(["deploy", "--model", STORIES_260K])).code, 0);
    for (let i = 0; i < 2; i++) assert.equal((await run(["wallet", "new"])).code, 0);
    wallets = readdirSync(join(home, "wallets")).filter((f) => f.endsWith(".json")).map((f) => join(home, "wallets", f));
  });
  after(async () => {
    for (const p of procs.reverse()) await p.stop();
  });

  it("SIGTERM marks the server offline; clients skip it; a restart brings its address back", async () => {
    const logFile = join(home, "server.log");
    const a = await server(wallets[0], ["--log", logFile]);
    await a.stop();
    assert.match(a.output(), /marked offline on the ledger/, `exit ${a.child.exitCode} ${a.child.signalCode}`);
    assert.match(readFileSync(logFile, "utf8"), /^\d{4}-\d\d-\d\dT[\d:.]+Z server ready on \/ip4\/\S+\/p2p\/16Uiu2\w+$/m); // --log
    const s = (await status()).servers[0];
    assert.equal(s.status, "active"); // not deactivated, not slashed
    assert.deepEqual(s.addrs, []);
    const g = await run(["generate", "--model", STORIES_260K, "--max-tokens", "5"]);
    assert.notEqual(g.code, 0);
    assert.match(g.stderr, /^efed: no active servers cover layers 0-5 \(of 5\)\n$/); // not "did not answer"
    await server(wallets[0]);
    assert.equal((await status()).servers[0].addrs.length, 1);
    assert.equal((await run(["generate", "--model", STORIES_260K, "--max-tokens", "5", "--no-audit"])).code, 0);
  });

  it("efed status --watch refreshes", async () => {
    const w = await efedBackground(["status", "--watch", "1"], /servers \(1\)[\s\S]*servers \(1\)/, 20_000, env);
    await w.stop();
  });

  it("efed unstake stops the running server", async () => {
    const b = await server(wallets[1]);
    const u = await run(["unstake", "--wallet", wallets[1]]);
    assert.equal(u.code, 0, u.stderr);
    assert.equal(await exited(b, 15_000), 0);
    assert.match(b.output(), /unstaked \(`efed unstake`\): this server leaves the swarm/);
  });

  it("after a chain restart a server says once that the ledger is gone, and stops", async () => {
    const a = procs.find((p) => p.child.exitCode === null && /server ready/.test(p.output()))!;
    await procs[0].stop(); // the chain
    procs.push(await efedBackground(["chain", "--port", port], /listening on/, 60_000, env));
    assert.equal(await exited(a, 20_000), 1);
    assert.equal(a.output().match(/the ledger at 0x\w+ is gone \(the chain was restarted\): `efed deploy` again/g)?.length, 1, a.output());
    assert.doesNotMatch(a.output(), /could not decode result data/);
  });
});
