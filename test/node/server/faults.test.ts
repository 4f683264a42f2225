// Fault modes: parsing with clear errors, and what each does to a server's output.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { faultTransform, parseFault } from "../../../node/server/faults.ts";
import { compareOutputs } from "../../../node/verifier/tolerance.ts";

const out = Float32Array.from({ length: 64 }, (_, i) => Math.sin(i) + 0.5);
const input = Float32Array.from({ length: 64 }, (_, i) => Math.cos(i));

describe("fault modes", () => {
  it("parses every mode and refuses bad specs with a clear message", () => {
    assert.deepEqual(parseFault("noise:0.01"), { kind: "noise", sigma: 0.01 });
    assert.deepEqual(parseFault("slow:200"), { kind: "slow", ms: 200 });
    assert.deepEqual(parseFault("drop:0.5"), { kind: "drop", p: 0.5 });
    for (const k of ["skip", "replay", "garbage", "zero"]) assert.deepEqual(parseFault(k), { kind: k });
    assert.throws(() => parseFault("noise"), /noise needs a number/);
    assert.throws(() => parseFault("drop:2"), /drop needs a number in \[0, 1\]/);
    assert.throws(() => parseFault("skip:1"), /skip takes no argument/);
    assert.throws(() => parseFault("lie"), /unknown fault "lie"/);
  });

  it("each mode changes the output the way it says, beyond the verifiers' tolerance", async () => {
    const noisy = await faultTransform({ kind: "noise", sigma: 0.01 })(out, input);
    const c = compareOutputs(noisy, out);
    assert.ok(c.relativeError > 0.005 && c.relativeError < 0.02 && !c.pass, `noise: ${c.relativeError}`);
    assert.deepEqual(await faultTransform({ kind: "skip" })(out, input), input);
    assert.ok((await faultTransform({ kind: "zero" })(out, input)).every((v) => v === 0));
    assert.ok(!compareOutputs(await faultTransform({ kind: "garbage" })(out, input), out).pass);
    const replay = faultTransform({ kind: "replay" });
    const first = await replay(out, input);
    const second = await replay(Float32Array.from(out, (v) => v * 2), Float32Array.from(input, (v) => v + 1));
    assert.ok(!compareOutputs(first, out).pass);
    assert.deepEqual(second, out); // the earlier answer, to a different question
  });

  it("slow answers late with honest values; drop sometimes drops", async () => {
    const t = performance.now();
    assert.deepEqual(await faultTransform({ kind: "slow", ms: 50 })(out, input), out);
    assert.ok(performance.now() - t >= 45);
    const drop = faultTransform({ kind: "drop", p: 0.5 }, 3);
    let dropped = 0;
    for (let i = 0; i < 200; i++) dropped += await drop(out, input).then(() => 0, (e: Error) => (e.name === "DroppedError" ? 1 : 0));
    assert.ok(dropped > 60 && dropped < 140, `${dropped} of 200 dropped`);
    assert.equal(await faultTransform({ kind: "drop", p: 0 })(out, input), out);
  });
});
