// Fetching a server's layers over /efed/weights/1, checking dense tensors against the
// manifest and the manifest against the ledger's model hash.
import { lpStream } from "@libp2p/utils";
import { multiaddr } from "@multiformats/multiaddr";
import type { EfedNode } from "../p2p/host.ts";
import { decodeWeightsFrame, encodeWeightsFrame, MAX_WEIGHTS_FRAME, WEIGHTS_PROTOCOL, WeightsFrame, type WeightsRequest } from "../p2p/weights-wire.ts";
import { manifestRoot, tensorHash } from "../model/manifest.ts";
import { deserializeFactors, toLinear } from "../model/svd/factors.ts";
import type { Linear } from "../model/onnx/layers.ts";
import { LAYER_MATRICES, matrixShape, type LayerMatrix, type LlamaConfig } from "../model/types.ts";

export class WeightsFetchError extends Error {
  override readonly name = "WeightsFetchError";
}

export interface FetchedLayers {
  readonly config: LlamaConfig;
  readonly start: number;
  readonly end: number;
  readonly root: string;
  readonly norms: Map<number, { attnNorm: Float32Array; ffnNorm: Float32Array }>;
  readonly linears: Map<string, Linear>; // "l.matrix"
  /** Payload bytes received (tensor data), and bytes on the wire. */
  readonly bytes: number;
  readonly wireBytes: number;
  /** Dense tensors checked against the manifest (SVD factors cannot be). */
  readonly verified: number;
}

/** Fetches from the first provider that gives the layers (a peer that does not share the
 * model, cannot be reached or sends weights off the manifest is passed over). */
export async function fetchLayersFromAny(node: EfedNode, providers: readonly string[], req: WeightsRequest, expectedRoot?: string, onBytes?: (wireBytes: number) => void): Promise<FetchedLayers> {
  if (providers.length === 0) throw new WeightsFetchError("no peer to fetch the weights from");
  const failures: string[] = [];
  for (const p of providers) {
    try {
      return await fetchLayers(node, p, req, expectedRoot, onBytes);
    } catch (err) {
      if (providers.length === 1 || !(err instanceof WeightsFetchError)) throw err;
      failures.push(err.message);
    }
  }
  throw new WeightsFetchError(`none of ${providers.length} peers gave the weights (is a server sharing them with --share-weights?): ${failures.at(-1)}`);
}

/** `onBytes` is called with the bytes received so far (for progress on a slow fetch). */
export async function fetchLayers(node: EfedNode, provider: string, req: WeightsRequest, expectedRoot?: string, onBytes?: (wireBytes: number) => void): Promise<FetchedLayers> {
  let stream;
  try {
    stream = await node.dialProtocol(multiaddr(provider), WEIGHTS_PROTOCOL, { signal: AbortSignal.timeout(15_000) });
  } catch (err) {
    throw new WeightsFetchError(`cannot reach the weights provider ${provider}: ${(err as Error).message}`);
  }
  const lp = lpStream(stream, { maxDataLength: MAX_WEIGHTS_FRAME });
  try {
    await lp.write(encodeWeightsFrame(req));
    let wireBytes = 0;
    const next = async () => {
      const raw = (await lp.read({ signal: AbortSignal.timeout(60_000) })).subarray();
      wireBytes += raw.length;
      onBytes?.(wireBytes);
      const f = decodeWeightsFrame(raw, WeightsFrame);
      if (f.header.type === "error") throw new WeightsFetchError(`the provider refused: ${f.header.message}`);
      return f;
    };
    const first = await next();
    if (first.header.type !== "manifest") throw new WeightsFetchError("the provider did not start with a manifest");
    const c = first.header.config as LlamaConfig;
    const hashes = new Map(first.header.hashes);
    const root = manifestRoot(c, first.header.hashes);
    if (expectedRoot !== undefined && root !== expectedRoot) throw new WeightsFetchError(`the provider's model is not the ledger's (manifest ${root}, ledger ${expectedRoot})`);
    if (req.end > c.nLayers) throw new WeightsFetchError(`layers ${req.start}-${req.end} are outside the model's ${c.nLayers}`);

    const norms = new Map<number, { attnNorm: Float32Array; ffnNorm: Float32Array }>();
    const linears = new Map<string, Linear>();
    const expected = new Set<string>();
    for (let l = req.start; l < req.end; l++) for (const n of ["attnNorm", "ffnNorm", ...LAYER_MATRICES]) expected.add(`layer.${l}.${n}`);
    let bytes = 0;
    let verified = 0;
    for (;;) {
      const f = await next();
      if (f.header.type === "end") break;
      if (f.header.type !== "tensor") throw new WeightsFetchError(`unexpected ${f.header.type} frame`);
      const h = f.header;
      if (!expected.has(h.name)) throw new WeightsFetchError(`unexpected tensor ${h.name}`);
      expected.delete(h.name);
      const parts = [f.body];
      for (let i = 1; i < h.chunks; i++) {
        const g = await next();
        if (g.header.type !== "tensor" || g.header.name !== h.name || g.header.chunk !== i) throw new WeightsFetchError(`chunk ${i} of ${h.name} missing`);
        parts.push(g.body);
      }
      const buf = Buffer.concat(parts);
      bytes += buf.length;
      const data = new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.length));
      const [, ls, name] = h.name.split(".");
      const l = Number(ls);
      const isNorm = name === "attnNorm" || name === "ffnNorm";
      const [m, n] = isNorm ? [1, c.dim] : matrixShape(c, name as LayerMatrix);
      if (h.m !== m || h.n !== n) throw new WeightsFetchError(`${h.name} is ${h.m}×${h.n}, the config implies ${m}×${n}`);
      if (h.encoding === "dense") {
        if (data.length !== m * n) throw new WeightsFetchError(`${h.name} has ${data.length} values, expected ${m * n}`);
        if (tensorHash(data) !== hashes.get(h.name)) throw new WeightsFetchError(`${h.name} does not match the manifest: the provider sent altered weights`);
        verified++;
      }
      if (isNorm) {
        const cur = norms.get(l) ?? { attnNorm: new Float32Array(0), ffnNorm: new Float32Array(0) };
        norms.set(l, { ...cur, [name]: data });
      } else if (h.encoding === "dense") {
        linears.set(`${l}.${name}`, { kind: "dense", w: data });
      } else {
        const k = h.k ?? 0;
        if (k < 1 || k > Math.min(m, n)) throw new WeightsFetchError(`${h.name}: rank ${k} is not in 1..${Math.min(m, n)}`);
        linears.set(`${l}.${name}`, toLinear(deserializeFactors(data, m, n, k)));
      }
    }
    if (expected.size > 0) throw new WeightsFetchError(`the provider stopped before sending ${[...expected][0]}`);
    return { config: c, start: req.start, end: req.end, root, norms, linears, bytes, wireBytes, verified };
  } catch (err) {
    if (err instanceof WeightsFetchError) throw err;
    throw new WeightsFetchError(`fetching weights from ${provider} failed: ${(err as Error).message}`);
  } finally {
    await stream.close().catch(() => stream.abort(new Error("close failed")));
  }
}
