// Layers of a GGUF file left in the file: each f32 matrix is named by its place in the file
// (a "mapped" Linear) and onnxruntime reads it from there while it packs it, so a server's
// weights never pass through JS, the serialized graph or onnxruntime's protobuf copy; their
// only copy is onnxruntime's packed one (bench/model.json "serverMemory"). Matrices of other
// types (F16, Q8_0, Q4_0, Q4_K, Q6_K) are decoded as loadModel decodes them, into a scratch
// file onnxruntime maps (decodeToScratch) or else into the graph, except that a graph that
// keeps them quantized (local generation) takes Q8_0, Q4_0, Q4_K and Q6_K blocks as stored
// (quant.ts q8FromBlocks, q4FromBlocks; kquants.ts q4kToBlocks, q6kToBlocks); norms are read
// (tiny).
import { closeSync, openSync, readSync, rmSync, writeSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { scratchFolder } from "./scratch.ts";
import { ModelFormatError } from "./errors.ts";
import { byteSize, GGML_F32, GGML_Q4_0, GGML_Q4_K, GGML_Q6_K, GGML_Q8_0, toFloat32 } from "./dtypes.ts";
import { q4kToBlocks, q6kToBlocks } from "./kquants.ts";
import { ggufConfig, readGgufHeader, readTensor, readTensorBytes, type GgufFile } from "./gguf.ts";
import { exactQ8_0, offsetsForMatMul, q4FromBlocks, QUANT_BLOCK, q8FromBlocks, type BlockMatrix } from "./quant.ts";
import type { ClientMatrix, Linear, LinearSource, MappedLinear, BlockLinear, MappedBlockLinear } from "./onnx/layers.ts";
import { spmFromGguf } from "./tokenizer/spm.ts";
import type { Tokenizer } from "./tokenizer/types.ts";
import { LAYER_MATRICES, matrixShape, type LayerMatrix, type LlamaConfig, type LoadedModel } from "./types.ts";

/** Each layer matrix's tensor name in GGUF files. */
const TENSOR: Record<LayerMatrix, string> = { wq: "attn_q", wk: "attn_k", wv: "attn_v", wo: "attn_output", w1: "ffn_gate", w2: "ffn_down", w3: "ffn_up" };

export interface MappedLayers {
  readonly config: LlamaConfig;
  readonly norms: (layer: number) => { attnNorm: Float32Array; ffnNorm: Float32Array };
  readonly linear: LinearSource;
  /** The folder the mapped matrices' file is named in (runtime.ts `externalDir`). */
  readonly externalDir: string;
  /** The bytes the layers take in the file. */
  readonly bytes: number;
  /** Removes the scratch file of decoded matrices, if one was written (`scratch`), once no
   * session will be opened from the graph again. */
  release(): void;
}

/** Layers [start, end) of `file`. With `quantized` (a graph that runs Q8_0-exact values as
 * MatMulNBits, layers.ts), an f32 matrix whose first block is Q8_0-exact is read, so the
 * graph builder can look at all its values; any other is mapped: exactQ8_0 stops at the
 * first block that does not fit, so the graph is the one loadModel's weights give. A Q8_0,
 * Q4_0, Q4_K or Q6_K matrix comes as stored (quant.ts q8FromBlocks, q4FromBlocks; kquants.ts
 * q4kToBlocks, q6kToBlocks) for `quantized`, decoded otherwise; other types are decoded.
 * `header`: the file's, when the caller has parsed it already.
 * `scratch` (a server; a local run): where the layer matrices go when they are not all f32
 * in the file, in a file of their own that onnxruntime maps like the model's f32 matrices
 * (see decodeToScratch): decoded to f32, or for a `quantized` graph the blocks it takes as
 * stored, in MatMulNBits' form. Without it they travel in the graph. (With it, an f32
 * matrix of a file that needs a scratch file is copied, not read: a Q8_0-exact one runs as
 * f32.) */
export async function mapGgufLayers(file: string, start: number, end: number, o: { quantized?: boolean; header?: GgufFile; scratch?: string; say?: (line: string) => void } = {}): Promise<MappedLayers> {
  const g = o.header ?? (await readGgufHeader(file));
  const c = ggufConfig(g);
  if (!(Number.isInteger(start) && Number.isInteger(end) && 0 <= start && start < end && end <= c.nLayers)) {
    throw new ModelFormatError(`${file}: layers ${start}-${end} are outside the model's ${c.nLayers} layers`);
  }
  const norms = new Map<number, { attnNorm: Float32Array; ffnNorm: Float32Array }>();
  const linears = new Map<string, ReturnType<LinearSource>>();
  let bytes = 0;
  for (const t of g.tensors.values()) {
    const l = /^blk\.(\d+)\./.exec(t.name);
    if (l !== null && Number(l[1]) >= start && Number(l[1]) < end) bytes += byteSize(t.type, t.shape.reduce((a, b) => a * b, 1)) ?? 0;
  }
  // a quantized graph takes Q8_0, Q4_0, Q4_K and Q6_K blocks as stored; everything else in f32
  const asBlocks = (type: number | undefined) => o.quantized === true && BLOCK_TYPES.includes(type ?? -1);
  if (o.scratch !== undefined) {
    const decoded = decodeToScratch(g, c, start, end, o.scratch, asBlocks, o.say);
    if (decoded !== undefined) {
      try {
        for (let l = start; l < end; l++) {
          norms.set(l, { attnNorm: readTensor(g, `blk.${l}.attn_norm.weight`, [c.dim]), ffnNorm: readTensor(g, `blk.${l}.ffn_norm.weight`, [c.dim]) });
          for (const m of LAYER_MATRICES) linears.set(`${l}.${m}`, decoded.linears.get(`${l}.${m}`)!);
        }
      } catch (err) {
        decoded.release(); // a bad norm: the scratch folder goes with the error
        throw err;
      }
      return { config: c, norms: (l) => norms.get(l)!, linear: (l, m) => linears.get(`${l}.${m}`)!, externalDir: decoded.dir, bytes, release: decoded.release };
    }
  }
  for (let l = start; l < end; l++) {
    norms.set(l, { attnNorm: readTensor(g, `blk.${l}.attn_norm.weight`, [c.dim]), ffnNorm: readTensor(g, `blk.${l}.ffn_norm.weight`, [c.dim]) });
    for (const m of LAYER_MATRICES) {
      const name = `blk.${l}.${TENSOR[m]}.weight`;
      const [rows, cols] = matrixShape(c, m);
      const t = g.tensors.get(name);
      if (t !== undefined && t.type === GGML_F32 && !(o.quantized === true && firstBlockQ8(file, t.offset, cols))) {
        // readTensor checks the shape of what it reads; a mapped matrix is checked here
        if (t.shape.length !== 2 || t.shape[0] !== cols || t.shape[1] !== rows) {
          throw new ModelFormatError(`${file}: tensor ${name} has shape [${t.shape}] but the config implies [${cols},${rows}]`);
        }
        linears.set(`${l}.${m}`, { kind: "mapped", location: basename(file), offset: t.offset });
      } else linears.set(`${l}.${m}`, readLinear(g, name, rows, cols, o.quantized === true));
    }
  }
  return { config: c, norms: (l) => norms.get(l)!, linear: (l, m) => linears.get(`${l}.${m}`)!, externalDir: dirname(file), bytes, release: () => {} };
}

/** Name of the scratch file of layer matrices in its folder (decoded to f32, or blocks). */
const DECODED = "decoded.f32";

/**
 * Layer matrices a graph computes in f32 but the file stores in another type (F16, and in a
 * server's float graph Q8_0, Q4_0 and the K-quants) get their decoded f32 values. In the
 * graph (as initializers) they made a 300M Q8_0 server's graph 944 MB, serialized, handed to
 * the worker and parsed by onnxruntime, copy after copy: 10.46 s to load and 5.48 times the
 * layer bytes of RSS (bench/model.json "serverMemory"); and protobuf caps a graph at 2 GB, a
 * model of about 500M parameters in f32. Written instead to a scratch file in a folder of this
 * process under `parent`, every layer matrix (f32 ones copied: a graph reads its external
 * weights from one folder) is mapped from there as f32 matrices are from the model file:
 * onnxruntime reads them while it packs them. The blocks a `quantized` graph takes as stored
 * (`asBlocks`) go there too, in MatMulNBits' form (with Q4_K's offsets laid out for MatMul):
 * in the graph they were copied into the protobuf and out of it again (300M Q8_0: 0.93 s to
 * load, 0.2 s of it those copies), and their JS copies stayed alive as long as the engine.
 * The folder stays while sessions may still be opened from the graph (a batching server opens
 * its second one late) and is removed by `release` (or, after a crash, by the next process
 * that makes one, scratch.ts). Undefined when every matrix is f32 (nothing to decode) or the
 * file cannot be written (the values then go in the graph, as before).
 */
function decodeToScratch(g: GgufFile, c: LlamaConfig, start: number, end: number, parent: string, asBlocks: (type: number | undefined) => boolean, say?: (line: string) => void): { dir: string; linears: Map<string, MappedLinear | MappedBlockLinear>; release: () => void } | undefined {
  const names: [string, string, number, number][] = [];
  for (let l = start; l < end; l++) {
    for (const m of LAYER_MATRICES) {
      const [rows, cols] = matrixShape(c, m);
      names.push([`${l}.${m}`, `blk.${l}.${TENSOR[m]}.weight`, rows, cols]);
    }
  }
  if (names.every(([, name]) => g.tensors.get(name)?.type === GGML_F32)) return undefined;
  let dir: string | undefined;
  let fd: number | undefined;
  const release = () => {
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  };
  try {
    dir = scratchFolder(parent, "efed-decoded");
    fd = openSync(join(dir, DECODED), "w", 0o600);
    const linears = new Map<string, MappedLinear | MappedBlockLinear>();
    let offset = 0;
    /** Writes `data` at the next 64-byte boundary; returns where. */
    const put = (data: ArrayBufferView): number => {
      const at = offset;
      if (writeSync(fd!, new Uint8Array(data.buffer, data.byteOffset, data.byteLength), 0, data.byteLength, at) !== data.byteLength) throw new Error("short write (disk full?)");
      offset += Math.ceil(data.byteLength / 64) * 64;
      return at;
    };
    for (const [key, name, rows, cols] of names) {
      const { type, bytes, n } = readTensorBytes(g, name, [cols, rows]);
      const m = asBlocks(type) ? FROM_BLOCKS.get(type)?.(bytes, rows, cols) : undefined;
      if (m !== undefined) {
        const at = { q: put(m.q), scales: put(m.scales), ...(m.offsets === undefined ? {} : { offsets: put(offsetsForMatMul(m)) }) };
        linears.set(key, { kind: "mappedBlocks", shape: { bits: m.bits, block: m.block, rows, cols }, location: DECODED, at });
      } else {
        const w = type === GGML_F32 ? new Float32Array(bytes.buffer, 0, n) : toFloat32(type, bytes, n);
        linears.set(key, { kind: "mapped", location: DECODED, offset: put(w) });
      }
    }
    return { dir, linears, release };
  } catch (err) {
    release();
    // a malformed tensor is the model's fault, not the folder's: said as it is
    if (err instanceof ModelFormatError) throw err;
    // a full or small temporary folder: the values go in the graph (a model of over ~500M
    // parameters then exceeds protobuf's 2 GB), said so the error that follows has a cause
    say?.(`could not write the decoded layers to ${parent} (${(err as Error).message}): they go in the graph instead`);
    return undefined;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** What a `quantized` graph takes as stored, by GGUF type: each in MatMulNBits' form. */
const FROM_BLOCKS = new Map<number, (bytes: Uint8Array, rows: number, cols: number) => BlockMatrix | undefined>([
  [GGML_Q8_0, q8FromBlocks],
  [GGML_Q4_0, q4FromBlocks],
  [GGML_Q4_K, q4kToBlocks],
  [GGML_Q6_K, q6kToBlocks],
]);
const BLOCK_TYPES = [...FROM_BLOCKS.keys()];

/** A matrix read from the file: a Q8_0, Q4_0, Q4_K or Q6_K one for a `quantized` graph in
 * MatMulNBits' form straight from its blocks (quant.ts, kquants.ts), anything else decoded
 * to f32. */
function readLinear(g: GgufFile, name: string, rows: number, cols: number, quantized: boolean): Linear | BlockLinear {
  const { type, bytes, n } = readTensorBytes(g, name, [cols, rows]);
  const fromBlocks = quantized ? FROM_BLOCKS.get(type) : undefined;
  const m = fromBlocks?.(bytes, rows, cols);
  if (m !== undefined) return { kind: "blocks", m };
  return { kind: "dense", w: type === GGML_F32 ? new Float32Array(bytes.buffer, 0, n) : toFloat32(type, bytes, n) };
}

/** Whether the first Q8_0 block of the f32 matrix at `offset` decodes exactly (quant.ts). */
function firstBlockQ8(file: string, offset: number, cols: number): boolean {
  if (cols % QUANT_BLOCK !== 0) return false;
  const bytes = new Uint8Array(4 * QUANT_BLOCK);
  const fd = openSync(file, "r");
  try {
    readSync(fd, bytes, 0, bytes.length, offset);
  } finally {
    closeSync(fd);
  }
  return exactQ8_0(new Float32Array(bytes.buffer), 1, QUANT_BLOCK) !== undefined;
}

/** The client's part of `file` (embedding, final norm, output head) with its config and
 * tokenizer, f32 matrices left in the file; `model.weights` holds no weights. `quantized`:
 * a Q8_0 embedding and a Q8_0, Q4_0, Q4_K or Q6_K output matrix come as stored, for graphs that keep
 * them quantized (layers.ts). `header`: the file's, when the caller has parsed it already. */
export async function mapGgufClient(file: string, o: { quantized?: boolean; header?: GgufFile } = {}): Promise<{ model: LoadedModel; embedding: ClientMatrix; outputNorm: Float32Array; output: ClientMatrix; externalDir: string }> {
  const g = o.header ?? (await readGgufHeader(file));
  const c = ggufConfig(g);
  let tokenizer: Tokenizer;
  try {
    tokenizer = spmFromGguf(g.metadata, file);
  } catch (err) {
    throw new ModelFormatError((err as Error).message);
  }
  const matrix = (name: string): ClientMatrix => {
    const t = g.tensors.get(name);
    if (t === undefined || t.type !== GGML_F32 || t.shape.length !== 2 || t.shape[0] !== c.dim || t.shape[1] !== c.vocabSize) return readTensor(g, name, [c.dim, c.vocabSize]);
    return { kind: "mapped", location: basename(file), offset: t.offset };
  };
  // quantized graphs take block matrices as they are stored: the head runs a Q8_0, Q4_0,
  // Q4_K or Q6_K output matrix as MatMulNBits and the embedding gathers a Q8_0 table's rows
  // as int8 (layers.ts; other tables are decoded)
  const blocks = (name: string, types: number[]): BlockLinear | undefined => {
    if (o.quantized !== true || !types.includes(g.tensors.get(name)?.type ?? -1)) return undefined;
    const read = readLinear(g, name, c.vocabSize, c.dim, true);
    return read.kind === "blocks" ? read : undefined;
  };
  const embedding = blocks("token_embd.weight", [GGML_Q8_0]) ?? matrix("token_embd.weight");
  // a model without output.weight ties its head to the embedding's table (read again as
  // blocks only where the embedding decoded it: Q4_0)
  const tiedBlocks = () => (embedding instanceof Float32Array || embedding.kind !== "blocks" ? (blocks("token_embd.weight", [GGML_Q4_0, GGML_Q4_K, GGML_Q6_K]) ?? embedding) : embedding);
  const output = g.tensors.has("output.weight") ? (blocks("output.weight", BLOCK_TYPES) ?? matrix("output.weight")) : tiedBlocks();
  const model: LoadedModel = { file, format: "gguf", config: c, weights: { layers: new Array(c.nLayers).fill(undefined) }, tokenizer };
  return { model, embedding, outputNorm: readTensor(g, "output_norm.weight", [c.dim]), output, externalDir: dirname(file) };
}
