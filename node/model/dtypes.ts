// Tensor element types we read (GGML numbering) and their conversion to f32.
import { floatToHalf, halfTable, halfToFloat } from "./half.ts";
import { decodeQ4_K, decodeQ6_K, Q4_K_BYTES, Q6_K_BYTES, QK_K } from "./kquants.ts";

// the f16 helpers live in half.ts (kquants.ts needs them too); importers find them here still
export { floatToHalf, halfTable, halfToFloat };

/** Bumped whenever a type's decoding to f32 changes: a packed copy made from decoded values
 * the graph only names (a scratch file, gguf-map.ts) is keyed by it (onnx/pack-cache.ts). */
export const DECODERS_VERSION = 1;

export const GGML_F32 = 0;
export const GGML_F16 = 1;
export const GGML_Q4_0 = 2;
export const GGML_Q8_0 = 8;
export const GGML_Q4_K = 12;
export const GGML_Q6_K = 14;

export const GGML_TYPE_NAMES: Record<number, string> = {
  0: "F32", 1: "F16", 2: "Q4_0", 3: "Q4_1", 6: "Q5_0", 7: "Q5_1", 8: "Q8_0", 9: "Q8_1",
  10: "Q2_K", 11: "Q3_K", 12: "Q4_K", 13: "Q5_K", 14: "Q6_K", 15: "Q8_K", 24: "I8", 25: "I16",
  26: "I32", 27: "I64", 28: "F64", 30: "BF16",
};

const Q8_0_BLOCK = 32; // values per block
const Q8_0_BYTES = 34; // f16 scale + 32 int8
const Q4_0_BYTES = 18; // f16 scale + 32 4-bit values (q + 8), two a byte

/** Values per block of a supported type (1 for F32 and F16): a row of a tensor must hold
 * whole blocks, as llama.cpp requires. Undefined for an unsupported type. */
export function blockSize(type: number): number | undefined {
  return type === GGML_F32 || type === GGML_F16 ? 1 : type === GGML_Q8_0 || type === GGML_Q4_0 ? Q8_0_BLOCK : type === GGML_Q4_K || type === GGML_Q6_K ? QK_K : undefined;
}

/** Bytes taken by `n` elements of a supported type, or undefined for an unsupported one. */
export function byteSize(type: number, n: number): number | undefined {
  switch (type) {
    case GGML_F32:
      return 4 * n;
    case GGML_F16:
      return 2 * n;
    case GGML_Q8_0:
      return n % Q8_0_BLOCK === 0 ? (n / Q8_0_BLOCK) * Q8_0_BYTES : undefined;
    case GGML_Q4_0:
      return n % Q8_0_BLOCK === 0 ? (n / Q8_0_BLOCK) * Q4_0_BYTES : undefined;
    case GGML_Q4_K:
      return n % QK_K === 0 ? (n / QK_K) * Q4_K_BYTES : undefined;
    case GGML_Q6_K:
      return n % QK_K === 0 ? (n / QK_K) * Q6_K_BYTES : undefined;
    default:
      return undefined;
  }
}

/** Decodes `n` elements of `type` at `bytes` into f32. */
/** Each value rounded to half precision (what an f16 frame carries, read back as f32). */
export function roundToHalf(x: Float32Array): Float32Array {
  return x.map((v) => halfToFloat(floatToHalf(v)));
}

export function toFloat32(type: number, bytes: Uint8Array, n: number): Float32Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  switch (type) {
    case GGML_F32: {
      if (bytes.byteOffset % 4 === 0) return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + 4 * n));
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = view.getFloat32(4 * i, true);
      return out;
    }
    case GGML_F16: {
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = halfToFloat(view.getUint16(2 * i, true));
      return out;
    }
    case GGML_Q8_0: {
      // typed-array reads and a table for the scales: a 300M model's blocks decode in
      // tenths of a second instead of seconds through DataView and halfToFloat
      const out = new Float32Array(n);
      const q = new Int8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      const halves = halfTable();
      for (let b = 0, base = 0, o = 0; b < n / Q8_0_BLOCK; b++, base += Q8_0_BYTES) {
        const d = halves[bytes[base] | (bytes[base + 1] << 8)];
        for (let j = 2; j < Q8_0_BYTES; j++) out[o++] = d * q[base + j];
      }
      return out;
    }
    case GGML_Q4_0: {
      // byte j of a block holds value j (low nibble) and value j + 16 (high), each q + 8
      const out = new Float32Array(n);
      const halves = halfTable();
      for (let b = 0, base = 0, o = 0; b < n / Q8_0_BLOCK; b++, base += Q4_0_BYTES, o += Q8_0_BLOCK) {
        const d = halves[bytes[base] | (bytes[base + 1] << 8)];
        for (let j = 0; j < 16; j++) {
          const v = bytes[base + 2 + j];
          out[o + j] = d * ((v & 0x0f) - 8);
          out[o + 16 + j] = d * ((v >> 4) - 8);
        }
      }
      return out;
    }
    case GGML_Q4_K:
      return decodeQ4_K(bytes, n);
    case GGML_Q6_K:
      return decodeQ6_K(bytes, n);
    default:
      throw new Error(`unsupported type ${GGML_TYPE_NAMES[type] ?? type}`);
  }
}

/** Encodes f32 values as Q8_0 blocks (for tests and synthetic models). */
export function toQ8_0(values: Float32Array): Uint8Array {
  if (values.length % Q8_0_BLOCK !== 0) throw new Error(`Q8_0 needs a multiple of ${Q8_0_BLOCK} values`);
  const out = new Uint8Array((values.length / Q8_0_BLOCK) * Q8_0_BYTES);
  const view = new DataView(out.buffer);
  for (let b = 0; b < values.length / Q8_0_BLOCK; b++) {
    let amax = 0;
    for (let j = 0; j < Q8_0_BLOCK; j++) amax = Math.max(amax, Math.abs(values[b * Q8_0_BLOCK + j]));
    const d = amax / 127;
    const dh = floatToHalf(d);
    const dq = halfToFloat(dh);
    view.setUint16(b * Q8_0_BYTES, dh, true);
    for (let j = 0; j < Q8_0_BLOCK; j++) {
      view.setInt8(b * Q8_0_BYTES + 2 + j, dq === 0 ? 0 : Math.max(-127, Math.min(127, Math.round(values[b * Q8_0_BLOCK + j] / dq))));
    }
  }
  return out;
}

/** Encodes f32 values as Q4_0 blocks as llama.cpp's reference quantizer does (for tests and
 * synthetic models): the value of largest magnitude, m, sets d = m / −8 (stored as f16),
 * and each value is min(15, trunc(x / d + 8.5)) in f32 arithmetic. */
export function toQ4_0(values: Float32Array): Uint8Array {
  if (values.length % Q8_0_BLOCK !== 0) throw new Error(`Q4_0 needs a multiple of ${Q8_0_BLOCK} values`);
  const out = new Uint8Array((values.length / Q8_0_BLOCK) * Q4_0_BYTES);
  const view = new DataView(out.buffer);
  const f = Math.fround;
  for (let b = 0; b < values.length / Q8_0_BLOCK; b++) {
    const x = values.subarray(b * Q8_0_BLOCK, (b + 1) * Q8_0_BLOCK);
    let amax = 0;
    let max = 0;
    for (const v of x) {
      if (amax < Math.abs(v)) {
        amax = Math.abs(v);
        max = v;
      }
    }
    const d = f(max / -8);
    const id = d === 0 ? 0 : f(1 / d);
    view.setUint16(b * Q4_0_BYTES, floatToHalf(d), true);
    const nib = (v: number) => Math.min(15, Math.trunc(f(f(v * id) + 8.5)));
    for (let j = 0; j < 16; j++) out[b * Q4_0_BYTES + 2 + j] = nib(x[j]) | (nib(x[16 + j]) << 4);
  }
  return out;
}
