// A client's whole setup on the swarm, shared by `efed generate` and `efed api`: the ledger,
// the network client (embedding, head, libp2p node, routing), a failover session per
// generation, and the hand-off of a share of sessions to a verifier for an audit.
import type { Contract } from "ethers";
import { openLedger, type LedgerHandle } from "../chain/ledger.ts";
import { readVerifiers } from "../chain/registry.ts";
import type { Device } from "../model/onnx/runtime.ts";
import { handToVerifier } from "../verifier/audit-service.ts";
import { openNetworkClient, type NetworkClient } from "./network.ts";
import type { FailoverChain, SessionRecord } from "./remote.ts";

export interface SwarmOptions {
  readonly rpc: string;
  readonly deployments: string;
  readonly model: string;
  readonly device?: Device;
  /** Blocks on top of a ledger change before routes follow it (default: chain/confirmed.ts). */
  readonly confirmations?: number;
  /** Addresses the client listens on (see openNetworkClient). */
  readonly listen?: string[];
}

export interface SwarmClient {
  readonly handle: LedgerHandle;
  readonly ledger: Contract;
  readonly net: NetworkClient;
  /** A new failover-capable session (see NetworkClient.session). */
  session: NetworkClient["session"];
  /** With probability `share`, hands the finished session to a random verifier and reports its verdict through `log`. */
  maybeAudit(chain: FailoverChain, tokens: number[], share: number, log: (line: string) => void): Promise<void>;
  close(): Promise<void>;
}

export async function openSwarmClient(o: SwarmOptions): Promise<SwarmClient> {
  const h = await openLedger(o.rpc, o.deployments, undefined, o.confirmations);
  const net = await openNetworkClient(h.ledger, o.model, o.device ?? "cpu", h.confirmed, o.listen).catch((err) => {
    h.provider.destroy();
    throw err;
  });
  return {
    handle: h,
    ledger: h.ledger,
    net,
    session: (so) => net.session(so),
    async maybeAudit(chain, tokens, share, log) {
      if (Math.random() < share) await handForAudit(h.ledger, net, chain.records, tokens, log);
    },
    async close() {
      await net.close();
      h.provider.destroy();
    },
  };
}

/** Hands the session to a random active verifier and reports what it found. Never throws:
 * an audit that cannot happen is a notice, not a failed generation. */
export async function handForAudit(ledger: Contract, net: NetworkClient, records: SessionRecord[], tokens: number[], log: (line: string) => void): Promise<void> {
  try {
    const verifiers = await readVerifiers(ledger);
    if (verifiers.length === 0) return log("audit: no verifier on the ledger to hand this session to");
    const v = verifiers[Math.floor(Math.random() * verifiers.length)];
    log(`audit: handing this session to verifier ${v.account} (it sees the prompt and the output)…`);
    const verdict = await handToVerifier(net.node, v, records, tokens);
    if (verdict.failed.length === 0) log(`audit: every hop checked out (${verdict.checkedWindows} hop-windows)`);
    for (const f of verdict.failed) log(`audit: server ${f.peer} (layers ${f.start}-${f.end}) lied from position ${f.position}: the verifier has evidence`);
  } catch (err) {
    log(`audit: ${(err as Error).message}`);
  }
}
