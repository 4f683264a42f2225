// Deployment parameters: every problem in a file is reported at once, each once, under its
// key — type errors, ranges and the checks that read two fields alike.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DeployParamsError, parseDeployParams, readDeployParams, toLedgerParams } from "../../../node/chain/params.ts";

/** The problems of a refused input, as "key: message" strings. */
function problems(input: unknown): string[] {
  try {
    parseDeployParams(input, "swarm.json");
  } catch (err) {
    assert.equal((err as Error).name, "DeployParamsError");
    const m = /^swarm\.json: (\d+) problems?: (.*)$/.exec((err as Error).message);
    assert.ok(m, (err as Error).message);
    const list = m[2].split("; ");
    assert.equal(list.length, Number(m[1]));
    return list;
  }
  assert.fail("accepted");
}

const keyOf = (p: string) => p.slice(0, p.indexOf(":"));

describe("deployment parameters", () => {
  it("defaults suit the local chain and map onto the ledger's struct", () => {
    const p = parseDeployParams({});
    assert.equal(p.epochSeconds, 10);
    const l = toLedgerParams(p);
    assert.equal(l.minServerStake, 100n * 10n ** 18n);
    assert.equal(l.theta, 9n * 10n ** 17n);
    assert.equal(l.unbondingDelay, 70);
  });

  it("reports every problem at once, each once, under its key", () => {
    const list = problems({ numLayers: "x", minServerStake: "abc", theta: 2, slashShareBps: 50, bogus: 1, extra: true, sizeNeutralWeights: "yes", modelHash: "0x12" });
    assert.deepEqual(list.map(keyOf).sort(), ["bogus", "extra", "minServerStake", "modelHash", "numLayers", "sizeNeutralWeights", "slashShareBps", "theta"]);
    for (const p of list) {
      const key = keyOf(p);
      assert.equal(p.split(key).length - 1, 1, `the key is said once: ${p}`);
    }
    assert.ok(list.includes("theta: must be from 0 to 0.95 (is 2)"), list.join("\n"));
    assert.ok(list.includes("slashShareBps: must be from 100 to 5000 (is 50)"));
    assert.ok(list.includes('numLayers: must be a whole number from 1 to 65535 (is "x")'));
    assert.ok(list.includes("bogus: not a parameter (the known ones are in `efed deploy --help`)"));
  });

  it("range checks run even when another field has the wrong type (not only the first problem)", () => {
    const list = problems({ epochSeconds: "ten", strikeLimit: 1, verifierFee: "5000" });
    assert.deepEqual(list.map(keyOf), ["epochSeconds", "verifierFee", "strikeLimit"]);
    assert.match(list[1], /^verifierFee: must be from 0 to 1000 tokens \(is 5000\)$/);
  });

  it("checks across fields run whenever the fields they read are valid", () => {
    // minVerifierStake's floor reads minServerStake and slashShareBps; an unknown key elsewhere does not stop it
    const list = problems({ minServerStake: "1000", minVerifierStake: 2, zzz: 1, unbondingSeconds: 10 });
    assert.deepEqual(list.map(keyOf), ["zzz", "minVerifierStake", "unbondingSeconds"]);
    assert.match(list[1], /= 500 tokens, .* \(is 2\)$/);
    assert.match(list[2], /= 70, .* \(is 10\)$/);
    // ... and stay quiet when one of those fields is itself wrong (said once, under its own key)
    assert.deepEqual(problems({ minServerStake: "1000", minVerifierStake: 2, slashShareBps: 7000 }).map(keyOf), ["slashShareBps"]);
  });

  it("a file that is not an object, or not JSON, or not there: one line saying so", () => {
    assert.deepEqual(problems([1]), ["the parameters must be a JSON object of key: value (Invalid input: expected object, received array)"]);
    const dir = mkdtempSync(join(tmpdir(), "efed-params-"));
    writeFileSync(join(dir, "bad.json"), "nope");
    assert.throws(() => readDeployParams(join(dir, "bad.json")), (e: Error) => e instanceof DeployParamsError && /bad\.json is not valid JSON/.test(e.message));
    assert.throws(() => readDeployParams(join(dir, "missing.json")), /cannot read .*missing\.json: ENOENT/);
  });
});
