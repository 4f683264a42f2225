// `efed generate`: text from the model. `--local` runs every layer in this process.
import { InvalidArgumentError, Option, type Command } from "commander";
import { generate } from "../client/generate.ts";
import { openLocalEngine } from "../client/local.ts";
import { DEVICES, GENERATE_THREADS, type Device } from "../model/onnx/runtime.ts";
import { openSwarmClient } from "../client/swarm.ts";
import { isRelayed } from "../p2p/reachability.ts";
import { CONFIRMATIONS_HELP, DEFAULT_DEPLOYMENTS, DEFAULT_RPC, log, packCacheDir, packCacheOption, parseMultiaddr, parseUrl, threadsOption } from "./common.ts";

export function parseIntIn(lo: number, hi: number) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < lo || n > hi) throw new InvalidArgumentError(`must be an integer from ${lo} to ${hi}`);
    return n;
  };
}

export function parseFloatIn(lo: number, hi: number, openLo = false) {
  return (v: string): number => {
    const n = Number(v);
    if (v.trim() === "" || !Number.isFinite(n) || n > hi || (openLo ? n <= lo : n < lo)) {
      throw new InvalidArgumentError(`must be a number in ${openLo ? "(" : "["}${lo}, ${hi}]`);
    }
    return n;
  };
}

export interface GenerateFlags {
  local?: boolean;
  model?: string;
  prompt: string;
  maxTokens: number;
  temperature: number;
  topP: number;
  seed?: number;
  shards: number;
  device: Device;
  svdEnergy?: number;
  svdRatio?: number;
  stats?: boolean;
  rpc: string;
  deployments: string;
  auditShare: number;
  audit: boolean;
  confirmations?: number;
  listen: string[];
  packCache?: string | true;
}

export function generateCommand(program: Command): void {
  program
    .command("generate")
    .description("generate text from a prompt, through the swarm (or --local: the whole model in this process)")
    .option("--local", "run every layer in this process (no swarm)")
    .option("--model <file>", "(required) model: a GGUF file, or a Hugging Face directory / .safetensors file (the client needs its embedding and head)")
    .option("--rpc <url>", "JSON-RPC endpoint of the chain (network mode)", parseUrl, DEFAULT_RPC)
    .option("--deployments <dir>", "where deployments/<chainId>.json is read", DEFAULT_DEPLOYMENTS)
    .option("--prompt <text>", "text to continue (empty: start from BOS)", "")
    .option("--max-tokens <n>", "tokens to generate at most (the model may end sooner; prompt + this ≤ the model's context, 512 tokens for stories260K)", parseIntIn(1, 1 << 20), 256)
    .option("--temperature <t>", "0 for greedy decoding", parseFloatIn(0, 100), 0)
    .option("--top-p <p>", "nucleus sampling mass when temperature > 0", parseFloatIn(0, 1, true), 0.9)
    .option("--seed <n>", "random seed for sampling", parseIntIn(0, Number.MAX_SAFE_INTEGER))
    .option("--shards <k>", "split the layers into k shards (exercises shard boundaries)", parseIntIn(1, 4096), 1)
    .addOption(new Option("--device <device>", "execution provider").choices([...DEVICES]).default("cpu"))
    .addOption(threadsOption(GENERATE_THREADS))
    .option("--svd-energy <e>", "run SVD-compressed weights keeping energy e (Eq. 12)", parseFloatIn(0, 1, true))
    .option("--svd-ratio <r>", "run SVD-compressed weights at compression ratio r (Eq. 15)", parseFloatIn(0, 1, true))
    .option("--stats", "print tokens/s and shard layout to stderr at the end")
    .addOption(packCacheOption())
    .option("--listen <multiaddr>", "network mode: listen at this reachable address with a fixed port, e.g. /ip4/203.0.113.7/tcp/4300 (repeatable), so servers behind NAT reached through a relay can connect back directly", (v: string, acc: string[]) => {
      if (/\/tcp\/0(\/|$)/.test(v) || /\/ip[46]\/(0\.0\.0\.0|::)\//.test(v)) throw new InvalidArgumentError("give the address servers can reach, with a fixed port (it is announced as it is)");
      return parseMultiaddr(v, acc);
    }, [] as string[])
    .option("--audit-share <p>", "share of sessions handed to a verifier for an audit (network mode)", parseFloatIn(0, 1), 0.05)
    .option("--no-audit", "never hand this session to a verifier")
    .option("--confirmations <n>", CONFIRMATIONS_HELP, parseIntIn(0, 1000))
    .addHelpText(
      "after",
      `
Tokens stream to stdout as they are generated; notices go to stderr.
Network mode reads the active servers from the ledger, routes over the lowest-latency,
most trusted chain covering every layer, and if a server fails mid-generation picks a
replacement for its layers and replays the history (the text is the same). Every step comes
with each server's signed receipt, checked on arrival; with probability --audit-share
(default 0.05) the session — its prompt, output and receipts — is handed to one verifier,
which re-checks every hop and says whether any server lied (that verifier sees the text).

Examples:
  $ efed generate --model ../shared/models/stories260K-f32.gguf --prompt "Once upon a time" --max-tokens 64
  $ efed generate --local --model ../shared/models/stories260K-f32.gguf --max-tokens 64
  $ efed generate --local --pack-cache --model model.gguf --max-tokens 64
  $ efed generate --local --model model.gguf --prompt "Once upon a time" --temperature 0.8 --seed 7 --shards 3`,
    )
    .action(async (o: GenerateFlags) => {
      if (!o.local) return generateOnSwarm(o);
      if (o.model === undefined) throw new InvalidArgumentError("--local needs --model <file>");
      if (o.svdEnergy !== undefined && o.svdRatio !== undefined) throw new InvalidArgumentError("choose one of --svd-energy and --svd-ratio");
      const svd = o.svdEnergy !== undefined ? { energy: o.svdEnergy } : o.svdRatio !== undefined ? { ratio: o.svdRatio } : undefined;
      const packCache = packCacheDir({ ...o, svd });
      if (svd !== undefined) log("compressing weights with SVD…");
      const engine = await openLocalEngine(o.model, { shards: o.shards, device: o.device, svd, packCache, say: log });
      try {
        const r = await streamText(engine.client, engine.session(), o);
        if (o.stats) {
          const layout = engine.runners.map((s) => `${s.start}-${s.end}`).join(" ");
          log(`${r.tokens.length} tokens in ${r.seconds.toFixed(2)} s (${(r.tokens.length / r.seconds).toFixed(1)} tokens/s), shards ${layout}, device ${engine.runners[0].device}`);
        }
      } finally {
        await engine.close();
      }
    });
}

/** Generates with the flags' settings, streaming text to stdout as it comes. */
async function streamText(client: Parameters<typeof generate>[0], chain: Parameters<typeof generate>[1], o: GenerateFlags) {
  const r = await generate(client, chain, {
    prompt: o.prompt,
    maxTokens: o.maxTokens,
    temperature: o.temperature,
    topP: o.topP,
    seed: o.seed,
    onText: (t) => process.stdout.write(t),
  });
  process.stdout.write("\n");
  // say why there are fewer tokens than asked for, rather than stop silently
  if (r.tokens.length < o.maxTokens) log(`the model ended the text after ${r.tokens.length} of ${o.maxTokens} tokens (end of sequence)`);
  return r;
}

async function generateOnSwarm(o: GenerateFlags): Promise<void> {
  if (o.model === undefined) throw new InvalidArgumentError("--model <file> is needed: the client holds the embedding and the output head");
  if (o.svdEnergy !== undefined || o.svdRatio !== undefined || o.shards !== 1 || o.packCache !== undefined) throw new InvalidArgumentError("--svd-*, --shards and --pack-cache apply to --local only");
  const swarm = await openSwarmClient({ rpc: o.rpc, deployments: o.deployments, model: o.model, device: o.device, confirmations: o.confirmations, listen: o.listen });
  if (o.stats) {
    // how each peer is reached: through a relay first, then directly once DCUtR upgrades
    swarm.net.node.addEventListener("connection:open", (e) => {
      const c = e.detail;
      log(`connection to ${c.remotePeer}: ${isRelayed(c.remoteAddr) ? "relayed" : "direct"} (${c.direction}, ${c.remoteAddr})`);
    });
  }
  try {
    const chain = swarm.session({
      onFailover: (peer, route) => log(`\nserver ${peer} failed; rerouted over ${route.map((r) => `${r.start}-${r.end}`).join(" ")} and replayed the history`),
      onRoute: (route) => {
        if (o.stats) log(`route ${route.map((r) => `${r.start}-${r.end}@${r.peer}`).join(" ")}`);
      },
      onReached: (peer, relayed, via) => {
        if (relayed) log(`first hop ${peer} is relayed (${via}): no direct connection to it yet`);
        else if (o.stats) log(`first hop ${peer}: direct connection (${via})`);
      },
    });
    const r = await streamText(swarm.net.client, chain, o);
    await chain.close();
    if (o.audit) await swarm.maybeAudit(chain, [...r.promptIds, ...r.tokens], o.auditShare, log);
    if (o.stats) {
      log(`${r.tokens.length} tokens in ${r.seconds.toFixed(2)} s (${(r.tokens.length / r.seconds).toFixed(1)} tokens/s) over ${chain.route?.map((x) => `${x.start}-${x.end}@${x.peer.slice(-6)}`).join(" ")}, ${chain.failovers} failover(s)`);
    }
  } finally {
    await swarm.close();
  }
}
