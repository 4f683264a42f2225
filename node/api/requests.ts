// The request bodies of /v1/chat/completions and /v1/completions, checked field by field
// (the first problem becomes a 400 naming its `param`), and turned into one shape.
// Unknown fields are ignored, as OpenAI clients send fields this server has no use for.
import { z } from "zod";
import { ApiError, STATUS } from "./errors.ts";
import type { ChatMessage } from "./chat-template.ts";

/** OpenAI allows at most 4 stop sequences. */
export const MAX_STOP = 4;

const textPart = z.object({ type: z.literal("text"), text: z.string() });
const message = z.object({
  role: z.enum(["system", "developer", "user", "assistant", "tool"]),
  content: z.union([z.string(), z.array(textPart), z.null()]).optional(),
});

const sampling = {
  model: z.string().min(1),
  max_tokens: z.number().int().min(1).nullish(),
  temperature: z.number().min(0).max(2).nullish(),
  top_p: z.number().gt(0).max(1).nullish(),
  seed: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).nullish(),
  stop: z.union([z.string(), z.array(z.string()).max(MAX_STOP)]).nullish(),
  n: z.literal(1).nullish(),
  stream: z.boolean().nullish(),
  stream_options: z.object({ include_usage: z.boolean().optional() }).nullish(),
};

const chatBody = z.object({ ...sampling, messages: z.array(message).min(1), max_completion_tokens: z.number().int().min(1).nullish() });
const completionBody = z.object({ ...sampling, prompt: z.union([z.string(), z.array(z.string()).length(1)]) });

export interface CompletionRequest {
  readonly kind: "chat" | "text";
  readonly model: string;
  /** Chat: the messages to render with the template; text: the prompt itself. */
  readonly messages?: ChatMessage[];
  readonly prompt?: string;
  /** undefined: as many as the context leaves (chat) or 16 (text), as OpenAI does. */
  readonly maxTokens?: number;
  readonly temperature: number;
  readonly topP: number;
  readonly seed?: number;
  readonly stop: string[];
  readonly stream: boolean;
  readonly includeUsage: boolean;
}

/** OpenAI's default for /v1/completions when max_tokens is left out. */
export const TEXT_DEFAULT_MAX_TOKENS = 16;

function check<T>(schema: z.ZodType<T>, body: unknown): T {
  if (typeof body !== "object" || body === null || Array.isArray(body)) throw new ApiError(STATUS.badRequest, "the request body must be a JSON object");
  const r = schema.safeParse(body);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  const param = issue.path.join(".");
  const msg = issue.code === "invalid_value" && param === "n" ? "only n = 1 is supported" : issue.message;
  throw new ApiError(STATUS.badRequest, `${param || "body"}: ${msg}`, { param: param || undefined, code: issue.path.length === 1 && issue.code === "invalid_type" && issue.input === undefined ? "missing_required_parameter" : "invalid_value" });
}

function common(b: z.infer<z.ZodObject<typeof sampling>>) {
  const stop = b.stop == null ? [] : typeof b.stop === "string" ? [b.stop] : b.stop;
  return {
    model: b.model,
    // OpenAI's defaults: temperature 1, top_p 1
    temperature: b.temperature ?? 1,
    topP: b.top_p ?? 1,
    seed: b.seed ?? undefined,
    stop: stop.filter((s) => s !== ""),
    stream: b.stream ?? false,
    includeUsage: b.stream_options?.include_usage ?? false,
  };
}

export function parseChatRequest(body: unknown): CompletionRequest {
  const b = check(chatBody, body);
  const messages = b.messages.map((m) => ({ role: m.role, content: typeof m.content === "string" ? m.content : (m.content ?? []).map((p) => p.text).join("") }));
  return { kind: "chat", ...common(b), messages, maxTokens: b.max_completion_tokens ?? b.max_tokens ?? undefined };
}

export function parseCompletionRequest(body: unknown): CompletionRequest {
  const b = check(completionBody, body);
  return { kind: "text", ...common(b), prompt: typeof b.prompt === "string" ? b.prompt : b.prompt[0], maxTokens: b.max_tokens ?? TEXT_DEFAULT_MAX_TOKENS };
}
