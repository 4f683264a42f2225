// Q8_0 weights kept quantized in the graph. A layer matrix runs as com.microsoft
// MatMulNBits (8 bits, blocks of 32 along the input, one scale a block) when its f32 values
// are exactly what Q8_0 decodes to; otherwise as a float MatMul.
//
// Why decide from the values and not from the file's tensor type: every party that holds
// the same model (the same manifest root, which hashes the f32 values) must build the same
// graph, or an honest server would fail the verifier's re-check. A server that fetched its
// layers over /efed/weights/1 receives f32 values only; this rule gives it the graph the
// verifier builds from the GGUF file.
//
// MatMulNBits on the CPU provider (onnxruntime 1.30, checked by test/node/model/quant.test.ts):
// with accuracy_level 4 it quantizes each block of 32 activations to int8 (scale amax/127)
// and multiplies in integers, as llama.cpp's Q8_0 kernels do; with float accuracy levels the
// 8-bit kernel dequantizes the whole matrix on every run (30× slower than a float MatMul), so
// level 4 is the only one that pays. reference.ts models the activation rounding.

import { endianness } from "node:os";
import { floatToHalf, halfTable, halfToFloat } from "./dtypes.ts";

export const Q8_BLOCK = 32;

/** A matrix [rows][cols] as MatMulNBits takes it: B [rows][cols/32][32] of q + 128 (the
 * default zero point of 8-bit MatMulNBits), and one float scale per block. */
export interface Q8Matrix {
  readonly rows: number;
  readonly cols: number;
  readonly q: Uint8Array; // [rows·cols]
  readonly scales: Float32Array; // [rows·cols/32]
}

/** The Q8_0 form of w [rows][cols] if every block decodes back to exactly its values (scale
 * the f16 nearest amax/127, as llama.cpp quantizes), else undefined. Stops at the first block
 * that does not fit, so float models pay almost nothing for the check. */
export function exactQ8_0(w: Float32Array, rows: number, cols: number): Q8Matrix | undefined {
  if (cols % Q8_BLOCK !== 0 || w.length !== rows * cols) return undefined;
  const q = new Uint8Array(w.length);
  const scales = new Float32Array(w.length / Q8_BLOCK);
  for (let b = 0; b < scales.length; b++) {
    const base = b * Q8_BLOCK;
    let amax = 0;
    for (let j = 0; j < Q8_BLOCK; j++) amax = Math.max(amax, Math.abs(w[base + j]));
    const d = halfToFloat(floatToHalf(amax / 127));
    scales[b] = d;
    for (let j = 0; j < Q8_BLOCK; j++) {
      const v = w[base + j];
      const k = d === 0 ? 0 : Math.round(v / d);
      if (k < -127 || k > 127 || Math.fround(d * k) !== v) return undefined;
      q[base + j] = k + 128;
    }
  }
  return { rows, cols, q, scales };
}

/** Bytes of one GGUF Q8_0 block: an f16 scale, then 32 int8 values. */
const Q8_BLOCK_BYTES = 2 + Q8_BLOCK;

/** A GGUF Q8_0 tensor [rows][cols] in MatMulNBits' form straight from its blocks: each
 * block's int8 values + 128 (two at a time, as 16-bit words) and its f16 scale, nothing
 * decoded (a 300M model's matrices took 14 s through f32 and exactQ8_0). MatMulNBits then
 * computes with exactly the values the blocks decode to. Unlike exactQ8_0 it takes every
 * block as stored, also one llama.cpp would not write (a scale that is not amax/127):
 * only a `quantized` graph (local generation) uses it, so no other party must build the
 * same graph. `blocks` must start at an even byte (a buffer of its own does); the scales are
 * read as 16-bit words, so a big-endian host gets undefined (and exactQ8_0's way). */
export function q8FromBlocks(blocks: Uint8Array, rows: number, cols: number): Q8Matrix | undefined {
  const n = rows * cols;
  if (cols % Q8_BLOCK !== 0 || blocks.length !== (n / Q8_BLOCK) * Q8_BLOCK_BYTES || blocks.byteOffset % 2 !== 0 || endianness() !== "LE") return undefined;
  const halves = halfTable();
  const words = new Uint16Array(blocks.buffer, blocks.byteOffset, blocks.length / 2);
  const q = new Uint8Array(n);
  const qWords = new Uint16Array(q.buffer);
  const scales = new Float32Array(n / Q8_BLOCK);
  for (let b = 0, i = 0, o = 0; b < scales.length; b++) {
    scales[b] = halves[words[i++]];
    for (let k = 0; k < Q8_BLOCK / 2; k++) qWords[o++] = words[i++] ^ 0x8080;
  }
  return { rows, cols, q, scales };
}

/** The values a Q8Matrix stands for, [rows][cols] f32 (a graph that runs it as float). */
export function q8Values(m: Q8Matrix): Float32Array {
  const out = new Float32Array(m.q.length);
  for (let i = 0; i < out.length; i++) out[i] = m.scales[(i / Q8_BLOCK) | 0] * (m.q[i] - 128);
  return out;
}

/** Each block of 32 activations rounded as MatMulNBits' int8 path rounds them (scale amax/127
 * in f32, values to the nearest integer, ties to even): the reference's side of the check. */
export function quantizeActivations(x: Float64Array): Float64Array {
  const out = new Float64Array(x.length);
  for (let base = 0; base < x.length; base += Q8_BLOCK) {
    let amax = 0;
    for (let j = 0; j < Q8_BLOCK; j++) amax = Math.max(amax, Math.abs(Math.fround(x[base + j])));
    const scale = Math.fround(amax / 127);
    const inv = scale === 0 ? 0 : Math.fround(127 / amax);
    for (let j = 0; j < Q8_BLOCK; j++) out[base + j] = roundEven(Math.fround(Math.fround(x[base + j]) * inv)) * scale;
  }
  return out;
}

function roundEven(v: number): number {
  const r = Math.round(v);
  return Math.abs(v % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}
