// /efed/weights/1 on a server that holds the whole model: sends the manifest, then the
// requested layers dense or as SVD factors (U_k | σ | V_kᵀ, (m + n + 1)·k floats).
import { lpStream } from "@libp2p/utils";
import type { Stream } from "@libp2p/interface";
import type { EfedNode } from "../p2p/host.ts";
import { decodeWeightsFrame, encodeWeightsFrame, MAX_WEIGHTS_FRAME, WEIGHTS_CHUNK_BYTES, WEIGHTS_PROTOCOL, WeightsRequest } from "../p2p/weights-wire.ts";
import { modelManifest, type TensorHashes } from "../model/manifest.ts";
import type { LoadedModel } from "../model/types.ts";
import { exactSvd, frobenius2, randomizedSvd } from "../model/svd/decompose.ts";
import { rankForEnergy, rankForRatio } from "../model/svd/rank.ts";
import { serializeFactors, truncate } from "../model/svd/factors.ts";
import { LAYER_MATRICES, matrixShape } from "../model/types.ts";

export class WeightsService {
  private readonly node: EfedNode;
  private readonly model: LoadedModel;
  private readonly hashes: TensorHashes;
  readonly root: string;
  readonly stats = { requests: 0, bytesSent: 0 };

  constructor(components: { node: EfedNode; model: LoadedModel }) {
    this.node = components.node;
    this.model = components.model;
    const m = modelManifest(this.model.config, this.model.weights);
    this.hashes = m.hashes;
    this.root = m.root;
  }

  async start(): Promise<void> {
    await this.node.handle(WEIGHTS_PROTOCOL, (s) => this.handle(s), { maxInboundStreams: 4 });
  }

  async stop(): Promise<void> {
    await this.node.unhandle(WEIGHTS_PROTOCOL);
  }

  private async handle(stream: Stream): Promise<void> {
    const lp = lpStream(stream, { maxDataLength: MAX_WEIGHTS_FRAME });
    const send = async (header: object, body?: Uint8Array) => {
      const f = encodeWeightsFrame(header, body);
      this.stats.bytesSent += f.length;
      await lp.write(f);
    };
    try {
      const { header: req } = decodeWeightsFrame((await lp.read({ signal: AbortSignal.timeout(10_000) })).subarray(), WeightsRequest);
      const c = this.model.config;
      if (req.end > c.nLayers) throw new Error(`layers ${req.start}-${req.end} are outside the model's ${c.nLayers}`);
      this.stats.requests++;
      await send({ type: "manifest", config: c, hashes: this.hashes });
      let tensors = 0;
      let bytes = 0;
      const sendTensor = async (name: string, encoding: "dense" | "svd", m: number, n: number, data: Float32Array, k?: number) => {
        const raw = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
        const chunks = Math.max(1, Math.ceil(raw.length / WEIGHTS_CHUNK_BYTES));
        for (let i = 0; i < chunks; i++) {
          await send({ type: "tensor", name, encoding, m, n, k, chunk: i, chunks }, raw.subarray(i * WEIGHTS_CHUNK_BYTES, (i + 1) * WEIGHTS_CHUNK_BYTES));
        }
        tensors++;
        bytes += raw.length;
      };
      for (let l = req.start; l < req.end; l++) {
        const L = this.model.weights.layers[l]!;
        await sendTensor(`layer.${l}.attnNorm`, "dense", 1, c.dim, L.attnNorm);
        await sendTensor(`layer.${l}.ffnNorm`, "dense", 1, c.dim, L.ffnNorm);
        for (const name of LAYER_MATRICES) {
          const [m, n] = matrixShape(c, name);
          if (req.format === "dense") {
            await sendTensor(`layer.${l}.${name}`, "dense", m, n, L[name]);
          } else {
            const total = frobenius2(L[name]);
            const svd = Math.min(m, n) <= 512 ? exactSvd(L[name], m, n) : randomizedSvd(L[name], m, n, Math.min(m, n));
            const k = req.ratio !== undefined ? rankForRatio(m, n, req.ratio) : rankForEnergy(svd.s, req.energy!, total);
            await sendTensor(`layer.${l}.${name}`, "svd", m, n, serializeFactors(truncate(svd, Math.min(k, svd.k))), Math.min(k, svd.k));
          }
        }
      }
      await send({ type: "end", tensors, bytes });
    } catch (err) {
      await send({ type: "error", message: ((err as Error).message ?? String(err)).slice(0, 1024) }).catch(() => {});
    } finally {
      await stream.close().catch(() => stream.abort(new Error("close failed")));
    }
  }
}
