// End to end: `efed api` over a real swarm (efed chain, deploy, wallets, three servers),
// driven by the official openai client. Servers hold one session each (--max-sessions 1),
// so a request after a cancelled stream succeeds only if the cancel freed the sessions.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import OpenAI from "openai";
import { efed, efedBackground, type Background } from "../helpers/processes.ts";
import { goldenText, STORIES_260K } from "../helpers/models.ts";

const MODEL = "stories260K-f32";

describe("efed api over the swarm, end to end", () => {
  const home = mkdtempSync(join(tmpdir(), "efed-api-"));
  const env: Record<string, string> = { EFED_HOME: home, EFED_PASSWORD: "correct horse", EFED_DEPLOYMENTS: join(home, "deployments") };
  const procs: Background[] = [];
  let client: OpenAI;
  let golden: string;

  before(async () => {
    golden = goldenText();
    const chain = await efedBackground(["chain", "--port", "0"], /listening on (http:\/\/127\.0\.0\.1:\d+)/, 60_000, env);
    procs.push(chain);
    env.EFED_RPC = chain.match[1];
    assert.equal((await efed(["deploy", "--model", STORIES_260K], env)).code, 0);
    for (let i = 0; i < 3; i++) assert.equal((await efed(["wallet", "new"], env)).code, 0);
    const wallets = readdirSync(join(home, "wallets")).filter((f) => f.endsWith(".json")).map((f) => join(home, "wallets", f));
    const servers = await Promise.all(
      ["0-2", "2-4", "4-5"].map((layers, i) => efedBackground(["server", "--wallet", wallets[i], "--model", STORIES_260K, "--layers", layers, "--max-sessions", "1"], /server ready/, 90_000, env)),
    );
    procs.push(...servers);
    const api = await efedBackground(["api", "--model", STORIES_260K, "--port", "0", "--no-audit"], /api ready: .* at (http:\/\/127\.0\.0\.1:\d+\/v1)/, 60_000, env);
    procs.push(api);
    client = new OpenAI({ baseURL: api.match[1], apiKey: "unused", maxRetries: 0 });
  });
  after(async () => {
    for (const p of procs.reverse()) await p.stop();
  });

  it("serves the model and completes the published greedy text through the servers", async () => {
    assert.equal((await client.models.list()).data[0].id, MODEL);
    const r = await client.completions.create({ model: MODEL, prompt: "", max_tokens: 60, temperature: 0 });
    assert.ok(golden.startsWith(r.choices[0].text) && r.choices[0].text.length > 100, r.choices[0].text);
    assert.deepEqual(r.usage, { prompt_tokens: 1, completion_tokens: 60, total_tokens: 61 });
  });

  it("streams chat through the swarm", async () => {
    const stream = await client.chat.completions.create({ model: MODEL, messages: [{ role: "user", content: "Once upon a time" }], max_tokens: 40, temperature: 0, stream: true });
    let text = "";
    for await (const ch of stream) text += ch.choices[0]?.delta.content ?? "";
    assert.ok(golden.startsWith("Once upon a time" + text) && text.length > 50, text);
  });

  it("a second generation while the servers' only session is taken: 503; a cancelled stream frees the sessions", async () => {
    const stream = await client.completions.create({ model: MODEL, prompt: "", max_tokens: 450, temperature: 0, stream: true });
    const it = stream[Symbol.asyncIterator]();
    await it.next();
    await it.next(); // the session is open on every server
    await assert.rejects(client.completions.create({ model: MODEL, prompt: "", max_tokens: 5 }), (e: unknown) => e instanceof OpenAI.APIError && e.status === 503, "the servers had a free session");
    stream.controller.abort();
    // well within the servers' 60 s session TTL: only the client's CLOSE can have freed them
    await new Promise((r) => setTimeout(r, 500));
    const r = await client.completions.create({ model: MODEL, prompt: "", max_tokens: 20, temperature: 0 });
    assert.ok(golden.startsWith(r.choices[0].text), r.choices[0].text);
  });

  it("a prompt too long for the context and an unknown model: OpenAI errors", async () => {
    await assert.rejects(client.completions.create({ model: MODEL, prompt: "", max_tokens: 600 }), (e: unknown) => e instanceof OpenAI.BadRequestError && e.code === "context_length_exceeded");
    await assert.rejects(client.completions.create({ model: "gpt-4o", prompt: "" }), (e: unknown) => e instanceof OpenAI.NotFoundError && e.code === "model_not_found");
  });

  it("when the swarm no longer covers the model: 503 model_not_covered", async () => {
    await procs.find((p) => /layers 4-5/.test(p.output()))!.stop();
    await assert.rejects(client.completions.create({ model: MODEL, prompt: "", max_tokens: 5 }), (e: unknown) => e instanceof OpenAI.APIError && e.status === 503 && /not cover|busy or failing/.test(e.message));
  });

  it("refuses to listen beyond loopback without an API key; a wrong command line exits 2", async () => {
    const r = await efed(["api", "--model", STORIES_260K, "--host", "0.0.0.0"], env);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^efed: --host 0\.0\.0\.0 is reachable beyond this machine: set --api-key/);
    assert.equal((await efed(["api"], env)).code, 2); // --model missing (commander's own error)
    assert.equal((await efed(["api", "--model", STORIES_260K, "--port", "http"], env)).code, 2);
  });
});
