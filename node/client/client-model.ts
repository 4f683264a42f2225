// The Client's own part of the model (paper §3.1): the token embedding before the first
// server and the final norm and output head after the last, as onnxruntime sessions. One
// place for `efed generate --local`, the network client and the verifier's auditor.
import type { LoadedModel } from "../model/types.ts";
import { buildEmbeddingGraph, buildHeadGraph } from "../model/onnx/layers.ts";
import { ClientGraph, type Device } from "../model/onnx/runtime.ts";
import type { ClientModel } from "./generate.ts";

/** Embedding and head sessions for `model` (which must hold its embedding, output norm and output). */
export async function openClientModel(model: LoadedModel, device: Device = "cpu"): Promise<ClientModel> {
  const c = model.config;
  const w = model.weights;
  if (w.embedding === undefined || w.outputNorm === undefined || w.output === undefined) throw new Error("the model was loaded without the client's weights (embedding, output norm, output)");
  const [embedding, head] = await Promise.all([ClientGraph.create(buildEmbeddingGraph(c, w.embedding), device), ClientGraph.create(buildHeadGraph(c, w.outputNorm, w.output), device)]);
  return { config: c, tokenizer: model.tokenizer, embedding, head };
}

export async function closeClientModel(m: ClientModel): Promise<void> {
  await Promise.all([m.embedding.release(), m.head.release()]);
}
