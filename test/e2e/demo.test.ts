// `npm start` / `efed demo`: the whole system in one command, and it cleans up after itself.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { efed } from "../helpers/processes.ts";

describe("efed demo", () => {
  it("runs chain, verifiers and servers, generates, catches the noisy server, stops everything", async () => {
    const r = await efed(["demo"], {}, 300_000);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^Once upon a time/m);
    assert.match(r.stderr, /an audit caught the noisy server: it is off routes on co-signed evidence/);
    assert.match(r.stdout, /slashed +layers 2-4\s+S \S+\s+stake 50\.0/);
    assert.equal((r.stdout.match(/ active {6}layers/g) ?? []).length, 3);
  });
});
