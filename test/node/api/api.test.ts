// The API as an OpenAI client sees it (the official `openai` package), against --local:
// whole and streamed answers, sampling options, a cancelled stream, malformed requests.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import OpenAI from "openai";
import { openLocalBackend, type Backend } from "../../../node/api/backend.ts";
import { ApiServer } from "../../../node/api/server.ts";
import { goldenText, STORIES_260K } from "../../helpers/models.ts";

const MODEL = "stories260K-f32";

/** Counts the chains a backend opens and closes, and the steps they run. */
function counting(inner: Backend) {
  const c = { opened: 0, closed: 0, steps: 0 };
  const backend: Backend = {
    ...inner,
    renderChat: (m) => inner.renderChat(m),
    finished: (ch, t) => inner.finished(ch, t),
    open() {
      const chain = inner.open();
      c.opened++;
      return {
        step: async (h: Float32Array, n: number) => {
          c.steps++;
          // slow enough that a client can go away mid-generation
          await new Promise((r) => setTimeout(r, 2));
          return chain.step(h, n);
        },
        close: async () => {
          c.closed++;
          await chain.close();
        },
      };
    },
  };
  return { backend, counts: c };
}

describe("efed api (--local), through the openai client", () => {
  let inner: Backend;
  let api: ApiServer;
  let keyed: ApiServer;
  let counts: { opened: number; closed: number; steps: number };
  let client: OpenAI;
  let baseURL: string;
  let golden: string;

  before(async () => {
    golden = goldenText();
    inner = await openLocalBackend(STORIES_260K);
    const c = counting(inner);
    counts = c.counts;
    api = new ApiServer(c.backend, { maxConcurrent: 2, maxBodyBytes: 4096 });
    const a = await api.listen(0, "127.0.0.1");
    baseURL = `http://127.0.0.1:${a.port}/v1`;
    client = new OpenAI({ baseURL, apiKey: "unused", maxRetries: 0 });
    keyed = new ApiServer(inner, { apiKey: "s3cret" });
  });
  after(async () => {
    await api.close();
    await keyed.close().catch(() => {});
    await inner.close();
  });

  it("lists the model", async () => {
    const models = await client.models.list();
    assert.deepEqual(
      models.data.map((m) => m.id),
      [MODEL],
    );
  });

  it("completes text: the published greedy text, usage counts, finish_reason length", async () => {
    const r = await client.completions.create({ model: MODEL, prompt: "", max_tokens: 60, temperature: 0 });
    assert.equal(r.object, "text_completion");
    assert.equal(r.choices[0].finish_reason, "length");
    assert.ok(golden.startsWith(r.choices[0].text) && r.choices[0].text.length > 100, r.choices[0].text);
    assert.deepEqual(r.usage, { prompt_tokens: 1, completion_tokens: 60, total_tokens: 61 });
  });

  it("streams chat as server-sent events whose text equals the whole answer, with usage", async () => {
    const body = { model: MODEL, messages: [{ role: "user" as const, content: "Once upon a time" }], max_tokens: 40, temperature: 0 };
    const whole = await client.chat.completions.create(body);
    const stream = await client.chat.completions.create({ ...body, stream: true, stream_options: { include_usage: true } });
    let text = "";
    let finish: string | null = null;
    let usage: OpenAI.CompletionUsage | undefined;
    let pieces = 0;
    for await (const ch of stream) {
      if (ch.usage) usage = ch.usage;
      for (const c of ch.choices) {
        text += c.delta.content ?? "";
        if (c.delta.content) pieces++;
        finish = c.finish_reason ?? finish;
      }
    }
    assert.equal(text, whole.choices[0].message.content);
    assert.ok(pieces > 10, `${pieces} pieces: not streamed token by token`);
    assert.equal(finish, "length");
    assert.deepEqual(usage, whole.usage);
    assert.equal(whole.usage!.completion_tokens, 40);
    // the plain template: the user's text is the prompt, so greedy output continues the golden text
    assert.ok(golden.startsWith("Once upon a time" + text), text);
  });

  it("streams text completions ending the stream with [DONE]", async () => {
    const stream = await client.completions.create({ model: MODEL, prompt: "", max_tokens: 30, temperature: 0, stream: true });
    let text = "";
    for await (const ch of stream) text += ch.choices[0]?.text ?? "";
    assert.ok(golden.startsWith(text) && text.length > 40, text);
  });

  it("stops before a stop sequence, and says finish_reason stop", async () => {
    const r = await client.completions.create({ model: MODEL, prompt: "", max_tokens: 100, temperature: 0, stop: [" Lily", "zzz"] });
    assert.equal(r.choices[0].text, "Once upon a time, there was a little girl named");
    assert.equal(r.choices[0].finish_reason, "stop");
    const s = await client.completions.create({ model: MODEL, prompt: "", max_tokens: 100, temperature: 0, stop: "girl", stream: true });
    let text = "";
    for await (const ch of s) text += ch.choices[0]?.text ?? "";
    assert.equal(text, "Once upon a time, there was a little ");
  });

  it("samples reproducibly with temperature, top_p and seed", async () => {
    const body = { model: MODEL, prompt: "Tom had a dog", max_tokens: 30, temperature: 0.9, top_p: 0.95, seed: 7 };
    const a = await client.completions.create(body);
    const b = await client.completions.create(body);
    const c = await client.completions.create({ ...body, seed: 8 });
    assert.equal(a.choices[0].text, b.choices[0].text);
    assert.notEqual(a.choices[0].text, c.choices[0].text);
  });

  it("serves concurrent requests, each with its own session", async () => {
    const rs = await Promise.all([0, 1].map(() => client.completions.create({ model: MODEL, prompt: "", max_tokens: 50, temperature: 0 })));
    for (const r of rs) assert.ok(golden.startsWith(r.choices[0].text), r.choices[0].text);
  });

  it("a cancelled stream stops its generation and closes its chain", async () => {
    const before = { ...counts };
    const stream = await client.completions.create({ model: MODEL, prompt: "", max_tokens: 400, temperature: 0, stream: true });
    let seen = 0;
    for await (const ch of stream) {
      if ((ch.choices[0]?.text ?? "") !== "" && ++seen === 5) stream.controller.abort();
    }
    const deadline = Date.now() + 5000;
    while ((api.active > 0 || counts.closed === before.closed) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.equal(api.active, 0);
    assert.equal(counts.opened - before.opened, 1);
    assert.equal(counts.closed - before.closed, 1, "the chain was not closed");
    const steps = counts.steps - before.steps;
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(counts.steps - before.steps, steps, "generation went on after the client left");
    assert.ok(steps < 100, `${steps} steps: generation did not stop early`);
  });

  it("a cancelled whole-answer request stops its generation too", async () => {
    const before = { ...counts };
    const ctl = new AbortController();
    const pending = client.completions.create({ model: MODEL, prompt: "", max_tokens: 400, temperature: 0 }, { signal: ctl.signal });
    while (counts.steps - before.steps < 5) await new Promise((r) => setTimeout(r, 5));
    ctl.abort();
    await assert.rejects(pending, (e: unknown) => e instanceof OpenAI.APIUserAbortError);
    const deadline = Date.now() + 5000;
    while ((api.active > 0 || counts.closed === before.closed) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.equal(counts.closed - before.closed, 1, "the chain was not closed");
    assert.ok(counts.steps - before.steps < 100, "generation did not stop early");
  });

    it("answers 429 busy past the concurrency limit", async () => {
    const long = () => client.completions.create({ model: MODEL, prompt: "", max_tokens: 300, temperature: 0, stream: true });
    const [a, b] = [await long(), await long()];
    await assert.rejects(client.completions.create({ model: MODEL, prompt: "", max_tokens: 5 }), (e: unknown) => e instanceof OpenAI.RateLimitError && e.code === "busy");
    a.controller.abort();
    b.controller.abort();
    while (api.active > 0) await new Promise((r) => setTimeout(r, 20));
  });

  it("malformed requests get OpenAI errors with the right status and code", async () => {
    const is = (status: number, code: string | null, param?: string) => (e: unknown) => {
      assert.ok(e instanceof OpenAI.APIError, String(e));
      assert.equal(e.status, status);
      assert.equal(e.code, code);
      if (param !== undefined) assert.equal(e.param, param);
      return true;
    };
    await assert.rejects(client.completions.create({ model: "gpt-4", prompt: "hi" }), is(404, "model_not_found", "model"));
    await assert.rejects(client.chat.completions.create({ model: MODEL, messages: [] }), is(400, "invalid_value", "messages"));
    await assert.rejects(client.completions.create({ model: MODEL, prompt: "hi", temperature: 5 }), is(400, "invalid_value", "temperature"));
    await assert.rejects(client.completions.create({ model: MODEL, prompt: "hi", n: 2 }), is(400, "invalid_value", "n"));
    await assert.rejects(client.chat.completions.create({ model: MODEL, messages: [{ role: "user", content: "hi" }], max_tokens: 600 }), is(400, "context_length_exceeded", "messages"));
    await assert.rejects(client.completions.create({ model: MODEL, prompt: "x ".repeat(1000), max_tokens: 1 }), (e: unknown) => e instanceof OpenAI.APIError && (e.status === 413 || e.code === "context_length_exceeded"));
    // what no OpenAI client would send: broken JSON, a body past the limit, unknown routes
    const post = (body: string) => fetch(`${baseURL}/completions`, { method: "POST", headers: { "content-type": "application/json" }, body });
    const bad = await post("{bad json");
    assert.equal(bad.status, 400);
    assert.equal(((await bad.json()) as { error: { code: string } }).error.code, "invalid_json");
    const big = await post(JSON.stringify({ model: MODEL, prompt: "x".repeat(5000) }));
    assert.equal(big.status, 413);
    assert.equal(((await big.json()) as { error: { code: string } }).error.code, "request_too_large");
    assert.equal((await fetch(`${baseURL}/engines`)).status, 404);
    assert.equal((await fetch(`${baseURL}/completions`)).status, 405);
  });

  it("asks for the API key when one is set", async () => {
    const a = await keyed.listen(0, "127.0.0.1");
    const url = `http://127.0.0.1:${a.port}/v1`;
    await assert.rejects(new OpenAI({ baseURL: url, apiKey: "wrong", maxRetries: 0 }).models.list(), (e: unknown) => e instanceof OpenAI.AuthenticationError && e.code === "invalid_api_key");
    const ok = await new OpenAI({ baseURL: url, apiKey: "s3cret", maxRetries: 0 }).models.list();
    assert.equal(ok.data[0].id, MODEL);
  });
});
