// Q8_0 and Q4_0 weights kept quantized in the graph. A layer matrix runs as com.microsoft
// MatMulNBits (8 or 4 bits, blocks of 32 along the input, one scale a block) when its f32
// values are exactly what Q8_0 decodes to, or when the GGUF file stores it as Q8_0 or Q4_0
// (taken as stored, local generation only; Q6_K too, as 8 bits in blocks of 16, and Q4_K as
// 4 bits with an offset a block: kquants.ts);
// otherwise as a float MatMul.
//
// Why decide from the values and not from the file's tensor type: every party that holds
// the same model (the same manifest root, which hashes the f32 values) must build the same
// graph, or an honest server would fail the verifier's re-check. A server that fetched its
// layers over /efed/weights/1 receives f32 values only; this rule gives it the graph the
// verifier builds from the GGUF file. (Servers and verifiers now run float graphs in any
// case: local.ts. Q4_0 blocks are therefore only ever taken from the file.)
//
// MatMulNBits on the CPU provider (onnxruntime 1.30, checked by test/node/model/quant.test.ts
// and quant-q4.test.ts): with accuracy_level 4 it quantizes each block of 32 activations to
// int8 (scale amax/127) and multiplies in integers, as llama.cpp's Q8_0 and Q4_0 kernels do;
// with float accuracy levels the 8-bit kernel dequantizes the whole matrix on every run (30×
// slower than a float MatMul), so level 4 is the only one that pays. reference.ts models the
// activation rounding — exactly for the 8-bit kernel; the 4-bit one rounds some activations
// otherwise where they lie on a coarse grid (a decoded Q4_0 embedding row, normalized: ~3e-3
// on such a row), which the tests avoid by feeding other inputs.

import { endianness } from "node:os";
import { floatToHalf, halfTable, halfToFloat } from "./dtypes.ts";

export const QUANT_BLOCK = 32;

/** A matrix [rows][cols] as MatMulNBits takes it: one float scale per block of 32 (16 for
 * Q6_K's, kquants.ts) along a row, and B [rows][cols/block][block·bits/8]: at 8 bits each
 * value's q + 128, at 4 bits two values a byte (the first in the low nibble) of q + 8 — the
 * default zero points of MatMulNBits, so a value is scale · (B − 128) or scale · (B − 8).
 * `offsets` (Q4_K's, kquants.ts q4kToBlocks): one float a block, added to each of its
 * values; the graph adds it times the block's sum of activations (layers.ts int8MatMul). */
export interface BlockMatrix {
  readonly bits: 4 | 8;
  readonly block: 16 | 32;
  readonly rows: number;
  readonly cols: number;
  readonly q: Uint8Array; // [rows·cols·bits/8]
  readonly scales: Float32Array; // [rows·cols/block]
  readonly offsets?: Float32Array; // [rows·cols/block]
}

/** The Q8_0 form of w [rows][cols] if every block decodes back to exactly its values (scale
 * the f16 nearest amax/127, as llama.cpp quantizes), else undefined. Stops at the first block
 * that does not fit, so float models pay almost nothing for the check. */
export function exactQ8_0(w: Float32Array, rows: number, cols: number): BlockMatrix | undefined {
  if (cols % QUANT_BLOCK !== 0 || w.length !== rows * cols) return undefined;
  const q = new Uint8Array(w.length);
  const scales = new Float32Array(w.length / QUANT_BLOCK);
  for (let b = 0; b < scales.length; b++) {
    const base = b * QUANT_BLOCK;
    let amax = 0;
    for (let j = 0; j < QUANT_BLOCK; j++) amax = Math.max(amax, Math.abs(w[base + j]));
    const d = halfToFloat(floatToHalf(amax / 127));
    scales[b] = d;
    for (let j = 0; j < QUANT_BLOCK; j++) {
      const v = w[base + j];
      const k = d === 0 ? 0 : Math.round(v / d);
      if (k < -127 || k > 127 || Math.fround(d * k) !== v) return undefined;
      q[base + j] = k + 128;
    }
  }
  return { bits: 8, block: QUANT_BLOCK, rows, cols, q, scales };
}

/** Bytes of one GGUF Q8_0 block: an f16 scale, then 32 int8 values. */
const Q8_BLOCK_BYTES = 2 + QUANT_BLOCK;

/** A GGUF Q8_0 tensor [rows][cols] in MatMulNBits' form straight from its blocks: each
 * block's int8 values + 128 and its f16 scale, nothing decoded (a 300M model's matrices took
 * 14 s through f32 and exactQ8_0). MatMulNBits then computes with exactly the values the
 * blocks decode to. Unlike exactQ8_0 it takes every block as stored, also one llama.cpp would
 * not write (a scale that is not amax/127): only a `quantized` graph (local generation) uses
 * it, so no other party must build the same graph. `blocks` must start at a multiple of 4
 * bytes (a buffer of its own does); the scales are read as 16-bit words and the values as
 * 32-bit ones, so a big-endian host gets undefined (and exactQ8_0's way). */
export function q8FromBlocks(blocks: Uint8Array, rows: number, cols: number): BlockMatrix | undefined {
  const n = rows * cols;
  const count = n / QUANT_BLOCK;
  if (cols % QUANT_BLOCK !== 0 || blocks.length !== count * Q8_BLOCK_BYTES || blocks.byteOffset % 4 !== 0 || endianness() !== "LE") return undefined;
  const halves = halfTable();
  const halfWords = new Uint16Array(blocks.buffer, blocks.byteOffset, blocks.length >> 1);
  const words = new Uint32Array(blocks.buffer, blocks.byteOffset, blocks.length >> 2);
  const q = new Uint8Array(n);
  const out = new Uint32Array(q.buffer);
  const scales = new Float32Array(count);
  // two blocks (68 bytes, 17 words) at a time, four values a 32-bit operation: the first
  // block's values start 2 bytes into a word, so each of its words is made of two; the
  // second's are whole words (1.4 ms against 2.6 with 16-bit words for a 2816×1024 matrix
  // here, a throwaway measurement)
  let b = 0;
  for (let i = 0, o = 0; b + 1 < count; b += 2, i += 17, o += 16) {
    scales[b] = halves[halfWords[2 * i]];
    scales[b + 1] = halves[halfWords[2 * i + 17]];
    for (let k = 0; k < 8; k++) out[o + k] = ((words[i + k] >>> 16) | (words[i + k + 1] << 16)) ^ 0x80808080;
    for (let k = 0; k < 8; k++) out[o + 8 + k] = words[i + 9 + k] ^ 0x80808080;
  }
  if (b < count) {
    // an odd last block: 16-bit words
    const h = (b * Q8_BLOCK_BYTES) >> 1;
    const outHalves = new Uint16Array(q.buffer);
    scales[b] = halves[halfWords[h]];
    for (let k = 0; k < QUANT_BLOCK / 2; k++) outHalves[(b * QUANT_BLOCK) / 2 + k] = halfWords[h + 1 + k] ^ 0x8080;
  }
  return { bits: 8, block: QUANT_BLOCK, rows, cols, q, scales };
}

/** Bytes of one GGUF Q4_0 block: an f16 scale, then 32 4-bit values (q + 8) in 16 bytes. */
const Q4_BLOCK_BYTES = 2 + QUANT_BLOCK / 2;

/** A GGUF Q4_0 tensor [rows][cols] in 4-bit MatMulNBits' form straight from its blocks. Both
 * store q + 8 in nibbles and decode scale · (nibble − 8), so only the nibbles' order
 * changes: GGUF keeps value j in the low nibble of byte j and value j + 16 in its high
 * nibble, MatMulNBits values 2k and 2k + 1 in byte k. Read as 16-bit words (two bytes of
 * the block each), like q8FromBlocks: undefined where it cannot (an odd start, a big-endian
 * host) or for a tensor of the wrong size. */
export function q4FromBlocks(blocks: Uint8Array, rows: number, cols: number): BlockMatrix | undefined {
  const n = rows * cols;
  if (cols % QUANT_BLOCK !== 0 || blocks.length !== (n / QUANT_BLOCK) * Q4_BLOCK_BYTES || blocks.byteOffset % 2 !== 0 || endianness() !== "LE") return undefined;
  const halves = halfTable();
  const words = new Uint16Array(blocks.buffer, blocks.byteOffset, blocks.length / 2);
  const q = new Uint8Array(n / 2);
  const scales = new Float32Array(n / QUANT_BLOCK);
  for (let b = 0, i = 0, o = 0; b < scales.length; b++, i += 9, o += 16) {
    scales[b] = halves[words[i]];
    for (let k = 0; k < 8; k++) {
      const w = words[i + 1 + k]; // bytes 2k and 2k + 1 of the block's values
      q[o + k] = (w & 0x0f) | ((w >> 4) & 0xf0); // values 2k, 2k + 1: the low nibbles
      q[o + 8 + k] = ((w >> 4) & 0x0f) | ((w >> 8) & 0xf0); // values 2k + 16, 2k + 17: the high ones
    }
  }
  return { bits: 4, block: QUANT_BLOCK, rows, cols, q, scales };
}

/** A BlockMatrix's offsets [rows][cols/block] as a MatMul of block sums takes them,
 * [cols/block][rows] (layers.ts int8MatMul). */
export function offsetsForMatMul(q: BlockMatrix): Float32Array {
  const blocks = q.cols / q.block;
  const out = new Float32Array(q.offsets!.length);
  for (let r = 0; r < q.rows; r++) for (let k = 0; k < blocks; k++) out[k * q.rows + r] = q.offsets![r * blocks + k];
  return out;
}

/** The values a BlockMatrix stands for, [rows][cols] f32 (a graph that runs it as float). */
export function blockValues(m: BlockMatrix): Float32Array {
  const out = new Float32Array(m.rows * m.cols);
  if (m.bits === 8) for (let i = 0; i < out.length; i++) out[i] = m.scales[(i / m.block) | 0] * (m.q[i] - 128);
  else for (let i = 0; i < out.length; i++) out[i] = m.scales[(i / m.block) | 0] * (((m.q[i >> 1] >> ((i & 1) * 4)) & 0x0f) - 8);
  const o = m.offsets;
  if (o !== undefined) for (let i = 0; i < out.length; i++) out[i] += o[(i / m.block) | 0];
  return out;
}

/** Each block of `block` activations (the weights' block size) rounded as MatMulNBits' int8
 * path rounds them (scale amax/127 in f32, values to the nearest integer, ties to even): the
 * reference's side of the check. */
export function quantizeActivations(x: Float64Array, block = QUANT_BLOCK): Float64Array {
  const out = new Float64Array(x.length);
  for (let base = 0; base < x.length; base += block) {
    let amax = 0;
    for (let j = 0; j < block; j++) amax = Math.max(amax, Math.abs(Math.fround(x[base + j])));
    const scale = Math.fround(amax / 127);
    const inv = scale === 0 ? 0 : Math.fround(127 / amax);
    for (let j = 0; j < block; j++) out[base + j] = roundEven(Math.fround(Math.fround(x[base + j]) * inv)) * scale;
  }
  return out;
}

function roundEven(v: number): number {
  const r = Math.round(v);
  return Math.abs(v % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}
