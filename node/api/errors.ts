// Errors as OpenAI's API reports them: an HTTP status and
// {"error": {"message", "type", "param", "code"}}, so OpenAI clients raise the right class
// (BadRequestError, NotFoundError, RateLimitError…) and show the message.
export const STATUS = {
  badRequest: 400,
  unauthorized: 401,
  notFound: 404,
  methodNotAllowed: 405,
  payloadTooLarge: 413,
  tooManyRequests: 429,
  internal: 500,
  badGateway: 502,
  unavailable: 503,
} as const;

export class ApiError extends Error {
  override readonly name = "ApiError";
  readonly status: number;
  readonly type: string;
  readonly code: string | null;
  readonly param: string | null;
  constructor(status: number, message: string, o: { type?: string; code?: string; param?: string } = {}) {
    super(message);
    this.status = status;
    this.type = o.type ?? (status >= 500 ? "server_error" : "invalid_request_error");
    this.code = o.code ?? null;
    this.param = o.param ?? null;
  }

  body(): { error: { message: string; type: string; param: string | null; code: string | null } } {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.code } };
  }
}
