// `efed status`: the ledger as the swarm sees it.
import type { Command } from "commander";
import { openLedger } from "../chain/ledger.ts";
import { formatStatus, readStatus } from "../chain/status.ts";
import { DEFAULT_DEPLOYMENTS, DEFAULT_RPC, parseUrl } from "./common.ts";

export function statusCommand(program: Command): void {
  program
    .command("status")
    .description("print servers (layers, S_i, stake, pending rewards), verifiers and coverage")
    .option("--rpc <url>", "JSON-RPC endpoint of the chain", parseUrl, DEFAULT_RPC)
    .option("--deployments <dir>", "where deployments/<chainId>.json is read", DEFAULT_DEPLOYMENTS)
    .option("--json", "print JSON instead of a table")
    .addHelpText("after", "\nExample:\n  $ efed status --json | jq '.servers[] | {address, status, trust}'")
    .action(async (opts: { rpc: string; deployments: string; json?: boolean }) => {
      const h = await openLedger(opts.rpc, opts.deployments);
      try {
        const s = await readStatus(h);
        console.log(opts.json ? JSON.stringify(s, null, 2) : formatStatus(s));
      } finally {
        h.provider.destroy();
      }
    });
}
