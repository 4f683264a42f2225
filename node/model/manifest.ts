// The model's identity on the ledger: sha256 over the config and the sha256 of every
// tensor's f32 values. A server that fetches only some layers can still check each tensor
// it receives against the manifest, and the manifest against the ledger.
import { createHash } from "node:crypto";
import { loadModel } from "./load.ts";
import { LAYER_MATRICES, type LlamaConfig, type LlamaWeights } from "./types.ts";

export type TensorHashes = [name: string, sha256: string][];

export function tensorHash(t: Float32Array): string {
  return createHash("sha256").update(new Uint8Array(t.buffer, t.byteOffset, t.byteLength)).digest("hex");
}

/** Every tensor of a fully loaded model, in canonical order. */
export function namedTensors(c: LlamaConfig, w: LlamaWeights): [string, Float32Array][] {
  const out: [string, Float32Array][] = [["embedding", w.embedding!]];
  for (let l = 0; l < c.nLayers; l++) {
    const L = w.layers[l]!;
    out.push([`layer.${l}.attnNorm`, L.attnNorm], [`layer.${l}.ffnNorm`, L.ffnNorm]);
    for (const m of LAYER_MATRICES) out.push([`layer.${l}.${m}`, L[m]]);
  }
  out.push(["outputNorm", w.outputNorm!], ["output", w.output!]);
  return out;
}

export function manifestRoot(c: LlamaConfig, hashes: TensorHashes): string {
  const canonical = JSON.stringify({
    config: [c.dim, c.hiddenDim, c.nLayers, c.nHeads, c.nKvHeads, c.headSize, c.vocabSize, c.contextLength, c.normEps, c.ropeTheta, c.ropeLayout],
    tensors: hashes,
  });
  return "0x" + createHash("sha256").update(canonical).digest("hex");
}

export function modelManifest(c: LlamaConfig, w: LlamaWeights): { root: string; hashes: TensorHashes } {
  const hashes: TensorHashes = namedTensors(c, w).map(([n, t]) => [n, tensorHash(t)]);
  return { root: manifestRoot(c, hashes), hashes };
}

/** The ledger's model hash for a model file or checkpoint directory. */
export async function modelHash(path: string): Promise<string> {
  const m = await loadModel(path);
  return modelManifest(m.config, m.weights).root;
}
