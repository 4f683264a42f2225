// End to end: `efed generate --local` and `efed model` as a user runs them.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { efed } from "../helpers/processes.ts";
import { goldenText, STORIES_260K } from "../helpers/models.ts";

describe("efed generate --local / efed model", () => {
  it("prints the published greedy text through 3 shards, with stats on stderr", async () => {
    const r = await efed(["generate", "--local", "--model", STORIES_260K, "--max-tokens", "120", "--shards", "3", "--stats"]);
    assert.equal(r.code, 0, r.stderr);
    const golden = goldenText();
    assert.equal(r.stdout.slice(0, golden.length), golden);
    assert.match(r.stderr, /tokens in .* tokens\/s\), shards 0-2 2-4 4-5, device cpu/);
  });

  it("continues a prompt and samples reproducibly with a seed", async () => {
    const args = ["generate", "--local", "--model", STORIES_260K, "--prompt", "Tom had a dog", "--max-tokens", "30", "--temperature", "0.8", "--seed", "42"];
    const a = await efed(args);
    const b = await efed(args);
    assert.equal(a.code, 0, a.stderr);
    assert.ok(a.stdout.startsWith("Tom had a dog"));
    assert.equal(a.stdout, b.stdout);
  });

  it("--pack-cache: the first run packs into the folder and says so, the next maps it silently, the text is the published one both times", async () => {
    const dir = join(mkdtempSync(join(tmpdir(), "efed-pack-cli-")), "packed");
    try {
      const args = ["generate", "--local", "--pack-cache", dir, "--model", STORIES_260K, "--max-tokens", "120"];
      const first = await efed(args);
      assert.equal(first.code, 0, first.stderr);
      assert.match(first.stderr, /packing the weights into .*stories260K-f32\.gguf-[0-9a-f]{8}-layers-0-5-[0-9a-f]{24} for faster loads/);
      assert.deepEqual(readdirSync(dir).map((e) => e.replace(/-[0-9a-f]{8}-(.*)-[0-9a-f]{24}$/, "-$1")).sort(), ["stories260K-f32.gguf-head", "stories260K-f32.gguf-layers-0-5"]);
      const second = await efed(args);
      assert.equal(second.code, 0, second.stderr);
      assert.equal(second.stderr, "", "the second run maps both copies and says nothing");
      const golden = goldenText();
      assert.equal(first.stdout.slice(0, golden.length), golden);
      assert.equal(second.stdout, first.stdout);
      // a file where the folder should be: the text still comes, with one line saying why no copy
      const notAFolder = join(dirname(dir), "file");
      writeFileSync(notAFolder, "");
      const third = await efed(["generate", "--local", "--pack-cache", notAFolder, "--model", STORIES_260K, "--max-tokens", "120"]);
      assert.equal(third.code, 0, third.stderr);
      assert.equal(third.stdout, first.stdout);
      assert.match(third.stderr, /^packed weights: .*file: EEXIST[^\n]*\n$/);
    } finally {
      rmSync(dirname(dir), { recursive: true, force: true });
    }
  });

  it("one clear line and a non-zero exit for each bad input", async () => {
    const cases: [string[], RegExp][] = [
      [["generate", "--local", "--model", "missing.gguf"], /^efed: cannot read missing\.gguf: ENOENT\n$/],
      [["generate", "--local", "--model", STORIES_260K, "--device", "cuda"], /^efed: the cuda execution provider is not available on this machine/],
      [["generate", "--local", "--model", STORIES_260K, "--shards", "6"], /^efed: shards must be between 1 and 5, got 6\n$/],
      [["generate", "--local"], /^efed: --local needs --model <file>\n$/],
      [["generate", "--local", "--model", STORIES_260K, "--max-tokens", "600"], /^efed: prompt \(1 tokens\) \+ max tokens \(600\) exceed the context of 512\n$/],
      [["generate", "--local", "--model", STORIES_260K, "--temperature", "hot"], /argument 'hot' is invalid/],
      [["generate", "--local", "--model", STORIES_260K, "--device", "tpu"], /Allowed choices are cpu, webgpu, cuda, auto/],
      [["generate", "--pack-cache", "--model", STORIES_260K], /^efed: --svd-\*, --shards and --pack-cache apply to --local only\n$/],
      [["generate", "--local", "--pack-cache", "--device", "webgpu", "--model", STORIES_260K], /^efed: --pack-cache keeps onnxruntime's CPU packing: it applies to --device cpu only\n$/],
      [["generate", "--local", "--pack-cache", "", "--model", STORIES_260K], /option '--pack-cache \[dir\]' argument '' is invalid\. give a folder, or no value for the default/],
      [["generate", "--local", "--pack-cache", "--svd-energy", "0.9", "--model", STORIES_260K], /^efed: --pack-cache keeps a GGUF file's packed weights; it does not apply to SVD-compressed ones \(--svd-\*\)\n$/],
    ];
    for (const [args, expected] of cases) {
      const r = await efed(args);
      assert.notEqual(r.code, 0, args.join(" "));
      assert.match(r.stderr, expected, args.join(" "));
      assert.equal(r.stderr.trim().split("\n").filter((l) => !l.startsWith("(run with")).length, 1, r.stderr);
    }
  });

  it("model info, svd report and synth", async () => {
    const info = JSON.parse((await efed(["model", "info", STORIES_260K, "--json"])).stdout);
    assert.equal(info.parameters, 292800);
    const svd = await efed(["model", "svd", STORIES_260K, "--ratio", "0.5"]);
    assert.equal(svd.code, 0, svd.stderr);
    assert.match(svd.stdout, /^\s+0 wq\s+64×64\s+15\s+[\d.]+%\s+47\.24%\s+factored$/m); // k = ⌊4096·0.5/129⌋ (Eq. 15)
    const out = join(mkdtempSync(join(tmpdir(), "efed-synth-cli-")), "m.gguf");
    const synth = await efed(["model", "synth", "--out", out, "--dim", "64", "--layers", "2", "--heads", "4", "--kv-heads", "2", "--ffn", "64", "--vocab", "300"]);
    assert.equal(synth.code, 0, synth.stderr);
    const gen = await efed(["generate", "--local", "--model", out, "--max-tokens", "5"]);
    assert.equal(gen.code, 0, gen.stderr);
    // a Q4_0 file: written, described, and generated from (its matrices 4-bit in the graph)
    const q4 = join(dirname(out), "q4.gguf");
    const q4synth = await efed(["model", "synth", "--out", q4, "--dim", "64", "--layers", "2", "--heads", "4", "--kv-heads", "2", "--ffn", "64", "--vocab", "300", "--type", "Q4_0"]);
    assert.equal(q4synth.code, 0, q4synth.stderr);
    assert.equal(JSON.parse((await efed(["model", "info", q4, "--json"])).stdout).tensorTypes, "Q4_0 ×16, F32 ×5"); // 7 matrices × 2 layers, embedding, output; norms
    const q4gen = await efed(["generate", "--local", "--model", q4, "--max-tokens", "5", "--stats"]);
    assert.equal(q4gen.code, 0, q4gen.stderr);
    assert.match(q4gen.stderr, /5 tokens in/);
  });
});

describe("flags that name files and addresses", () => {
  it("refuse bad multiaddrs and unwritable paths with one clear line", async () => {
    const cases: [string[], RegExp][] = [
      [["server", "--wallet", "w.json", "--model", STORIES_260K, "--layers", "0-2", "--listen", "garbage"], /argument 'garbage' is invalid\. not a multiaddr/],
      [["server", "--wallet", "w.json", "--layers", "0-2", "--weights-from", "/ip4/127.0.0.1/tcp/1"], /argument '\/ip4\/127\.0\.0\.1\/tcp\/1' is invalid\. must be `ledger`, a server's wallet address \(0x…\) or a multiaddr naming the peer \(…\/p2p\/<peer id>\)/],
      [["verifier", "--wallet", "w.json", "--model", STORIES_260K, "--bootstrap", "/nope"], /argument '\/nope' is invalid\. not a multiaddr/],
      [["model", "synth", "--out", "/nonexistent-dir/x.gguf", "--dim", "64", "--layers", "1", "--heads", "4", "--kv-heads", "4", "--ffn", "64", "--vocab", "300"], /^efed: cannot write \/nonexistent-dir\/x\.gguf: ENOENT$/m],
    ];
    for (const [args, expected] of cases) {
      const r = await efed(args);
      assert.notEqual(r.code, 0, args.join(" "));
      assert.match(r.stderr, expected, args.join(" "));
    }
  });
});
