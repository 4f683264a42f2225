// --threads on every command that computes, with the measured default, checked when parsed.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Command } from "commander";
import { analyzeCommand } from "../../../node/cli/analyze.ts";
import { apiCommand } from "../../../node/cli/api.ts";
import { generateCommand } from "../../../node/cli/generate.ts";
import { serverCommand } from "../../../node/cli/server.ts";
import { verifierCommand } from "../../../node/cli/verifier.ts";
import { threadsOption } from "../../../node/cli/common.ts";
import { DEFAULT_THREADS } from "../../../node/model/onnx/runtime.ts";
import { availableParallelism } from "node:os";

describe("--threads", () => {
  it("every compute command takes it, defaulting to the measured choice", () => {
    const program = new Command();
    for (const register of [generateCommand, serverCommand, verifierCommand, apiCommand, analyzeCommand]) register(program);
    for (const cmd of program.commands) {
      const o = cmd.options.find((x) => x.long === "--threads");
      assert.ok(o !== undefined, `${cmd.name()} has no --threads`);
      // one user's generation has every core; nodes that serve share theirs (runtime.ts)
      assert.equal(o.defaultValue, cmd.name() === "generate" ? availableParallelism() : DEFAULT_THREADS, cmd.name());
    }
    assert.equal(program.commands.length, 5);
  });

  it("takes a positive integer and refuses anything else with one clear line", () => {
    const parse = (v: string) => threadsOption().parseArg!(v, undefined);
    assert.equal(parse("3"), 3);
    for (const bad of ["0", "-2", "1.5", "two", ""]) {
      assert.throws(() => parse(bad), (err: Error & { code?: string }) => {
        assert.equal(err.code, "commander.invalidArgument");
        assert.match(err.message, /must be an integer from 1 to 1024/);
        return true;
      });
    }
  });
});
