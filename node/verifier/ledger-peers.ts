// Verifiers find each other on the ledger: each registers its peer id and listen addresses
// there, and every verifier dials the ones it is not connected to, now and then. Gossip
// (evidence, co-signatures) then reaches the whole committee without anyone passing
// --bootstrap, and a verifier that joins later is found within one interval.
import { multiaddr } from "@multiformats/multiaddr";
import type { Libp2p } from "@libp2p/interface";
import type { VerifierEntry } from "../chain/registry.ts";

export class LedgerPeers {
  private readonly node: Libp2p;
  private readonly read: () => Promise<VerifierEntry[]>;
  private readonly log: (line: string) => void;
  private readonly known = new Set<string>();
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private quietRead = false;

  constructor(node: Libp2p, read: () => Promise<VerifierEntry[]>, log: (line: string) => void = () => {}) {
    this.node = node;
    this.read = read;
    this.log = log;
  }

  /** Dials every active verifier on the ledger this node is not connected to; returns how
   * many it reached. */
  async connect(): Promise<number> {
    let entries: VerifierEntry[];
    try {
      entries = await this.read();
      this.quietRead = false;
    } catch (err) {
      if (!this.quietRead) this.log(`verifiers on the ledger: cannot read them (${(err as Error).message}); trying again`);
      this.quietRead = true;
      return 0;
    }
    const self = this.node.peerId.toString();
    let reached = 0;
    for (const v of entries) {
      if (v.peer === self) continue;
      if (this.node.getConnections().some((c) => c.remotePeer.toString() === v.peer)) {
        this.found(v); // it dialled us first
        continue;
      }
      for (const a of v.addrs) {
        try {
          await this.node.dial(multiaddr(`${a}/p2p/${v.peer}`), { signal: AbortSignal.timeout(5000) });
          reached++;
          this.found(v);
          break;
        } catch {
          // another address, or next time
        }
      }
    }
    return reached;
  }

  private found(v: VerifierEntry): void {
    if (this.known.has(v.peer)) return;
    this.known.add(v.peer);
    this.log(`found verifier ${v.account} on the ledger (${v.peer.slice(-8)})`);
  }

  start(intervalMs = 10_000): void {
    const tick = () => {
      this.running = this.connect().then(() => {});
    };
    tick();
    this.timer = setInterval(() => {
      if (this.running !== undefined) void this.running.then(tick);
    }, intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.running;
  }
}
