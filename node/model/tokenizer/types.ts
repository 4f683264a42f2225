// What the Client needs of a tokenizer, whatever its source (GGUF vocabulary or tokenizer.json).

export interface Tokenizer {
  readonly vocabSize: number;
  readonly bos: number;
  readonly eos: number;
  /** Token ids for `text`, with BOS first when `bos` is set. */
  encode(text: string, opts?: { bos?: boolean }): number[];
  /** The text of `ids` (special tokens dropped). */
  decode(ids: readonly number[]): string;
  /** A decoder that turns one token at a time into text, holding back incomplete UTF-8. */
  streamDecoder(): StreamDecoder;
}

export interface StreamDecoder {
  /** Text completed by `id` (may be "" while a multi-byte character is incomplete). */
  push(id: number): string;
  /** Whatever is still held back. */
  flush(): string;
}
