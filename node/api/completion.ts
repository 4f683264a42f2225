// One completion: prompt → token ids, the context check, generation on a fresh chain with
// stop sequences and cancellation, usage counts. Failures become OpenAI errors here.
import { generate } from "../client/generate.ts";
import { HopFailedError } from "../client/remote.ts";
import { NoRouteError } from "../client/route.ts";
import type { Backend } from "./backend.ts";
import { ApiError, STATUS } from "./errors.ts";
import type { CompletionRequest } from "./requests.ts";
import { StopScanner } from "./stop.ts";

export type FinishReason = "stop" | "length";

export interface CompletionResult {
  readonly text: string;
  readonly finishReason: FinishReason;
  readonly promptTokens: number;
  readonly completionTokens: number;
}

/** Thrown into generate() to end it at a stop sequence (not an error). */
class StopReached extends Error {
  override readonly name = "StopReached";
}

/** The prompt's token ids (BOS first) and the number of tokens to generate, or a 400. */
export function plan(backend: Backend, req: CompletionRequest): { ids: number[]; maxTokens: number } {
  const text = req.kind === "chat" ? backend.renderChat(req.messages ?? []) : (req.prompt ?? "");
  const ids = backend.client.tokenizer.encode(text, { bos: true });
  const ctx = backend.client.config.contextLength;
  const maxTokens = req.maxTokens ?? ctx - ids.length;
  if (ids.length + Math.max(maxTokens, 1) > ctx) {
    throw new ApiError(STATUS.badRequest, `This model's maximum context length is ${ctx} tokens. However, you requested ${ids.length + maxTokens} tokens (${ids.length} in the prompt, ${maxTokens} for the completion). Please reduce the prompt or max_tokens.`, {
      code: "context_length_exceeded",
      param: req.kind === "chat" ? "messages" : "prompt",
    });
  }
  return { ids, maxTokens };
}

/** Runs the completion; `onText` gets each piece of generated text as it becomes safe to show.
 * `signal` (the client went away) stops generation; the chain is closed in every outcome,
 * which frees the servers' sessions at once. */
export async function complete(backend: Backend, req: CompletionRequest, o: { signal?: AbortSignal; onText?: (t: string) => void } = {}): Promise<CompletionResult> {
  const { ids, maxTokens } = plan(backend, req);
  const scanner = new StopScanner(req.stop);
  const stop = new AbortController();
  const signal = o.signal === undefined ? stop.signal : AbortSignal.any([o.signal, stop.signal]);
  const tokens: number[] = [];
  let generating = false; // generate() first emits the prompt's own text: skip it
  const chain = backend.open();
  let finishReason: FinishReason = "length";
  try {
    const r = await generate(backend.client, chain, {
      prompt: "",
      promptIds: ids,
      maxTokens,
      temperature: req.temperature,
      topP: req.topP,
      seed: req.seed,
      signal,
      onToken: (id) => {
        generating = true;
        tokens.push(id);
      },
      onText: (t) => {
        if (!generating) return;
        const safe = scanner.push(t);
        if (safe !== "") o.onText?.(safe);
        if (scanner.stopped) stop.abort(new StopReached());
      },
    });
    if (r.tokens.length < maxTokens) finishReason = "stop"; // end of sequence
  } catch (err) {
    if (o.signal?.aborted) throw err; // the client went away: nobody to answer
    if (!stop.signal.aborted) throw apiErrorOf(err);
    finishReason = "stop";
  } finally {
    await chain.close().catch(() => {});
  }
  const rest = scanner.flush();
  if (rest !== "") o.onText?.(rest);
  backend.finished(chain, [...ids, ...tokens]);
  return { text: scanner.output, finishReason, promptTokens: ids.length, completionTokens: tokens.length };
}

/** What a failure means to an API client. */
export function apiErrorOf(err: unknown): Error {
  if (err instanceof ApiError) return err;
  if (err instanceof NoRouteError) {
    // after failovers the servers that remain do not cover the model: they failed or were busy
    if (/failed one/.test(err.message)) return new ApiError(STATUS.unavailable, `the swarm's servers are busy or failing: ${err.message}`, { code: "swarm_unavailable" });
    return new ApiError(STATUS.unavailable, `the swarm does not cover the model now: ${err.message}`, { code: "model_not_covered" });
  }
  if (err instanceof HopFailedError) {
    if (/busy/.test(err.message)) return new ApiError(STATUS.unavailable, `the swarm's servers are busy: ${err.message}`, { code: "swarm_busy" });
    return new ApiError(STATUS.badGateway, `a server failed and no other route worked: ${err.message}`, { code: "swarm_failed" });
  }
  if ((err as Error)?.name === "AbortError" || (err as Error)?.name === "TimeoutError") return err as Error;
  return new ApiError(STATUS.internal, `generation failed: ${(err as Error)?.message ?? String(err)}`);
}
