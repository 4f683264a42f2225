// `efed api --local` as a user starts it, with --pack-cache: the first start packs the
// weights into the folder and says so, the next maps them silently, and both serve the
// published greedy text; flags that do not apply exit 2 with one line.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { efed, efedBackground } from "../helpers/processes.ts";
import { goldenText, STORIES_260K } from "../helpers/models.ts";

/** The first `tokens` tokens' text, greedy, from the API at `base`. */
async function complete(base: string, tokens: number): Promise<string> {
  const r = await fetch(`${base}/completions`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ model: "stories260K-f32", prompt: "", max_tokens: tokens, temperature: 0 }) });
  assert.equal(r.status, 200);
  return ((await r.json()) as { choices: { text: string }[] }).choices[0].text;
}

describe("efed api --local --pack-cache", () => {
  it("packs on the first start and says so, maps on the next without a word; the text is the published one both times", async () => {
    const root = mkdtempSync(join(tmpdir(), "efed-api-pack-"));
    const dir = join(root, "packed");
    const golden = goldenText();
    try {
      const said: string[] = [];
      for (let start = 0; start < 2; start++) {
        const api = await efedBackground(["api", "--local", "--pack-cache", dir, "--model", STORIES_260K, "--port", "0"], /api ready: .* at (http:\/\/127\.0\.0\.1:\d+\/v1)/, 60_000);
        try {
          const text = await complete(api.match[1], 40);
          assert.ok(text.length > 20 && golden.startsWith(text), `"${text}" is not the start of the published text`);
        } finally {
          await api.stop();
        }
        said.push(api.output());
      }
      assert.match(said[0], /packing the weights into .*stories260K-f32\.gguf-[0-9a-f]{8}-layers-0-5-[0-9a-f]{24} for faster loads/);
      assert.doesNotMatch(said[1], /packing the weights/);
      // one copy each of the layers and the head, made by the first start
      assert.deepEqual(readdirSync(dir).map((e) => e.replace(/-[0-9a-f]{8}-(.*)-[0-9a-f]{24}$/, "-$1")).sort(), ["stories260K-f32.gguf-head", "stories260K-f32.gguf-layers-0-5"]);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it("--pack-cache without --local, off the CPU, or for a model that is not a GGUF file: exit 2 with one line", async () => {
    for (const [args, message] of [
      [["api", "--pack-cache", "--model", STORIES_260K], /^efed: --shards and --pack-cache apply to --local only\n$/],
      [["api", "--local", "--pack-cache", "--device", "webgpu", "--model", STORIES_260K], /^efed: --pack-cache keeps onnxruntime's CPU packing: it applies to --device cpu only\n$/],
      [["api", "--local", "--pack-cache", "--model", dirname(STORIES_260K)], /^efed: --pack-cache keeps the packed weights of a GGUF model file; .*models is not one\n$/],
    ] as const) {
      const r = await efed([...args]);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, message);
    }
  });
});
