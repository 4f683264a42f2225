// tokenizer.json models (Hugging Face), through @huggingface/tokenizers.
import { Tokenizer as HfTokenizerImpl } from "@huggingface/tokenizers";
import type { StreamDecoder, Tokenizer } from "./types.ts";

export class HfTokenizer implements Tokenizer {
  readonly vocabSize: number;
  readonly bos: number;
  readonly eos: number;
  private readonly impl: HfTokenizerImpl;

  constructor(json: object, config: object, ids: { bos: number; eos: number; vocabSize: number }) {
    this.impl = new HfTokenizerImpl(json, config);
    this.bos = ids.bos;
    this.eos = ids.eos;
    this.vocabSize = ids.vocabSize;
  }

  encode(text: string, opts: { bos?: boolean } = {}): number[] {
    const ids = text === "" ? [] : this.impl.encode(text, { add_special_tokens: false }).ids;
    return opts.bos ?? true ? [this.bos, ...ids] : ids;
  }

  decode(ids: readonly number[]): string {
    return this.impl.decode([...ids], { skip_special_tokens: true });
  }

  /** Decodes the growing sequence and emits what is new; text ending in an incomplete
   * character (U+FFFD) is held back until the next token completes it. */
  streamDecoder(): StreamDecoder {
    const ids: number[] = [];
    let emitted = "";
    const pending = () => {
      const text = this.decode(ids);
      return text.startsWith(emitted) ? text.slice(emitted.length) : "";
    };
    return {
      push: (id: number) => {
        ids.push(id);
        const fresh = pending();
        if (fresh.endsWith("\uFFFD")) return "";
        emitted += fresh;
        return fresh;
      },
      flush: () => {
        const fresh = pending();
        emitted += fresh;
        return fresh;
      },
    };
  }
}
