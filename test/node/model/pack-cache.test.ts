// `generate --local --pack-cache` (node/model/onnx/pack-cache.ts): a packed copy of an f32
// graph loads back computing bit for bit what the first load computed; a copy is used only
// for exactly the graph, model file and machine it was made for; a broken copy is packed
// again; int8 graphs (MatMulNBits) are never kept.
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generate } from "../../../node/client/generate.ts";
import { openLocalEngine } from "../../../node/client/local.ts";
import { mapGgufLayers } from "../../../node/model/gguf-map.ts";
import { ShardRunner } from "../../../node/model/onnx/runtime.ts";
import { PROCESS_TAG } from "../../../node/model/scratch.ts";
import { writeSynthModel } from "../../../node/model/synth.ts";
import { runSteps } from "../../helpers/shard-run.ts";

describe("packed weights kept on disk (--pack-cache)", () => {
  let dir: string;
  let file: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "efed-pack-"));
    file = join(dir, "f32.gguf");
    // head size 32: the fused graph runs (fused-layers.ts), as `generate --local` builds it
    writeSynthModel(file, { dim: 128, layers: 2, heads: 4, kvHeads: 2, ffn: 256, vocab: 300, seed: 3 });
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  /** The layers opened as `generate --local` opens them, with a packed copy in `cacheDir`. */
  async function open(cacheDir: string, said: string[]): Promise<ShardRunner> {
    const m = await mapGgufLayers(file, 0, 2);
    return ShardRunner.open(m.config, { start: 0, end: 2, norms: m.norms, linear: m.linear, fused: true }, "cpu", m.externalDir, { pack: { dir: cacheDir, sources: [file], part: "layers-0-2" }, say: (l) => said.push(l) });
  }

  it("loads a packed copy back computing bit for bit what the first load computed, without packing again", async () => {
    const cacheDir = join(dir, "cache-a");
    const m = await mapGgufLayers(file, 0, 2);
    const plain = await ShardRunner.open(m.config, { start: 0, end: 2, norms: m.norms, linear: m.linear, fused: true }, "cpu", m.externalDir);
    const said: string[] = [];
    const first = await open(cacheDir, said);
    assert.equal(said.length, 1, "the first load says it packs");
    const [entry] = readdirSync(cacheDir);
    assert.match(entry, /^f32\.gguf-[0-9a-f]{8}-layers-0-2-[0-9a-f]{24}$/);
    assert.deepEqual(readdirSync(join(cacheDir, entry)).sort(), ["key.json", "model.data", "model.onnx"]);
    const written = statSync(join(cacheDir, entry, "model.data")).mtimeMs;
    const second = await open(cacheDir, said);
    assert.equal(said.length, 1, "the second load maps the copy: nothing packed, nothing said");
    assert.equal(statSync(join(cacheDir, entry, "model.data")).mtimeMs, written);
    const want = await runSteps(plain);
    assert.deepEqual(await runSteps(first), want);
    assert.deepEqual(await runSteps(second), want);
    for (const r of [plain, first, second]) await r.release();
  });

  it("packs again when the model file changes, and keeps only the newer copy", async () => {
    const cacheDir = join(dir, "cache-b");
    const said: string[] = [];
    await (await open(cacheDir, said)).release();
    const [old] = readdirSync(cacheDir);
    const later = new Date(Date.now() + 5000);
    utimesSync(file, later, later); // same bytes, another modification time: another key
    await (await open(cacheDir, said)).release();
    assert.equal(said.length, 2);
    const now = readdirSync(cacheDir);
    assert.equal(now.length, 1);
    assert.notEqual(now[0], old);
  });

  it("packs again over a broken copy or one made for another key, and what stopped halfway is removed", async () => {
    const cacheDir = join(dir, "cache-c");
    const said: string[] = [];
    const m = await mapGgufLayers(file, 0, 2);
    const want = await runSteps(await ShardRunner.open(m.config, { start: 0, end: 2, norms: m.norms, linear: m.linear, fused: true }, "cpu", m.externalDir));
    await (await open(cacheDir, said)).release();
    const [entry] = readdirSync(cacheDir);
    writeFileSync(join(cacheDir, entry, "model.onnx"), "not a model");
    // a temporary folder of a load whose process is gone (pid 2^22 + 1 is above Linux's
    // limit), one of a load still writing (this process), one of another host or pid namespace
    // (a container or host sharing the folder: its process cannot be checked from here, so it
    // stays), and another model's copy
    const [where] = PROCESS_TAG.split(".");
    mkdirSync(join(cacheDir, `${entry}.00000000.tmp-${where}.${2 ** 22 + 1}`));
    mkdirSync(join(cacheDir, `${entry}.33333333.tmp-${2 ** 22 + 1}`)); // an earlier version's tag: a bare pid
    const live = `${entry}.11111111.tmp-${PROCESS_TAG}`;
    mkdirSync(join(cacheDir, live));
    const foreign = `${entry}.22222222.tmp-${where === "00000000" ? "11111111" : "00000000"}.${2 ** 22 + 1}`;
    mkdirSync(join(cacheDir, foreign));
    const other = entry.replace(/^f32\.gguf-[0-9a-f]{8}-/, "f32.gguf-00000000-");
    mkdirSync(join(cacheDir, other));
    const repacked = await open(cacheDir, said);
    assert.equal(said.length, 2, "the broken copy is packed again");
    assert.deepEqual(await runSteps(repacked), want);
    await repacked.release();
    assert.deepEqual(readdirSync(cacheDir).sort(), [entry, live, foreign, other].sort());
    rmSync(join(cacheDir, live), { recursive: true });
    rmSync(join(cacheDir, foreign), { recursive: true });
    // a copy cut short (its data file not the size written): never opened, packed again
    writeFileSync(join(cacheDir, entry, "model.data"), "");
    const whole = await open(cacheDir, said);
    assert.equal(said.length, 3);
    assert.deepEqual(await runSteps(whole), want);
    await whole.release();
    // a copy with the sizes written but bytes onnxruntime refuses: replaced by the new copy,
    // so the next load maps it and says nothing
    const onnx = join(cacheDir, entry, "model.onnx");
    writeFileSync(onnx, Buffer.alloc(statSync(onnx).size, 0xff));
    const replaced = await open(cacheDir, said);
    assert.equal(said.length, 4, "the refused copy is packed again");
    assert.deepEqual(await runSteps(replaced), want);
    await replaced.release();
    const mapped = await open(cacheDir, said);
    assert.equal(said.length, 4, "and its new copy is the one in place");
    assert.deepEqual(await runSteps(mapped), want);
    await mapped.release();
    // a key.json that names another key: never opened, packed again
    writeFileSync(join(cacheDir, entry, "key.json"), JSON.stringify({ key: "0".repeat(64) }));
    const again = await open(cacheDir, said);
    assert.equal(said.length, 5);
    assert.deepEqual(await runSteps(again), want);
    await again.release();
  });

  it("never keeps an int8 MatMulNBits graph, and local generation gives the same tokens with and without copies", async () => {
    const q8 = join(dir, "q8.gguf");
    writeSynthModel(q8, { dim: 128, layers: 2, heads: 4, kvHeads: 2, ffn: 256, vocab: 300, seed: 4, type: "Q8_0" });
    for (const [model, kept] of [[q8, false], [file, true]] as const) {
      const cacheDir = join(dir, `cache-local-${kept}`);
      const tokens: number[][] = [];
      for (const [run, packCache] of [undefined, cacheDir, cacheDir].entries()) {
        const said: string[] = [];
        const e = await openLocalEngine(model, { packCache, say: (l) => said.push(l) });
        tokens.push((await generate(e.client, e.session(), { prompt: "", promptIds: [e.model.tokenizer.bos], maxTokens: 16, stopAtEos: false })).tokens);
        await e.close();
        if (!kept && packCache !== undefined) assert.ok(said.length === 2 && said.every((l) => l.includes("not kept packed")), said.join("\n"));
        // f32: the first load with a folder packs the layers and the head, the next maps both
        if (kept) assert.equal(said.length, [0, 2, 0][run], said.join("\n"));
      }
      assert.deepEqual(tokens[1], tokens[0]);
      assert.deepEqual(tokens[2], tokens[0]);
      assert.equal(existsSync(cacheDir), kept, kept ? "the f32 graphs are kept" : "nothing is written for int8 graphs");
      if (kept) assert.equal(readdirSync(cacheDir).length, 2, "layers and head");
    }
  });

  it("does not use a folder other users may write to, and says so", async () => {
    const cacheDir = join(dir, "cache-shared");
    mkdirSync(cacheDir);
    chmodSync(cacheDir, 0o777);
    const said: string[] = [];
    const r = await open(cacheDir, said);
    assert.deepEqual(said, [`packed weights: ${cacheDir}: not used: other users may write to it (chmod go-w)`]);
    assert.deepEqual(readdirSync(cacheDir), []);
    await r.release();
  });

  it("refuses a model file it does not apply to, with one line", async () => {
    const refused = /--pack-cache keeps the packed weights of a GGUF model file's graph; it does not apply to other model files or SVD-compressed weights/;
    await assert.rejects(openLocalEngine(file, { packCache: join(dir, "x"), svd: { energy: 0.9 } }), refused);
    await assert.rejects(openLocalEngine(dir, { packCache: join(dir, "x") }), refused); // a folder: a Hugging Face checkpoint's place
  });
});
