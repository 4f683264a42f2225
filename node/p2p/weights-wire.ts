// /efed/weights/1: a server fetches its layers from a peer that holds the model.
// Frames (inside libp2p's length prefix): header length u32 LE | JSON header | f32 bytes.
// Request → manifest → one or more tensor frames per tensor (large ones in chunks) → end.
import { z } from "zod";

export const WEIGHTS_PROTOCOL = "/efed/weights/1";
export const WEIGHTS_CHUNK_BYTES = 8 * 1024 * 1024;
export const MAX_WEIGHTS_FRAME = WEIGHTS_CHUNK_BYTES + 64 * 1024;

export class WeightsWireError extends Error {
  override readonly name = "WeightsWireError";
}

const config = z.object({
  dim: z.number().int().positive(), hiddenDim: z.number().int().positive(), nLayers: z.number().int().positive(),
  nHeads: z.number().int().positive(), nKvHeads: z.number().int().positive(), headSize: z.number().int().positive(),
  vocabSize: z.number().int().positive(), contextLength: z.number().int().positive(), normEps: z.number().positive(),
  ropeTheta: z.number().positive(), ropeLayout: z.enum(["pairs", "halves"]),
}).strict();

export const WeightsRequest = z.object({
  start: z.number().int().min(0),
  end: z.number().int().min(1),
  format: z.enum(["dense", "svd"]),
  energy: z.number().gt(0).max(1).optional(),
  ratio: z.number().gt(0).max(1).optional(), // keep k̂ by Eq. 15 instead of an energy
}).strict().refine((r) => r.start < r.end, "start must be below end").refine((r) => r.format === "dense" || (r.energy === undefined) !== (r.ratio === undefined), "svd needs an energy or a ratio");

export const WeightsFrame = z.discriminatedUnion("type", [
  z.object({ type: z.literal("manifest"), config, hashes: z.array(z.tuple([z.string(), z.string().regex(/^[0-9a-f]{64}$/)])).max(100_000) }).strict(),
  z.object({
    type: z.literal("tensor"), name: z.string().max(64), encoding: z.enum(["dense", "svd"]),
    m: z.number().int().positive(), n: z.number().int().positive(), k: z.number().int().positive().optional(),
    chunk: z.number().int().min(0), chunks: z.number().int().positive(),
  }).strict(),
  z.object({ type: z.literal("end"), tensors: z.number().int().min(0), bytes: z.number().int().min(0) }).strict(),
  z.object({ type: z.literal("error"), message: z.string().max(1024) }).strict(),
]);

export type WeightsRequest = z.infer<typeof WeightsRequest>;
export type WeightsFrame = z.infer<typeof WeightsFrame>;

export function encodeWeightsFrame(header: object, body: Uint8Array = new Uint8Array(0)): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(4 + json.length + body.length);
  new DataView(out.buffer).setUint32(0, json.length, true);
  out.set(json, 4);
  out.set(body, 4 + json.length);
  return out;
}

export function decodeWeightsFrame<T>(bytes: Uint8Array, schema: z.ZodType<T>): { header: T; body: Uint8Array } {
  if (bytes.length < 4) throw new WeightsWireError("short frame");
  const len = new DataView(bytes.buffer, bytes.byteOffset).getUint32(0, true);
  if (4 + len > bytes.length) throw new WeightsWireError("header exceeds the frame");
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(4, 4 + len)));
  } catch {
    throw new WeightsWireError("header is not UTF-8 JSON");
  }
  const r = schema.safeParse(json);
  if (!r.success) throw new WeightsWireError(`bad header: ${r.error.issues[0].path.join(".")}: ${r.error.issues[0].message}`);
  return { header: r.data, body: bytes.subarray(4 + len) };
}
