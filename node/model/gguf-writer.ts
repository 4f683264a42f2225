// Writing GGUF files (versions 1–3): synthetic benchmark models and test fixtures.
import { openSync, writeSync, closeSync } from "node:fs";

export type GgufValue =
  | { type: "u32"; value: number }
  | { type: "i32"; value: number }
  | { type: "f32"; value: number }
  | { type: "u64"; value: bigint }
  | { type: "bool"; value: boolean }
  | { type: "string"; value: string }
  | { type: "string[]"; value: string[] }
  | { type: "f32[]"; value: number[] }
  | { type: "i32[]"; value: number[] };

export interface GgufTensorOut {
  readonly name: string;
  readonly shape: number[]; // ggml order (ne[0] first)
  readonly type: number; // GGML type id
  readonly data: Uint8Array;
}

const ALIGN = 32;
const T = { u32: 4, i32: 5, f32: 6, bool: 7, string: 8, array: 9, u64: 10 } as const;

class Out {
  private chunks: Uint8Array[] = [];
  length = 0;
  private readonly version: number;
  constructor(version: number) {
    this.version = version;
  }
  bytes(b: Uint8Array) {
    this.chunks.push(b);
    this.length += b.length;
  }
  u32(v: number) {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, v, true);
    this.bytes(b);
  }
  i32(v: number) {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setInt32(0, v, true);
    this.bytes(b);
  }
  f32(v: number) {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, v, true);
    this.bytes(b);
  }
  u64(v: bigint | number) {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setBigUint64(0, BigInt(v), true);
    this.bytes(b);
  }
  /** Lengths and counts: 32-bit in version 1, 64-bit after. */
  size(v: number) {
    if (this.version === 1) this.u32(v);
    else this.u64(v);
  }
  str(s: string) {
    const b = new TextEncoder().encode(s);
    this.size(b.length);
    this.bytes(b);
  }
  pad() {
    const n = (ALIGN - (this.length % ALIGN)) % ALIGN;
    if (n) this.bytes(new Uint8Array(n));
  }
  concat(): Uint8Array[] {
    return this.chunks;
  }
}

function writeValue(o: Out, v: GgufValue) {
  switch (v.type) {
    case "u32": o.u32(T.u32); o.u32(v.value); break;
    case "i32": o.u32(T.i32); o.i32(v.value); break;
    case "f32": o.u32(T.f32); o.f32(v.value); break;
    case "u64": o.u32(T.u64); o.u64(v.value); break;
    case "bool": o.u32(T.bool); o.bytes(Uint8Array.of(v.value ? 1 : 0)); break;
    case "string": o.u32(T.string); o.str(v.value); break;
    case "string[]": o.u32(T.array); o.u32(T.string); o.size(v.value.length); for (const s of v.value) o.str(s); break;
    case "f32[]": o.u32(T.array); o.u32(T.f32); o.size(v.value.length); for (const x of v.value) o.f32(x); break;
    case "i32[]": o.u32(T.array); o.u32(T.i32); o.size(v.value.length); for (const x of v.value) o.i32(x); break;
  }
}

/** Writes a GGUF file; tensor data is aligned to 32 bytes. */
export function writeGguf(file: string, version: 1 | 2 | 3, metadata: [string, GgufValue][], tensors: GgufTensorOut[]): void {
  const h = new Out(version);
  h.bytes(new TextEncoder().encode("GGUF"));
  h.u32(version);
  h.size(tensors.length);
  h.size(metadata.length);
  for (const [k, v] of metadata) {
    h.str(k);
    writeValue(h, v);
  }
  let offset = 0;
  const offsets: number[] = [];
  for (const t of tensors) {
    h.str(t.name);
    h.u32(t.shape.length);
    for (const d of t.shape) h.size(d);
    h.u32(t.type);
    h.u64(offset);
    offsets.push(offset);
    offset += t.data.length;
    offset += (ALIGN - (offset % ALIGN)) % ALIGN;
  }
  h.pad();
  let fd: number;
  try {
    fd = openSync(file, "w");
  } catch (err) {
    throw new Error(`cannot write ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, { cause: err });
  }
  try {
    for (const c of h.concat()) writeSync(fd, c);
    let written = 0;
    for (let i = 0; i < tensors.length; i++) {
      if (offsets[i] > written) writeSync(fd, new Uint8Array(offsets[i] - written));
      writeSync(fd, tensors[i].data);
      written = offsets[i] + tensors[i].data.length;
    }
  } finally {
    closeSync(fd);
  }
}
