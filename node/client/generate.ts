// The Client's generation loop (paper §3.1): tokenize, embed, send the new positions'
// hidden states through a chain of shards, take the last hidden state through the head,
// sample, repeat. The chain is anything with `step`: local shards or remote servers.
import * as ort from "onnxruntime-node";
import type { ClientGraph } from "../model/onnx/runtime.ts";
import { Sampler, type SamplerOptions } from "../model/sampler.ts";
import type { Tokenizer } from "../model/tokenizer/types.ts";
import type { LlamaConfig } from "../model/types.ts";
import type { ShardChain } from "../swarm/types.ts";

export type { ShardChain } from "../swarm/types.ts";
/** The chain lost the steps since its last seal (a hop failed before signing for them):
 * the caller goes back to its last seal and does them again. */
export class RolledBackError extends Error {
  override readonly name = "RolledBackError";
}

export interface ClientModel {
  readonly config: LlamaConfig;
  readonly tokenizer: Tokenizer;
  readonly embedding: ClientGraph;
  readonly head: ClientGraph;
}

export interface GenerateOptions extends SamplerOptions {
  readonly prompt: string;
  /** Token ids to start from instead of encoding `prompt` (BOS included). */
  readonly promptIds?: readonly number[];
  readonly maxTokens: number;
  /** Called with each generated token id as soon as it is sampled. */
  readonly onToken?: (id: number) => void;
  /** Called with each piece of text as soon as it is known. */
  readonly onText?: (text: string) => void;
  /** Stop at the end-of-sequence token (default true). */
  readonly stopAtEos?: boolean;
  /** Stops the generation (the chain is left to the caller to close): throws its reason. */
  readonly signal?: AbortSignal;
}

export interface GenerateResult {
  readonly tokens: number[]; // generated ids (prompt excluded)
  readonly promptIds: number[]; // the prompt's ids (BOS included)
  readonly text: string; // prompt + generated text
  readonly promptTokens: number;
  readonly seconds: number;
}

export async function generate(model: ClientModel, chain: ShardChain, o: GenerateOptions): Promise<GenerateResult> {
  const c = model.config;
  const tok = model.tokenizer;
  const sampler = new Sampler(o);
  const prompt = o.promptIds !== undefined ? [...o.promptIds] : tok.encode(o.prompt, { bos: true });
  if (prompt.length + o.maxTokens > c.contextLength) {
    throw new RangeError(`prompt (${prompt.length} tokens) + max tokens (${o.maxTokens}) exceed the context of ${c.contextLength}`);
  }
  const decoder = tok.streamDecoder();
  let text = "";
  const emit = (s: string) => {
    if (s === "") return;
    text += s;
    o.onText?.(s);
  };
  for (const id of prompt) emit(decoder.push(id));

  const started = performance.now();
  const out: number[] = [];
  let pending = prompt; // positions not yet sent down the chain (the whole prompt first)
  // A chain that seals: tokens are shown once the window they came from is signed, and on
  // a rollback the generation goes back to the last seal (at most sealEvery steps).
  const every = chain.sealEvery ?? 0;
  let since = 0; // steps since the last seal
  let steps = 0;
  let ended = false;
  let sealed = { out: 0, pending: prompt };
  let shown = 0;
  const show = (upTo: number) => {
    for (; shown < upTo; shown++) {
      o.onToken?.(out[shown]);
      emit(decoder.push(out[shown]));
    }
  };
  const rollBack = () => {
    out.length = sealed.out;
    pending = sealed.pending;
    since = 0;
  };
  const seal = async (): Promise<boolean> => {
    try {
      await chain.seal!();
    } catch (err) {
      if (!(err instanceof RolledBackError)) throw err;
      rollBack();
      return false;
    }
    since = 0;
    sealed = { out: out.length, pending };
    show(out.length);
    return true;
  };
  for (;;) {
    if (out.length >= o.maxTokens || ended) {
      if (every > 0 && since > 0 && chain.seal !== undefined && !(await seal())) {
        ended = false;
        continue;
      }
      show(out.length);
      break;
    }
    o.signal?.throwIfAborted();
    const embedded = await model.embedding.run(new ort.Tensor("int64", BigInt64Array.from(pending.map(BigInt)), [1, pending.length]));
    let hidden: Float32Array;
    try {
      hidden = await chain.step(embedded.data as Float32Array, pending.length);
    } catch (err) {
      if (!(err instanceof RolledBackError)) throw err;
      rollBack();
      continue;
    }
    steps++;
    since++;
    const last = hidden.subarray((pending.length - 1) * c.dim, pending.length * c.dim);
    const logits = await model.head.run(new ort.Tensor("float32", Float32Array.from(last), [1, 1, c.dim]));
    const next = sampler.sample(logits.data as Float32Array);
    ended = (o.stopAtEos ?? true) && (next === tok.eos || next === tok.bos);
    if (!ended) {
      out.push(next);
      pending = [next];
    }
    if (every === 0) show(out.length);
    // the prompt's step is a window of its own; then every `every` decode steps
    else if (!ended && (steps === 1 || since >= every) && chain.seal !== undefined && !(await seal())) ended = false;
  }
  emit(decoder.flush());
  return { tokens: out, promptIds: prompt, text, promptTokens: prompt.length, seconds: (performance.now() - started) / 1000 };
}
