// The peer the model benchmark measures against: llama.cpp through node-llama-cpp (its
// prebuilt CPU binary, never a local build), timed the way our engine is timed — greedy
// decode from BOS, and one prefill of a fixed token list. Used only by bench-model.ts.

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

export interface PeerRun {
  readonly decodeTokensPerSecond: number;
  readonly prefillTokensPerSecond: number;
  readonly tokens: number[]; // greedy tokens after BOS
  readonly loadSeconds: number;
}

export async function llamaCppRun(file: string, o: { threads: number; decode: number; prefill: number[]; bos: number }): Promise<PeerRun> {
  const l = await (llama ??= loadLlama());
  const t0 = performance.now();
  const model = await l.loadModel({ modelPath: file, gpuLayers: 0 });
  const loadSeconds = (performance.now() - t0) / 1000;
  const context = await model.createContext({ contextSize: 512, batchSize: 512, threads: o.threads, sequences: 1 });
  try {
    const seq = context.getSequence();
    // decode: the first token comes from BOS's logits; the timed part is the rest
    const tokens: number[] = [];
    let t = 0;
    for await (const id of seq.evaluate([o.bos], { temperature: 0 })) {
      if (tokens.length === 0) t = performance.now();
      tokens.push(id);
      if (tokens.length >= o.decode) break;
    }
    const decodeTokensPerSecond = (tokens.length - 1) / ((performance.now() - t) / 1000);
    await seq.clearHistory();
    await seq.evaluateWithoutGeneratingNewTokens(o.prefill.slice(0, 8)); // warm
    await seq.clearHistory();
    const p = performance.now();
    await seq.evaluateWithoutGeneratingNewTokens(o.prefill);
    const prefillTokensPerSecond = o.prefill.length / ((performance.now() - p) / 1000);
    return { decodeTokensPerSecond, prefillTokensPerSecond, tokens, loadSeconds };
  } finally {
    await context.dispose();
    await model.dispose();
  }
}
