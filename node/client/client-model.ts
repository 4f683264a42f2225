// The Client's own part of the model (paper §3.1): the token embedding before the first
// server and the final norm and output head after the last, as onnxruntime sessions. One
// place for `efed generate --local`, the network client and the verifier's auditor.
import type { LoadedModel } from "../model/types.ts";
import { buildEmbeddingGraph, buildHeadGraph, type ClientMatrix } from "../model/onnx/layers.ts";
import { ClientGraph, type Device, type SessionExtras } from "../model/onnx/runtime.ts";
import type { ClientModel } from "./generate.ts";

/** The client's weights, in memory or left in the model file (then read from `externalDir`). */
export interface ClientWeights {
  readonly embedding: ClientMatrix;
  readonly outputNorm: Float32Array;
  readonly output: ClientMatrix;
  readonly externalDir?: string;
}

/** The client's weights of a model loaded into memory. */
export function clientWeightsOf(model: LoadedModel): ClientWeights {
  const w = model.weights;
  if (w.embedding === undefined || w.outputNorm === undefined || w.output === undefined) throw new Error("the model was loaded without the client's weights (embedding, output norm, output)");
  return { embedding: w.embedding, outputNorm: w.outputNorm, output: w.output };
}

/** Embedding and head sessions for `model` (both made at once). `quantized`: a Q8_0-exact
 * output matrix runs as int8 (layers.ts buildHeadGraph; `generate --local` only). `head`:
 * the head's session extras (a packed copy, `generate --local --pack-cache`; the embedding
 * only gathers rows, nothing is packed for it). */
export async function openClientModel(model: LoadedModel, device: Device = "cpu", w: ClientWeights = clientWeightsOf(model), o: { quantized?: boolean; head?: SessionExtras } = {}): Promise<ClientModel> {
  const c = model.config;
  const [embedding, head] = await Promise.all([ClientGraph.create(buildEmbeddingGraph(c, w.embedding), device, w.externalDir), ClientGraph.create(buildHeadGraph(c, w.outputNorm, w.output, { quantized: o.quantized }), device, w.externalDir, o.head)]);
  return { config: c, tokenizer: model.tokenizer, embedding, head };
}

export async function closeClientModel(m: ClientModel): Promise<void> {
  await Promise.all([m.embedding.release(), m.head.release()]);
}
