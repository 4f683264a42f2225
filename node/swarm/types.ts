// Types that the Client, the Server, the Verifier and the chain reader share: a server as
// a route candidate (read from the ledger), a hop of a chosen route, and a chain of shards
// an inference session steps through (local shards or remote servers). Kept apart from any
// one role so that none imports another (chain/ reads candidates without client/).

export interface Candidate {
  readonly peer: string;
  /** The server's address on the ledger, when read from it. */
  readonly account?: string;
  /** The address of the server's peer key on the ledger (it signs receipts). */
  readonly signer?: string;
  readonly addrs: string[];
  readonly start: number;
  readonly end: number;
  /** S_i in [0, 1] from the ledger. */
  readonly trust: number;
  /** Announced throughput, layer-tokens per second. */
  readonly throughput: number;
  /** Measured round trip (ms); undefined when not measured. */
  readonly rttMs?: number;
  /** Reached only through a relay (no direct connection, yet). */
  readonly relayed?: boolean;
}

export interface RouteHop {
  readonly peer: string;
  readonly addrs: string[];
  readonly start: number;
  readonly end: number;
}

/** One inference session along a route of shards covering every layer. */
export interface ShardChain {
  /** Sends `seq` new positions ([seq × dim]) through every shard in order. */
  step(hidden: Float32Array, seq: number): Promise<Float32Array>;
  close(): Promise<void>;
  /** Decode steps per sealed window, for chains whose results are only trusted once sealed. */
  readonly sealEvery?: number;
  /** Gets receipts for every step since the last seal (chains that sign). */
  seal?(): Promise<void>;
}
