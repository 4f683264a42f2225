// SentencePiece-style BPE as stored in GGUF ("tokenizer.ggml.model" = "llama"): pieces with
// "▁" for spaces, merge scores, and <0xXX> byte-fallback tokens. The algorithm is
// llama2.c's: split into characters, fall back to bytes, then repeatedly merge the
// adjacent pair whose union has the best score.
import type { StreamDecoder, Tokenizer } from "./types.ts";

const SPACE = "\u2581"; // ▁
const BYTE_PIECE = /^<0x([0-9A-Fa-f]{2})>$/;
const NORMAL = 1; // token_type values from llama.cpp
const CONTROL = 3;

export interface SpmVocab {
  readonly tokens: readonly string[];
  readonly scores: readonly number[];
  readonly types?: readonly number[];
  readonly bos: number;
  readonly eos: number;
  readonly addSpacePrefix?: boolean;
}

export class SpmTokenizer implements Tokenizer {
  /** The vocabulary this tokenizer was built from (for export). */
  readonly vocab: SpmVocab;
  readonly vocabSize: number;
  readonly bos: number;
  readonly eos: number;
  private readonly tokens: readonly string[];
  private readonly scores: readonly number[];
  private readonly types: readonly number[];
  private readonly ids = new Map<string, number>();
  private readonly byteIds: number[] = new Array(256).fill(-1);
  private readonly pieceBytes: (Uint8Array | undefined)[];
  private readonly addSpacePrefix: boolean;

  constructor(v: SpmVocab) {
    this.vocab = v;
    this.tokens = v.tokens;
    this.scores = v.scores;
    this.types = v.types ?? v.tokens.map(() => NORMAL);
    this.vocabSize = v.tokens.length;
    this.bos = v.bos;
    this.eos = v.eos;
    this.addSpacePrefix = v.addSpacePrefix ?? true;
    const enc = new TextEncoder();
    this.pieceBytes = v.tokens.map((t, i) => {
      if (!this.ids.has(t)) this.ids.set(t, i);
      const m = BYTE_PIECE.exec(t);
      if (m) {
        const b = parseInt(m[1], 16);
        this.byteIds[b] = i;
        return Uint8Array.of(b);
      }
      return this.types[i] === CONTROL ? undefined : enc.encode(t.replaceAll(SPACE, " "));
    });
  }

  encode(text: string, opts: { bos?: boolean } = {}): number[] {
    const out: number[] = [];
    if (opts.bos ?? true) out.push(this.bos);
    if (text === "") return out;
    const normalized = (this.addSpacePrefix ? " " + text : text).replaceAll(" ", SPACE);
    // one symbol per code point, or its UTF-8 bytes when the vocabulary lacks it
    const syms: number[] = [];
    for (const ch of normalized) {
      const id = this.ids.get(ch);
      if (id !== undefined) {
        syms.push(id);
        continue;
      }
      for (const b of new TextEncoder().encode(ch)) {
        const bid = this.byteIds[b];
        if (bid < 0) throw new Error(`the vocabulary has neither ${JSON.stringify(ch)} nor byte <0x${b.toString(16)}>`);
        syms.push(bid);
      }
    }
    // merge the best-scoring adjacent pair until none is in the vocabulary
    for (;;) {
      let best = -Infinity;
      let bestId = -1;
      let bestIdx = -1;
      for (let i = 0; i + 1 < syms.length; i++) {
        const id = this.ids.get(this.tokens[syms[i]] + this.tokens[syms[i + 1]]);
        if (id !== undefined && this.scores[id] > best) {
          best = this.scores[id];
          bestId = id;
          bestIdx = i;
        }
      }
      if (bestIdx < 0) break;
      syms.splice(bestIdx, 2, bestId);
    }
    out.push(...syms);
    return out;
  }

  decode(ids: readonly number[]): string {
    const d = this.streamDecoder();
    return ids.map((id) => d.push(id)).join("") + d.flush();
  }

  streamDecoder(): StreamDecoder {
    const utf8 = new TextDecoder("utf-8", { fatal: false });
    let prev = -1;
    return {
      push: (id: number) => {
        let bytes = this.pieceBytes[id];
        const first = prev === -1 || prev === this.bos;
        prev = id;
        if (id === this.bos || id === this.eos || bytes === undefined) return "";
        // sentencepiece's dummy prefix: no leading space at the start of the text
        if (first && bytes[0] === 0x20 && !BYTE_PIECE.test(this.tokens[id])) bytes = bytes.subarray(1);
        return utf8.decode(bytes, { stream: true });
      },
      flush: () => utf8.decode(),
    };
  }
}

/** The tokenizer stored in a GGUF file's metadata. */
export function spmFromGguf(metadata: Record<string, unknown>, file: string): SpmTokenizer {
  const model = metadata["tokenizer.ggml.model"];
  if (model !== "llama") throw new Error(`${file}: tokenizer model "${String(model)}" is not supported (supported: llama)`);
  const tokens = metadata["tokenizer.ggml.tokens"] as string[] | undefined;
  const scores = metadata["tokenizer.ggml.scores"] as number[] | undefined;
  if (tokens === undefined || scores === undefined) throw new Error(`${file}: missing tokenizer.ggml.tokens or .scores`);
  return new SpmTokenizer({
    tokens,
    scores,
    types: metadata["tokenizer.ggml.token_type"] as number[] | undefined,
    bos: Number(metadata["tokenizer.ggml.bos_token_id"] ?? 1),
    eos: Number(metadata["tokenizer.ggml.eos_token_id"] ?? 2),
    addSpacePrefix: (metadata["tokenizer.ggml.add_space_prefix"] as boolean | undefined) ?? true,
  });
}
