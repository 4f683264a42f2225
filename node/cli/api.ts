// `efed api`: the OpenAI-compatible HTTP API (and the dashboard) over the swarm or --local.
import { InvalidArgumentError, Option, type Command } from "commander";
import { openLocalBackend, openSwarmBackend, type Backend } from "../api/backend.ts";
import { isLoopback } from "../api/http.ts";
import { dashboardRoutes } from "../api/dashboard.ts";
import { ApiServer, DEFAULT_MAX_BODY, DEFAULT_MAX_CONCURRENT } from "../api/server.ts";
import { DEVICES, type Device } from "../model/onnx/runtime.ts";
import { CONFIRMATIONS_HELP, DEFAULT_DEPLOYMENTS, DEFAULT_RPC, log, logToFile, packCacheDir, packCacheOption, parsePort, parseUrl, threadsOption } from "./common.ts";
import { parseFloatIn, parseIntIn } from "./generate.ts";

interface ApiFlags {
  model: string;
  port: number;
  host: string;
  local?: boolean;
  apiKey?: string;
  rpc: string;
  deployments: string;
  device: Device;
  shards: number;
  maxBody: number;
  parallel: number;
  auditShare: number;
  audit: boolean;
  confirmations?: number;
  log?: string;
  packCache?: string | true;
}

export function apiCommand(program: Command): void {
  program
    .command("api")
    .description("serve an OpenAI-compatible API (chat and text completions, streamed or not) and a live dashboard, over the swarm or --local")
    .requiredOption("--model <file>", "model: a GGUF file or a Hugging Face directory (the client side holds its embedding and head)")
    .option("--port <n>", "HTTP port (0: any free port)", parsePort, 8080)
    .option("--host <addr>", "address to bind; anything beyond loopback needs --api-key", "127.0.0.1")
    .option("--local", "run every layer in this process instead of the swarm")
    .addOption(new Option("--api-key <key>", "required from clients as `Authorization: Bearer <key>`").env("EFED_API_KEY"))
    .option("--rpc <url>", "JSON-RPC endpoint of the chain (swarm mode)", parseUrl, DEFAULT_RPC)
    .option("--deployments <dir>", "where deployments/<chainId>.json is read", DEFAULT_DEPLOYMENTS)
    .addOption(new Option("--device <device>", "execution provider").choices([...DEVICES]).default("cpu"))
    .addOption(threadsOption())
    .option("--shards <k>", "--local: split the layers into k shards", parseIntIn(1, 4096), 1)
    .addOption(packCacheOption())
    .option("--max-body <bytes>", "largest request body", parseIntIn(1024, 1 << 30), DEFAULT_MAX_BODY)
    .option("--parallel <n>", "generations at once; more are answered 429", parseIntIn(1, 1024), DEFAULT_MAX_CONCURRENT)
    .option("--audit-share <p>", "share of sessions handed to a verifier for an audit (swarm mode)", parseFloatIn(0, 1), 0.05)
    .option("--no-audit", "never hand a session to a verifier")
    .option("--confirmations <n>", CONFIRMATIONS_HELP, parseIntIn(0, 1000))
    .option("--log <file>", "also append every notice, with its time, to this file")
    .addHelpText(
      "after",
      `
Endpoints (OpenAI's shapes and error JSON; point any OpenAI client at http://<host>:<port>/v1):
  POST /v1/chat/completions   messages, max_tokens, temperature, top_p, seed, stop, stream
  POST /v1/completions        prompt, the same options
  GET  /v1/models             the one model served, its id is the file name without extension
  GET  /                      the dashboard: coverage, S_i over epochs, stakes, rewards,
                              verifiers, settlements and slashes, a chat box (streams)

Generation goes through the swarm exactly as \`efed generate\` does (routing, failover,
every window's receipts checked, --audit-share of sessions handed to a verifier), or --local.
The context is the model's (512 tokens for stories260K): prompt + max_tokens beyond it is a
400. A client that disconnects stops its generation and frees the servers' sessions.
Errors: 400 bad JSON or parameters / too long for the context, 401 API key, 404 unknown
model, 413 body too large, 429 busy (--parallel), 502 swarm failure, 503 the swarm does not
cover the model or its servers are busy.

Examples:
  $ efed api --local --model ../shared/models/stories260K-f32.gguf --port 8080
  $ efed api --local --pack-cache --model model.gguf      (F32 or F16: later starts map the packed weights)
  $ curl -s localhost:8080/v1/completions -H 'content-type: application/json' \\
      -d '{"model": "stories260K-f32", "prompt": "Once upon a time", "max_tokens": 32, "temperature": 0}'
  $ EFED_API_KEY=secret efed api --model ../shared/models/stories260K-f32.gguf --host 0.0.0.0`,
    )
    .action(async (o: ApiFlags) => {
      if (o.log !== undefined) logToFile(o.log);
      if (!isLoopback(o.host) && !o.apiKey) throw new InvalidArgumentError(`--host ${o.host} is reachable beyond this machine: set --api-key (or EFED_API_KEY)`);
      if (!o.local && (o.shards !== 1 || o.packCache !== undefined)) throw new InvalidArgumentError("--shards and --pack-cache apply to --local only");
      const packCache = packCacheDir(o);
      log(o.local ? `loading ${o.model}…` : `connecting to the swarm at ${o.rpc}…`);
      const backend: Backend = o.local
        ? await openLocalBackend(o.model, { device: o.device, shards: o.shards, packCache, say: log })
        : await openSwarmBackend({ rpc: o.rpc, deployments: o.deployments, model: o.model, device: o.device, auditShare: o.audit ? o.auditShare : 0, confirmations: o.confirmations, log });
      const api = new ApiServer(backend, { apiKey: o.apiKey, maxBodyBytes: o.maxBody, maxConcurrent: o.parallel, log, extra: dashboardRoutes(backend) });
      let addr;
      try {
        addr = await api.listen(o.port, o.host);
      } catch (err) {
        await backend.close();
        throw err;
      }
      // signal handlers before the ready line: whoever waits for it may signal at once
      const stopped = new Promise<void>((resolve) => {
        process.once("SIGINT", resolve);
        process.once("SIGTERM", resolve);
      });
      const host = addr.family === "IPv6" ? `[${addr.address}]` : addr.address;
      process.stdout.write(`http://${host}:${addr.port}/v1\n`);
      log(`dashboard at http://${host}:${addr.port}/`);
      log(`api ready: model ${backend.modelId} (${backend.mode}${backend.hasChatTemplate ? "" : ", plain chat template"}) at http://${host}:${addr.port}/v1${o.apiKey ? ", API key required" : ""}`);
      await stopped;
      log("stopping: aborting generations under way…");
      await api.close();
      await backend.close();
    });
}
