// Small HTTP helpers for the API: JSON bodies under a size limit, JSON answers, the API key.
import { timingSafeEqual, createHash } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { ApiError, STATUS } from "./errors.ts";

/** Reads the body as JSON; 413 past `limit` bytes, 400 when it is not JSON. */
export async function readJson(req: IncomingMessage, limit: number): Promise<unknown> {
  const declared = Number(req.headers["content-length"] ?? 0);
  if (declared > limit) throw new ApiError(STATUS.payloadTooLarge, `the request body is ${declared} bytes; the limit is ${limit}`, { code: "request_too_large" });
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req as AsyncIterable<Buffer>) {
    size += c.length;
    if (size > limit) throw new ApiError(STATUS.payloadTooLarge, `the request body is over the limit of ${limit} bytes`, { code: "request_too_large" });
    chunks.push(c);
  }
  const text = Buffer.concat(chunks).toString("utf8");
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new ApiError(STATUS.badRequest, `the request body is not valid JSON: ${(err as Error).message}`, { code: "invalid_json" });
  }
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const data = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(data), ...headers });
  res.end(data);
}

export function sendError(res: ServerResponse, err: ApiError): void {
  if (res.headersSent) return void res.end();
  sendJson(res, err.status, err.body(), err.status === STATUS.unauthorized ? { "www-authenticate": "Bearer" } : {});
}

/** Checks `Authorization: Bearer <key>` in constant time (hashes first: equal lengths). */
export function checkApiKey(req: IncomingMessage, key: string | undefined): void {
  if (key === undefined) return;
  const m = /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? "");
  const digest = (s: string) => createHash("sha256").update(s).digest();
  if (m === null || !timingSafeEqual(digest(m[1].trim()), digest(key))) {
    throw new ApiError(STATUS.unauthorized, "missing or wrong API key: send Authorization: Bearer <key> (efed api --api-key)", { code: "invalid_api_key" });
  }
}

/** Loopback hosts: the API may run without a key only there. */
export function isLoopback(host: string): boolean {
  return host === "localhost" || host === "::1" || /^127\.\d+\.\d+\.\d+$/.test(host);
}
