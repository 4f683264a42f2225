// Synthetic models: written as GGUF, loaded back, and run by the same shards as real ones.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openLocalEngine } from "../../../node/client/local.ts";
import { generate } from "../../../node/client/generate.ts";
import { loadModel } from "../../../node/model/load.ts";
import { exactSvd } from "../../../node/model/svd/decompose.ts";
import { writeSynthModel } from "../../../node/model/synth.ts";

const dir = mkdtempSync(join(tmpdir(), "efed-synth-"));

describe("synthetic models", () => {
  it("writes a model of the asked shape that loads and generates deterministically", async () => {
    const file = join(dir, "s.gguf");
    const { parameters } = writeSynthModel(file, { dim: 64, layers: 3, heads: 4, kvHeads: 2, ffn: 96, vocab: 300, seed: 5 });
    const m = await loadModel(file);
    assert.equal(m.config.nLayers, 3);
    assert.equal(m.config.nKvHeads, 2);
    assert.equal(m.config.vocabSize, 300);
    assert.equal(parameters, 2 * 300 * 64 + 64 + 3 * (2 * 64 + 64 * 64 + 2 * 32 * 64 + 64 * 64 + 3 * 64 * 96));
    const run = async (shards: number) => {
      const e = await openLocalEngine(file, { shards });
      try {
        return (await generate(e.client, e.session(), { prompt: "hi", maxTokens: 12, stopAtEos: false })).tokens;
      } finally {
        await e.close();
      }
    };
    const one = await run(1);
    assert.equal(one.length, 12);
    assert.deepEqual(await run(3), one);
  });

  it("--decay gives a decaying singular spectrum", async () => {
    const file = join(dir, "d.gguf");
    writeSynthModel(file, { dim: 64, layers: 1, heads: 4, kvHeads: 4, ffn: 64, vocab: 259, seed: 2, decay: 0.1 });
    const m = await loadModel(file);
    const s = exactSvd(m.weights.layers[0]!.w1, 64, 64).s;
    assert.ok(s[20] / s[0] < 0.1, `σ20/σ0 = ${s[20] / s[0]}`);
  });

  it("refuses impossible shapes", () => {
    assert.throws(() => writeSynthModel(join(dir, "x.gguf"), { dim: 60, layers: 1, heads: 8, kvHeads: 8, ffn: 8, vocab: 300 }), /multiple of heads/);
    assert.throws(() => writeSynthModel(join(dir, "x.gguf"), { dim: 64, layers: 1, heads: 8, kvHeads: 3, ffn: 8, vocab: 300 }), /multiple of kv-heads/);
    assert.throws(() => writeSynthModel(join(dir, "x.gguf"), { dim: 64, layers: 1, heads: 8, kvHeads: 8, ffn: 8, vocab: 100 }), /at least 259/);
  });
});
