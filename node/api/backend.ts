// Where the API's generations run: the swarm (as `efed generate` does: routing, failover,
// receipts checked every step, a share of sessions handed to a verifier), or every layer in
// this process (`--local`). The API only needs a fresh chain per request and the client model.
import { basename, extname } from "node:path";
import type { ClientModel } from "../client/generate.ts";
import type { ShardChain } from "../swarm/types.ts";
import { openLocalEngine } from "../client/local.ts";
import type { FailoverChain } from "../client/remote.ts";
import { openSwarmClient, type SwarmOptions } from "../client/swarm.ts";
import type { Device } from "../model/onnx/runtime.ts";
import type { LedgerHandle } from "../chain/ledger.ts";
import { chatTemplateOf, readChatTemplate, type ChatMessage } from "./chat-template.ts";

export interface Backend {
  /** The model's name in /v1/models and in requests. */
  readonly modelId: string;
  readonly client: ClientModel;
  /** "local" or "swarm": shown by /v1/models and the dashboard. */
  readonly mode: "local" | "swarm";
  /** Whether the model file carries its own chat template (else the plain one is used). */
  readonly hasChatTemplate: boolean;
  /** The ledger the swarm runs on (the dashboard reads it); none with --local. */
  readonly ledger?: LedgerHandle;
  renderChat(messages: readonly ChatMessage[]): string;
  /** A fresh chain (one inference session) for one generation; the caller closes it. */
  open(): ShardChain;
  /** Called after a generation that ran to its end (prompt and generated ids). */
  finished(chain: ShardChain, tokens: number[]): void;
  close(): Promise<void>;
}

/** The model's id as clients name it: the file or directory name without extension. */
export function modelIdOf(file: string): string {
  const b = basename(file.replace(/[/\\]+$/, ""));
  return extname(b) === ".gguf" || extname(b) === ".safetensors" ? b.slice(0, -extname(b).length) : b;
}

/** `packCache`, `say`: as openLocalEngine's (client/local.ts). */
export async function openLocalBackend(modelFile: string, o: { device?: Device; shards?: number; packCache?: string; say?: (line: string) => void } = {}): Promise<Backend> {
  // the template first: one that fails to parse must not leave an engine open
  const template = await readChatTemplate(modelFile);
  const renderChat = chatTemplateOf(template);
  const engine = await openLocalEngine(modelFile, { device: o.device, shards: o.shards, packCache: o.packCache, say: o.say });
  return {
    modelId: modelIdOf(modelFile),
    client: engine.client,
    mode: "local",
    hasChatTemplate: template !== undefined,
    renderChat,
    open: () => engine.session(),
    finished() {},
    close: () => engine.close(),
  };
}

export interface SwarmBackendOptions extends SwarmOptions {
  /** Share of finished sessions handed to a verifier (`efed generate --audit-share`). */
  readonly auditShare: number;
  readonly log: (line: string) => void;
}

export async function openSwarmBackend(o: SwarmBackendOptions): Promise<Backend> {
  const swarm = await openSwarmClient(o);
  const template = await readChatTemplate(o.model).catch(async (err) => {
    await swarm.close();
    throw err;
  });
  // audits run after the response is sent; close() waits for those under way
  const audits = new Set<Promise<void>>();
  return {
    modelId: modelIdOf(o.model),
    client: swarm.net.client,
    mode: "swarm",
    hasChatTemplate: template !== undefined,
    ledger: swarm.handle,
    renderChat: chatTemplateOf(template),
    open: () => swarm.session({ onFailover: (peer, route) => o.log(`server ${peer} failed; rerouted over ${route.map((r) => `${r.start}-${r.end}`).join(" ")} and replayed the history`) }),
    finished(chain, tokens) {
      const p = swarm.maybeAudit(chain as FailoverChain, tokens, o.auditShare, o.log).finally(() => audits.delete(p));
      audits.add(p);
    },
    async close() {
      await Promise.all(audits);
      await swarm.close();
    },
  };
}
