// Tokenizers: the GGUF SentencePiece BPE and a tokenizer.json built from the same
// vocabulary agree, and both round-trip arbitrary UTF-8.
import { describe, it, before } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadModel } from "../../../node/model/load.ts";
import { writeHfCheckpoint } from "../../../node/model/hf-export.ts";
import type { SpmTokenizer } from "../../../node/model/tokenizer/spm.ts";
import type { Tokenizer } from "../../../node/model/tokenizer/types.ts";
import { STORIES_260K } from "../../helpers/models.ts";

/** Seeded random strings over ASCII, Latin-1, CJK, emoji and combining marks. */
function randomStrings(n: number, seed = 7): string[] {
  let s = seed;
  const r = (k: number) => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) % k);
  const ranges = [[0x20, 0x7e], [0xa0, 0xff], [0x4e00, 0x4fff], [0x1f600, 0x1f64f], [0x300, 0x36f], [0x0a, 0x0a]];
  return Array.from({ length: n }, () => {
    let out = "";
    for (let i = 0, len = 1 + r(40); i < len; i++) {
      const [lo, hi] = ranges[r(ranges.length)];
      out += String.fromCodePoint(lo + r(hi - lo + 1));
    }
    return out;
  });
}

describe("tokenizers", () => {
  let spm: Tokenizer;
  let hf: Tokenizer;
  before(async () => {
    const m = await loadModel(STORIES_260K);
    spm = m.tokenizer;
    const dir = mkdtempSync(join(tmpdir(), "efed-tok-"));
    writeHfCheckpoint(dir, m.config, m.weights, (m.tokenizer as SpmTokenizer).vocab);
    hf = (await loadModel(dir)).tokenizer;
  });

  it("encodes as llama2.c does: BOS, dummy prefix, best-score merges", () => {
    assert.deepEqual(spm.encode("Once upon a time"), [1, 403, 407, 261, 378]);
    assert.deepEqual(spm.encode(""), [1]);
    assert.deepEqual(spm.encode("Once", { bos: false }), [403]);
  });

  it("falls back to bytes for characters outside the vocabulary", () => {
    const ids = spm.encode("🚀", { bos: false });
    // ▁ then the four UTF-8 bytes F0 9F 9A 80 as <0xXX> tokens (id = byte + 3)
    assert.deepEqual(ids.slice(-4), [0xf0 + 3, 0x9f + 3, 0x9a + 3, 0x80 + 3]);
    assert.equal(spm.decode(ids), "🚀");
  });

  it("round-trips arbitrary UTF-8 (SentencePiece BPE)", () => {
    for (const text of randomStrings(200)) assert.equal(spm.decode(spm.encode(text)), text);
  });

  it("tokenizer.json gives the same ids and round-trips too", () => {
    for (const text of [...randomStrings(100, 11), "Once upon a time, Lily saw a ball.", "  two  spaces "]) {
      assert.deepEqual(hf.encode(text), spm.encode(text), JSON.stringify(text));
      assert.equal(hf.decode(hf.encode(text)), text);
    }
  });

  it("streams: a character split over byte tokens appears once complete", () => {
    for (const tok of [spm, hf]) {
      const d = tok.streamDecoder();
      const pieces = tok.encode("a 🚀 b").map((id) => d.push(id));
      assert.equal(pieces.join("") + d.flush(), "a 🚀 b");
      assert.ok(!pieces.some((p) => p.includes("\uFFFD")));
      assert.ok(pieces.includes(" 🚀") || pieces.includes("🚀"));
    }
  });
});
