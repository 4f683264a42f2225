import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { apiErrorOf } from "../../../node/api/completion.ts";
import type { ApiError } from "../../../node/api/errors.ts";
import { HopFailedError } from "../../../node/client/remote.ts";
import { NoRouteError } from "../../../node/client/route.ts";

describe("what a swarm failure means to an API client", () => {
  const of = (err: unknown) => apiErrorOf(err) as ApiError;

  it("no route: 503 model_not_covered, with the ledger's explanation", () => {
    const e = of(new NoRouteError("no active servers cover layers 2-5 (of 5)"));
    assert.equal(e.status, 503);
    assert.equal(e.code, "model_not_covered");
    assert.match(e.message, /layers 2-5/);
  });

  it("no route once servers failed or were busy: 503 swarm_unavailable", () => {
    assert.equal(of(new NoRouteError("no active servers cover layers 0-5 (of 5) without the 1 failed one(s)")).code, "swarm_unavailable");
  });

  it("busy servers: 503 swarm_busy; another failed hop: 502 swarm_failed", () => {
    assert.equal(of(new HopFailedError("p", "busy: server busy: 64 sessions open (limit 64)")).code, "swarm_busy");
    const e = of(new HopFailedError("p", "cannot reach p"));
    assert.equal(e.status, 502);
    assert.equal(e.code, "swarm_failed");
  });

  it("anything else: 500 in OpenAI's error shape", () => {
    const e = of(new Error("boom"));
    assert.equal(e.status, 500);
    assert.deepEqual(e.body(), { error: { message: "generation failed: boom", type: "server_error", param: null, code: null } });
  });
});
