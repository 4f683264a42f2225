// GGUF's K-quants Q4_K and Q6_K (the bulk of llama.cpp's Q4_K_M and Q6_K files): decoded to
// f32 as llama.cpp's dequantize_row_q4_K / dequantize_row_q6_K decode them, in f32
// arithmetic step for step (a product, then the difference: no fused multiply-add), so every
// party that decodes a file gets the same values. Super-blocks of 256 values:
//   Q4_K (144 bytes): d, dmin (f16); 12 bytes of 6-bit scales and mins for 8 sub-blocks of 32;
//        128 bytes of 4-bit q. A value is d·scale·q − dmin·min.
//   Q6_K (210 bytes): 128 bytes of the low 4 bits of q, 64 of its high 2 bits, 16 int8 scales
//        (one per 16 values), d (f16). A value is d·scale·(q − 32).
// The encoders are simple, not llama.cpp's (which search for the best scales): valid blocks
// for tests and synthetic models.
import { endianness } from "node:os";
import { floatToHalf, halfTable, halfToFloat } from "./half.ts";
import type { BlockMatrix } from "./quant.ts";

export const QK_K = 256;
export const Q4_K_BYTES = 144;
export const Q6_K_BYTES = 210;

const f = Math.fround;

/** Sub-block j's 6-bit scale and min from a Q4_K block's 12 scale bytes at `o` (llama.cpp's
 * get_scale_min_k4): the first four in the low 6 bits of bytes 0–3 and 4–7; the last four
 * in the nibbles of bytes 8–11, their top 2 bits in the top bits of bytes 0–7. (Two
 * functions, not one returning a pair: a million blocks a 300M model, eight pairs each.) */
const scaleOf = (s: Uint8Array, o: number, j: number) => (j < 4 ? s[o + j] & 63 : (s[o + j + 4] & 0xf) | ((s[o + j - 4] >> 6) << 4));
const minOf = (s: Uint8Array, o: number, j: number) => (j < 4 ? s[o + j + 4] & 63 : (s[o + j + 4] >> 4) | ((s[o + j] >> 6) << 4));

export function decodeQ4_K(bytes: Uint8Array, n: number): Float32Array {
  const out = new Float32Array(n);
  const halves = halfTable();
  for (let b = 0, base = 0, y = 0; b < n / QK_K; b++, base += Q4_K_BYTES) {
    const d = halves[bytes[base] | (bytes[base + 1] << 8)];
    const dmin = halves[bytes[base + 2] | (bytes[base + 3] << 8)];
    const scales = base + 4;
    let q = base + 16;
    for (let j = 0; j < 8; j += 2, q += 32) {
      const d1 = f(d * scaleOf(bytes, scales, j));
      const min1 = f(dmin * minOf(bytes, scales, j));
      const d2 = f(d * scaleOf(bytes, scales, j + 1));
      const min2 = f(dmin * minOf(bytes, scales, j + 1));
      for (let l = 0; l < 32; l++) out[y++] = f(d1 * (bytes[q + l] & 0xf)) - min1;
      for (let l = 0; l < 32; l++) out[y++] = f(d2 * (bytes[q + l] >> 4)) - min2;
    }
  }
  return out;
}

export function decodeQ6_K(bytes: Uint8Array, n: number): Float32Array {
  const out = new Float32Array(n);
  const halves = halfTable();
  const signed = new Int8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let b = 0, base = 0, y = 0; b < n / QK_K; b++, base += Q6_K_BYTES, y += QK_K) {
    const d = halves[bytes[base + 208] | (bytes[base + 209] << 8)];
    for (let half = 0; half < 2; half++) {
      const ql = base + 64 * half;
      const qh = base + 128 + 32 * half;
      const sc = base + 192 + 8 * half;
      const o = y + 128 * half;
      for (let l = 0; l < 32; l++) {
        const is = l >> 4;
        const h = bytes[qh + l];
        out[o + l] = f(d * signed[sc + is]) * (((bytes[ql + l] & 0xf) | ((h & 3) << 4)) - 32);
        out[o + l + 32] = f(d * signed[sc + is + 2]) * (((bytes[ql + l + 32] & 0xf) | (((h >> 2) & 3) << 4)) - 32);
        out[o + l + 64] = f(d * signed[sc + is + 4]) * ((bytes[ql + l] >> 4 | (((h >> 4) & 3) << 4)) - 32);
        out[o + l + 96] = f(d * signed[sc + is + 6]) * ((bytes[ql + l + 32] >> 4 | (((h >> 6) & 3) << 4)) - 32);
      }
    }
  }
  return out;
}

const clamp = (v: number, lo: number, hi: number) => Math.max(lo, Math.min(hi, v));

/** f32 values as Q4_K blocks: per sub-block of 32, scale (max − min)/15 and min −min(0, min),
 * both on 6 bits against the block's largest. */
export function toQ4_K(values: Float32Array): Uint8Array {
  if (values.length % QK_K !== 0) throw new Error(`Q4_K needs a multiple of ${QK_K} values`);
  const out = new Uint8Array((values.length / QK_K) * Q4_K_BYTES);
  for (let b = 0; b < values.length / QK_K; b++) {
    const x = values.subarray(b * QK_K, (b + 1) * QK_K);
    const scale: number[] = [];
    const min: number[] = [];
    for (let j = 0; j < 8; j++) {
      const sub = x.subarray(32 * j, 32 * j + 32);
      const lo = Math.min(0, ...sub);
      scale.push((Math.max(...sub) - lo) / 15);
      min.push(-lo);
    }
    const base = b * Q4_K_BYTES;
    const dh = floatToHalf(Math.max(...scale) / 63);
    const mh = floatToHalf(Math.max(...min) / 63);
    const [d, dmin] = [halfToFloat(dh), halfToFloat(mh)];
    out[base] = dh & 0xff;
    out[base + 1] = dh >> 8;
    out[base + 2] = mh & 0xff;
    out[base + 3] = mh >> 8;
    const sc = scale.map((s) => (d === 0 ? 0 : clamp(Math.round(s / d), 0, 63)));
    const m = min.map((v) => (dmin === 0 ? 0 : clamp(Math.round(v / dmin), 0, 63)));
    for (let j = 0; j < 4; j++) {
      out[base + 4 + j] = (sc[j] & 63) | ((sc[j + 4] >> 4) << 6);
      out[base + 8 + j] = (m[j] & 63) | ((m[j + 4] >> 4) << 6);
      out[base + 12 + j] = (sc[j + 4] & 0xf) | ((m[j + 4] & 0xf) << 4);
    }
    const q = (i: number) => {
      const j = i >> 5;
      const step = f(d * sc[j]);
      return step === 0 ? 0 : clamp(Math.round((x[i] + f(dmin * m[j])) / step), 0, 15);
    };
    for (let c = 0; c < 4; c++) for (let l = 0; l < 32; l++) out[base + 16 + 32 * c + l] = q(64 * c + l) | (q(64 * c + 32 + l) << 4);
  }
  return out;
}

/** f32 values as Q6_K blocks: per sub-block of 16, scale max|x|/32 on 8 bits against the
 * block's largest, values on 6 bits. */
export function toQ6_K(values: Float32Array): Uint8Array {
  if (values.length % QK_K !== 0) throw new Error(`Q6_K needs a multiple of ${QK_K} values`);
  const out = new Uint8Array((values.length / QK_K) * Q6_K_BYTES);
  for (let b = 0; b < values.length / QK_K; b++) {
    const x = values.subarray(b * QK_K, (b + 1) * QK_K);
    const scale = Array.from({ length: 16 }, (_, j) => Math.max(...x.subarray(16 * j, 16 * j + 16).map(Math.abs)) / 32);
    const base = b * Q6_K_BYTES;
    const dh = floatToHalf(Math.max(...scale) / 127);
    const d = halfToFloat(dh);
    out[base + 208] = dh & 0xff;
    out[base + 209] = dh >> 8;
    const sc = scale.map((s) => (d === 0 ? 0 : clamp(Math.round(s / d), -128, 127)));
    for (let j = 0; j < 16; j++) out[base + 192 + j] = sc[j] & 0xff;
    const L = Array.from(x, (v, i) => {
      const step = f(d * sc[i >> 4]);
      return (step === 0 ? 0 : clamp(Math.round(v / step), -32, 31)) + 32;
    });
    for (let half = 0; half < 2; half++) {
      const j = 128 * half;
      for (let l = 0; l < 32; l++) {
        out[base + 64 * half + l] = (L[j + l] & 0xf) | ((L[j + l + 64] & 0xf) << 4);
        out[base + 64 * half + l + 32] = (L[j + l + 32] & 0xf) | ((L[j + l + 96] & 0xf) << 4);
        out[base + 128 + 32 * half + l] = (L[j + l] >> 4) | ((L[j + l + 32] >> 4) << 2) | ((L[j + l + 64] >> 4) << 4) | ((L[j + l + 96] >> 4) << 6);
      }
    }
  }
  return out;
}

/** A GGUF Q6_K tensor [rows][cols] in 8-bit MatMulNBits' form with blocks of 16 (the block of
 * each of its scales): each value's B = q + 96 (its 6 bits + 128 − 32) and the block's scale
 * f32(d · scale), so scale · (B − 128) is exactly what decodeQ6_K gives. Undefined for a
 * tensor of the wrong size, or on a big-endian host (values are written 32 bits at a time). */
export function q6kToBlocks(bytes: Uint8Array, rows: number, cols: number): BlockMatrix | undefined {
  const n = rows * cols;
  if (cols % QK_K !== 0 || bytes.length !== (n / QK_K) * Q6_K_BYTES || endianness() !== "LE") return undefined;
  const halves = halfTable();
  const signed = new Int8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  // blocks of 210 bytes: every other one starts off a 4-byte boundary, so words are read
  // through a DataView; four values a 32-bit operation (their bytes never carry: q + 96 ≤ 159)
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const q = new Uint8Array(n);
  const out = new Uint32Array(q.buffer);
  const scales = new Float32Array(n / 16);
  const LOW = 0x0f0f0f0f;
  const TWO = 0x03030303;
  const PLUS_96 = 0x60606060;
  for (let b = 0, base = 0, y = 0; b < n / QK_K; b++, base += Q6_K_BYTES, y += QK_K / 4) {
    const d = halves[bytes[base + 208] | (bytes[base + 209] << 8)];
    for (let j = 0; j < 16; j++) scales[b * 16 + j] = f(d * signed[base + 192 + j]);
    for (let half = 0; half < 2; half++) {
      const ql = base + 64 * half;
      const qh = base + 128 + 32 * half;
      const o = y + 32 * half;
      for (let l = 0; l < 32; l += 4) {
        const h = view.getUint32(qh + l, true);
        const a = view.getUint32(ql + l, true);
        const c = view.getUint32(ql + l + 32, true);
        const w = o + l / 4;
        out[w] = ((a & LOW) | ((h & TWO) << 4)) + PLUS_96;
        out[w + 8] = ((c & LOW) | (((h >>> 2) & TWO) << 4)) + PLUS_96;
        out[w + 16] = (((a >>> 4) & LOW) | (((h >>> 4) & TWO) << 4)) + PLUS_96;
        out[w + 24] = (((c >>> 4) & LOW) | (((h >>> 6) & TWO) << 4)) + PLUS_96;
      }
    }
  }
  return { bits: 8, block: 16, rows, cols, q, scales };
}

/** A GGUF Q4_K tensor [rows][cols] in 4-bit MatMulNBits' form, blocks of 32 (its sub-blocks)
 * with an offset each. A value d·scale·q − dmin·min is s·(q − 8) + (8s − m) with s =
 * f32(d·scale), m = f32(dmin·min): the nibbles go to MatMulNBits as stored (its default zero
 * point 8), and 8s − m becomes the block's offset, which the graph multiplies by the block's
 * sum of activations (layers.ts int8MatMul). Why not a zero point: MatMulNBits takes only
 * whole ones on its int8 path, and m is not a whole number of steps s; float zero points take
 * onnxruntime's float path, which dequantizes the matrix on every run. Centred on 8, the
 * int8 part rounds like Q4_0's, and the offsets (about half a step where the block's values
 * straddle zero) see the activations unrounded. blockValues gives the decoded values to
 * within f32 rounding (of s·(q − 8) and of the offset; kquants.test.ts). Undefined for a tensor of the
 * wrong size, or one that does not start at a multiple of 4 bytes (a buffer of its own does)
 * or on a big-endian host (the nibbles are moved 32 bits at a time). */
export function q4kToBlocks(bytes: Uint8Array, rows: number, cols: number): BlockMatrix | undefined {
  const n = rows * cols;
  if (cols % QK_K !== 0 || bytes.length !== (n / QK_K) * Q4_K_BYTES || bytes.byteOffset % 4 !== 0 || endianness() !== "LE") return undefined;
  const halves = halfTable();
  const q = new Uint8Array(n / 2);
  const out = new Uint32Array(q.buffer);
  const words = new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.length >> 2);
  const scales = new Float32Array(n / 32);
  const offsets = new Float32Array(n / 32);
  for (let b = 0, base = 0, o = 0; b < n / QK_K; b++, base += Q4_K_BYTES) {
    const d = halves[bytes[base] | (bytes[base + 1] << 8)];
    const dmin = halves[bytes[base + 2] | (bytes[base + 3] << 8)];
    for (let j = 0; j < 8; j++) {
      const s = f(d * scaleOf(bytes, base + 4, j));
      scales[b * 8 + j] = s;
      offsets[b * 8 + j] = f(8 * s - f(dmin * minOf(bytes, base + 4, j)));
    }
    // sub-blocks 2c and 2c + 1 share 32 bytes (8 words): the first in the low nibbles, the
    // second in the high ones; MatMulNBits wants values 2k and 2k + 1 of a block in byte k,
    // so a word's four low (high) nibbles make two bytes, and two words one word
    for (let c = 0, w = (base + 16) >> 2; c < 4; c++, w += 8) {
      for (let k = 0; k < 4; k++) out[o++] = lowNibbles(words[w + 2 * k]) | (lowNibbles(words[w + 2 * k + 1]) << 16);
      for (let k = 0; k < 4; k++) out[o++] = lowNibbles(words[w + 2 * k] >>> 4) | (lowNibbles(words[w + 2 * k + 1] >>> 4) << 16);
    }
  }
  return { bits: 4, block: 32, rows, cols, q, scales, offsets };
}

/** The low nibbles of a word's four bytes, packed into 16 bits in order. */
const lowNibbles = (x: number) => (x & 0x0f) | ((x >>> 4) & 0xf0) | ((x >>> 8) & 0x0f00) | ((x >>> 12) & 0xf000);
