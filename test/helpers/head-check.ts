// A local head graph held to the float64 reference on random hidden states (not embedding
// rows, which a scaled quantized row may make exact in int8 already): the relative errors
// of its logits against the reference with int8 activations, and against plain float ones
// (the quant tests assert the first tiny and the second not, so the int8 path is shown taken).
import * as ort from "onnxruntime-node";
import { ClientGraph } from "../../node/model/onnx/runtime.ts";
import { normal } from "../../node/model/random.ts";
import { int8MatVec, matmul, rmsnorm } from "../../node/model/reference.ts";
import type { LlamaConfig, LlamaWeights } from "../../node/model/types.ts";
import { relErr } from "./numeric.ts";

/** `block`: the activations' block, the weights' (32; Q6_K's 16); `offsets`: the output
 * matrix's block offsets, if it has them (Q4_K's). */
export async function headErrors(c: LlamaConfig, w: LlamaWeights, graph: Uint8Array, seed: number, block = 32, offsets?: Float32Array): Promise<{ int8: number[]; float: number[] }> {
  const head = await ClientGraph.create(graph, "cpu");
  const int8: number[] = [];
  const float: number[] = [];
  const rand = normal(seed);
  try {
    for (let i = 0; i < 4; i++) {
      const x = Float64Array.from({ length: c.dim }, () => Math.fround(rand()));
      const logits = (await head.run(new ort.Tensor("float32", Float32Array.from(x), [1, 1, c.dim]))).data as Float32Array;
      const normed = rmsnorm(x, w.outputNorm!, c.normEps);
      int8.push(relErr(logits, int8MatVec(w.output!, normed, c.vocabSize, offsets, block)));
      float.push(relErr(logits, matmul(w.output!, normed, c.vocabSize)));
    }
  } finally {
    await head.release();
  }
  return { int8, float };
}
