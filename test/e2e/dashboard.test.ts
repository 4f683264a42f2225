// End to end: the dashboard in a real headless browser (Debian's chromium through
// playwright-core) against a real swarm with its verifiers: the page loads, the coverage shows
// the running servers, the chat streams the published text, a stopped server shows as offline,
// and a server caught lying shows as deactivated. `efed claim --wait` shows the epochs go by
// until a verifier's fee is payable. A screenshot is saved (to EFED_SCREENSHOT when set, else
// the temp directory).
import { after, afterEach, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type Browser, type Page } from "playwright-core";
import { efed, efedBackground, type Background } from "../helpers/processes.ts";
import { goldenText, STORIES_260K } from "../helpers/models.ts";

const CHROMIUM = process.env.EFED_CHROMIUM ?? "/usr/bin/chromium";

describe("the dashboard in a browser, end to end", () => {
  const home = mkdtempSync(join(tmpdir(), "efed-dash-"));
  const env: Record<string, string> = { EFED_HOME: home, EFED_PASSWORD: "correct horse", EFED_DEPLOYMENTS: join(home, "deployments") };
  const procs: Background[] = [];
  let browser: Browser | undefined;
  let page: Page;
  let base: string;
  let wallets: string[] = [];

  before(async () => {
    assert.ok(existsSync(CHROMIUM), `no browser at ${CHROMIUM}: apt-get install -y chromium (or set EFED_CHROMIUM)`);
    const chain = await efedBackground(["chain", "--port", "0"], /listening on (http:\/\/127\.0\.0\.1:\d+)/, 60_000, env);
    procs.push(chain);
    env.EFED_RPC = chain.match[1];
    assert.equal((await efed(["deploy", "--model", STORIES_260K], env)).code, 0);
    for (let i = 0; i < 7; i++) assert.equal((await efed(["wallet", "new"], env)).code, 0);
    wallets = readdirSync(join(home, "wallets")).filter((f) => f.endsWith(".json")).map((f) => join(home, "wallets", f));
    // three servers, and the three verifiers a committee needs (one audit each an epoch)
    procs.push(
      ...(await Promise.all([
        ...["0-2", "2-4", "4-5"].map((layers, i) => efedBackground(["server", "--wallet", wallets[i], "--model", STORIES_260K, "--layers", layers], /server ready/, 120_000, env)),
        ...[3, 4, 5].map((i) => efedBackground(["verifier", "--wallet", wallets[i], "--model", STORIES_260K, "--audits", "1"], /verifier ready/, 120_000, env)),
      ])),
    );
    const api = await efedBackground(["api", "--model", STORIES_260K, "--port", "0", "--no-audit"], /dashboard at (http:\/\/127\.0\.0\.1:\d+)\//, 60_000, env);
    procs.push(api);
    base = api.match[1];
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] });
    page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
  });
  let failed = false;
  afterEach((t) => {
    if ((t as { passed?: boolean }).passed === false) failed = true;
  });
  after(async () => {
    // a failure on CI's machine cannot be run again there: say what every process saw
    if (failed || process.env.EFED_TEST_LOGS) for (const p of procs) process.stderr.write(`--- ${p.child.spawnargs.slice(2, 6).join(" ")}\n${p.output()}\n`);
    await browser?.close();
    for (const p of procs.reverse()) await p.stop();
  });

  /** A page condition: a server row with this status and layer range. */
  const shows = (status: string, layers: string) => `[...document.querySelectorAll("#servers tbody tr")].some((tr) => tr.children[1]?.textContent === ${JSON.stringify(status)} && tr.children[2]?.textContent === ${JSON.stringify(layers)})`;
  const serverRows = () => page.$$eval("#servers tbody tr", (trs) => trs.map((tr) => [...tr.querySelectorAll("td")].map((td) => td.textContent ?? "")));

  it("loads and shows the running servers' coverage", async () => {
    await page.goto(`${base}/`);
    await page.waitForFunction(`document.querySelectorAll("#servers tbody tr").length === 3`, undefined, { timeout: 20_000 });
    const rows = await serverRows();
    assert.deepEqual(rows.map((r) => [r[1], r[2]]).sort(), [["active", "0-2"], ["active", "2-4"], ["active", "4-5"]]);
    assert.equal((await page.$$("#verifiers tbody tr td.status-active")).length, 3);
    await page.waitForSelector("#coverage-chart svg");
    assert.match(await page.textContent("#summary") ?? "", /5 layers covered/);
    assert.match(await page.textContent("#model-name") ?? "", /stories260K-f32 · swarm · context 512 tokens/);
  });

  it("efed claim --wait shows the epochs go by until a verifier's fee is payable", async () => {
    const r = await efed(["claim", "--wallet", wallets[3], "--wait", "8"], env, 150_000);
    assert.equal(r.code, 0, r.stderr);
    // not a terminal: a line per epoch while waiting, not one a second
    const waiting = r.stderr.match(/^epoch \d+ \(\d+ s left\) · nothing payable yet for 0x\w+: waiting for settlement .*$/gm) ?? [];
    assert.ok(waiting.length >= 1, r.stderr);
    const epochs = waiting.map((l) => Number(/^epoch (\d+)/.exec(l)![1]));
    assert.deepEqual(epochs, [...new Set(epochs)], "one line per epoch");
    assert.match(r.stderr, /claimed 0\.\d+ tokens\n$/);
    assert.ok(Number(r.stdout) > 0, r.stdout);
  });

  it("the chat streams the published text through the swarm", async () => {
    await page.fill("#chat-input", "Once upon a time");
    await page.fill("#chat-max", "60");
    await page.click("#chat-send");
    const lengths = new Set<number>();
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      const t = await page.textContent("#chat-log .assistant").catch(() => null);
      if (t !== null) lengths.add(t.length);
      if (await page.$("#chat-log .assistant[data-done=true]")) break;
      await new Promise((r) => setTimeout(r, 30));
    }
    // not done: say what the page shows (an error from the API turns the bubble into "msg error")
    const done = await page.$("#chat-log .assistant[data-done=true]");
    if (done === null) assert.fail(`the chat did not finish in 60 s; the page shows: ${await page.innerHTML("#chat-log").catch((e: Error) => e.message)}`);
    const text = (await done.textContent()) ?? "";
    assert.ok(text.length > 100 && goldenText().startsWith("Once upon a time" + text), text);
    assert.ok([...lengths].filter((n) => n > 0 && n < text.length).length >= 1, "the answer appeared all at once, not streamed");
  });

  it("a stopped server shows as offline", async () => {
    await procs.find((p) => /layers 4-5/.test(p.output()))!.stop();
    await page.waitForFunction(shows("offline", "4-5"), undefined, { timeout: 20_000 });
  });

  it("a server caught lying shows as deactivated, with the evidence among the events", async () => {
    // the only 4-5 server online now: every audit goes through it, and the first one catches it
    const liar = await efedBackground(["server", "--wallet", wallets[6], "--model", STORIES_260K, "--layers", "4-5", "--fault", "noise:0.5"], /server ready/, 120_000, env);
    procs.push(liar);
    await page.waitForFunction(shows("deactivated", "4-5"), undefined, { timeout: 150_000, polling: 500 });
    await page.waitForFunction(`[...document.querySelectorAll("#events li")].some((li) => /^evidence · 0x/.test(li.textContent))`, undefined, { timeout: 10_000 });
    assert.deepEqual((await serverRows()).map((r) => [r[1], r[2]]).sort(), [["active", "0-2"], ["active", "2-4"], ["deactivated", "4-5"], ["offline", "4-5"]]);
    const shot = process.env.EFED_SCREENSHOT ?? join(tmpdir(), "efed-dashboard.png");
    await page.screenshot({ path: shot, fullPage: true });
    assert.ok(existsSync(shot));
  });
});
