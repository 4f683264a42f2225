// The peer the model benchmark measures against: llama.cpp through node-llama-cpp (its
// prebuilt CPU binary, never a local build), timed the way our engine is timed — greedy
// decode from BOS, and one prefill of a fixed token list. Used only by bench-vs-llama.ts.

// The few parts of node-llama-cpp's API used here. It is imported by a computed name so the
// project type-checks and runs without it; only this benchmark needs it.
interface Sequence {
  evaluate(tokens: number[], o: { temperature: number }): AsyncGenerator<number>;
  evaluateWithoutGeneratingNewTokens(tokens: number[]): Promise<void>;
  clearHistory(): Promise<void>;
}
interface Llama {
  loadModel(o: { modelPath: string; gpuLayers: number }): Promise<{
    createContext(o: { contextSize: number; batchSize: number; threads: number; sequences: number }): Promise<{ getSequence(): Sequence; dispose(): Promise<void> }>;
    dispose(): Promise<void>;
  }>;
}
const PACKAGE = "node-llama-cpp";

async function loadLlama(): Promise<Llama> {
  let mod: { getLlama(o: object): Promise<Llama> };
  try {
    mod = (await import(PACKAGE)) as typeof mod;
  } catch {
    throw new Error(`the llama.cpp comparison needs ${PACKAGE}: npm i -E -D ${PACKAGE}@3.21.1`);
  }
  return mod.getLlama({ gpu: false, build: "never", logLevel: "error" });
}

let llama: Promise<Llama> | undefined;

/** An engine open on a model file, timed the same way for both engines (bench-vs-llama.ts
 * calls them in turns, so a load spike on this shared machine hits both). */
export interface TimedEngine {
  readonly loadSeconds: number;
  /** Greedy decode from BOS: tokens/s after the first token, and the tokens after BOS. */
  decode(): Promise<{ tokensPerSecond: number; tokens: number[] }>;
  /** One prefill of the fixed token list: tokens/s. */
  prefill(): Promise<number>;
  close(): Promise<void>;
}

export async function openLlamaCpp(file: string, o: { threads: number; decode: number; prefill: number[]; bos: number }): Promise<TimedEngine> {
  const l = await (llama ??= loadLlama());
  const t0 = performance.now();
  const model = await l.loadModel({ modelPath: file, gpuLayers: 0 });
  const loadSeconds = (performance.now() - t0) / 1000;
  const context = await model.createContext({ contextSize: 512, batchSize: 512, threads: o.threads, sequences: 1 });
  const seq = context.getSequence();
  let warm = false;
  return {
    loadSeconds,
    async decode() {
      await seq.clearHistory();
      // the first token comes from BOS's logits; the timed part is the rest
      const tokens: number[] = [];
      let t = 0;
      for await (const id of seq.evaluate([o.bos], { temperature: 0 })) {
        if (tokens.length === 0) t = performance.now();
        tokens.push(id);
        if (tokens.length >= o.decode) break;
      }
      return { tokensPerSecond: (tokens.length - 1) / ((performance.now() - t) / 1000), tokens };
    },
    async prefill() {
      if (!warm) {
        await seq.clearHistory();
        await seq.evaluateWithoutGeneratingNewTokens(o.prefill.slice(0, 8));
        warm = true;
      }
      await seq.clearHistory();
      const p = performance.now();
      await seq.evaluateWithoutGeneratingNewTokens(o.prefill);
      return o.prefill.length / ((performance.now() - p) / 1000);
    },
    async close() {
      await context.dispose();
      await model.dispose();
    },
  };
}
