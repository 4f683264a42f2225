// The OpenAI-compatible HTTP API: POST /v1/chat/completions, POST /v1/completions (whole
// answers, or `stream: true` as server-sent events ending in `data: [DONE]`), GET /v1/models.
// Requests run concurrently up to a limit (then 429); a client that disconnects aborts its
// generation, which closes its chain and so frees the servers' sessions at once.
import { randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Backend } from "./backend.ts";
import { apiErrorOf, complete, plan, type CompletionResult } from "./completion.ts";
import { ApiError, STATUS } from "./errors.ts";
import { checkApiKey, readJson, sendError, sendJson } from "./http.ts";
import { parseChatRequest, parseCompletionRequest, type CompletionRequest } from "./requests.ts";

export interface ApiOptions {
  /** Required as `Authorization: Bearer <key>` on /v1 when set. */
  readonly apiKey?: string;
  /** Largest request body in bytes (default 1 MiB). */
  readonly maxBodyBytes?: number;
  /** Generations at once; more are answered 429 (default 4). */
  readonly maxConcurrent?: number;
  /** Other routes (the dashboard): return true when the request was handled. */
  readonly extra?: (req: IncomingMessage, res: ServerResponse) => Promise<boolean>;
  readonly log?: (line: string) => void;
}

export const DEFAULT_MAX_BODY = 1 << 20;
export const DEFAULT_MAX_CONCURRENT = 4;

export class ApiServer {
  readonly server: Server;
  private readonly backend: Backend;
  private readonly o: ApiOptions;
  private readonly created = Math.floor(Date.now() / 1000);
  /** Generations under way (each can be aborted when the server stops). */
  private readonly running = new Set<AbortController>();

  constructor(backend: Backend, o: ApiOptions = {}) {
    this.backend = backend;
    this.o = o;
    this.server = createServer((req, res) => void this.handle(req, res));
  }

  get active(): number {
    return this.running.size;
  }

  async listen(port: number, host: string): Promise<AddressInfo> {
    await new Promise<void>((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(port, host, () => resolve());
    });
    return this.server.address() as AddressInfo;
  }

  /** Stops accepting requests and aborts those under way. */
  async close(): Promise<void> {
    for (const c of this.running) c.abort(new Error("the API server is stopping"));
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server.close(() => r()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      const path = new URL(req.url ?? "/", "http://x").pathname;
      if (!path.startsWith("/v1/")) {
        if (this.o.extra !== undefined && (await this.o.extra(req, res))) return;
        throw new ApiError(STATUS.notFound, `no route ${req.method} ${path}`, { code: "not_found" });
      }
      checkApiKey(req, this.o.apiKey);
      const route = `${req.method} ${path}`;
      if (route === "GET /v1/models") return this.models(res);
      if (route === "POST /v1/chat/completions") return await this.completion(req, res, parseChatRequest);
      if (route === "POST /v1/completions") return await this.completion(req, res, parseCompletionRequest);
      if (["/v1/models", "/v1/chat/completions", "/v1/completions"].includes(path)) throw new ApiError(STATUS.methodNotAllowed, `${req.method} is not allowed on ${path}`, { code: "method_not_allowed" });
      throw new ApiError(STATUS.notFound, `no route ${req.method} ${path}`, { code: "not_found" });
    } catch (err) {
      if (res.socket === null || res.socket.destroyed) return; // the client left: nobody to tell
      const e = apiErrorOf(err);
      if (!(e instanceof ApiError)) return void res.destroy();
      if (e.status >= 500) this.o.log?.(`api: ${e.status} ${e.message}`);
      sendError(res, e);
    }
  }

  private models(res: ServerResponse): void {
    const c = this.backend.client.config;
    const model = { id: this.backend.modelId, object: "model", created: this.created, owned_by: `efed (${this.backend.mode})`, context_length: c.contextLength, chat_template: this.backend.hasChatTemplate ? "model" : "plain" };
    sendJson(res, 200, { object: "list", data: [model] });
  }

  private async completion(req: IncomingMessage, res: ServerResponse, parse: (b: unknown) => CompletionRequest): Promise<void> {
    const r = parse(await readJson(req, this.o.maxBodyBytes ?? DEFAULT_MAX_BODY));
    if (r.model !== this.backend.modelId) throw new ApiError(STATUS.notFound, `The model '${r.model}' does not exist: this server serves '${this.backend.modelId}' (GET /v1/models)`, { code: "model_not_found", param: "model" });
    plan(this.backend, r); // a prompt too long for the context is a 400 before anything starts
    const limit = this.o.maxConcurrent ?? DEFAULT_MAX_CONCURRENT;
    if (this.running.size >= limit) throw new ApiError(STATUS.tooManyRequests, `busy: ${this.running.size} generations under way (limit ${limit}); try again shortly`, { type: "server_busy", code: "busy" });
    const ctl = new AbortController();
    res.on("close", () => {
      if (!res.writableFinished) ctl.abort(new Error("the client disconnected"));
    });
    this.running.add(ctl);
    try {
      if (r.stream) await this.stream(res, r, ctl.signal);
      else sendJson(res, 200, this.answer(r, await complete(this.backend, r, { signal: ctl.signal })));
    } finally {
      this.running.delete(ctl);
    }
  }

  private answer(r: CompletionRequest, c: CompletionResult) {
    const usage = { prompt_tokens: c.promptTokens, completion_tokens: c.completionTokens, total_tokens: c.promptTokens + c.completionTokens };
    const head = { id: newId(r), created: Math.floor(Date.now() / 1000), model: this.backend.modelId };
    if (r.kind === "chat") {
      return { ...head, object: "chat.completion", choices: [{ index: 0, message: { role: "assistant", content: c.text, refusal: null }, logprobs: null, finish_reason: c.finishReason }], usage };
    }
    return { ...head, object: "text_completion", choices: [{ index: 0, text: c.text, logprobs: null, finish_reason: c.finishReason }], usage };
  }

  /** Server-sent events: one chunk per piece of text, the finish reason, usage if asked, [DONE].
   * An error after the headers went out is sent as an event with an `error` field. */
  private async stream(res: ServerResponse, r: CompletionRequest, signal: AbortSignal): Promise<void> {
    const id = newId(r);
    const created = Math.floor(Date.now() / 1000);
    const model = this.backend.modelId;
    const chat = r.kind === "chat";
    const chunk = (delta: string | null, finish: string | null, first = false) =>
      chat
        ? { id, object: "chat.completion.chunk", created, model, choices: [{ index: 0, delta: first ? { role: "assistant", content: "" } : delta === null ? {} : { content: delta }, logprobs: null, finish_reason: finish }] }
        : { id, object: "text_completion", created, model, choices: [{ index: 0, text: delta ?? "", logprobs: null, finish_reason: finish }] };
    const send = (data: unknown) => res.write(`data: ${JSON.stringify(data)}\n\n`);
    res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache", connection: "keep-alive" });
    if (chat) send(chunk(null, null, true));
    try {
      const c = await complete(this.backend, r, { signal, onText: (t) => send(chunk(t, null)) });
      send(chunk(null, c.finishReason));
      if (r.includeUsage) send({ id, object: chat ? "chat.completion.chunk" : "text_completion", created, model, choices: [], usage: { prompt_tokens: c.promptTokens, completion_tokens: c.completionTokens, total_tokens: c.promptTokens + c.completionTokens } });
      res.end("data: [DONE]\n\n");
    } catch (err) {
      if (signal.aborted) return void res.destroy();
      const e = apiErrorOf(err);
      // the status line went out as 200: the operator's only sign of a failed stream is here
      this.o.log?.(`api: a streamed generation failed: ${(e as Error).message}`);
      if (e instanceof ApiError) send(e.body());
      res.end();
    }
  }
}

function newId(r: CompletionRequest): string {
  return `${r.kind === "chat" ? "chatcmpl" : "cmpl"}-${randomBytes(12).toString("hex")}`;
}
