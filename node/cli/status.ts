// `efed status`: the ledger as the swarm sees it.
import type { Command } from "commander";
import { openLedger } from "../chain/ledger.ts";
import { formatStatus, readStatus } from "../chain/status.ts";
import { DEFAULT_DEPLOYMENTS, DEFAULT_RPC, parseUrl } from "./common.ts";
import { parseIntIn } from "./generate.ts";

export function statusCommand(program: Command): void {
  program
    .command("status")
    .description("print servers (layers, S_i, stake, pending rewards), verifiers and coverage")
    .option("--rpc <url>", "JSON-RPC endpoint of the chain", parseUrl, DEFAULT_RPC)
    .option("--deployments <dir>", "where deployments/<chainId>.json is read", DEFAULT_DEPLOYMENTS)
    .option("--json", "print JSON instead of a table")
    .option("--watch [seconds]", "refresh every few seconds (default 2) until Ctrl-C", parseIntIn(1, 3600))
    .addHelpText("after", "\nExamples:\n  $ efed status --json | jq '.servers[] | {address, status, trust}'\n  $ efed status --watch")
    .action(async (opts: { rpc: string; deployments: string; json?: boolean; watch?: number | true }) => {
      const h = await openLedger(opts.rpc, opts.deployments);
      const show = async () => {
        const s = await readStatus(h);
        return opts.json ? JSON.stringify(s, null, 2) : formatStatus(s);
      };
      try {
        if (opts.watch === undefined) return console.log(await show());
        const every = opts.watch === true ? 2 : opts.watch;
        const stop = new Promise<void>((r) => process.once("SIGINT", r));
        for (let done = false; !done; ) {
          const text = await show();
          // a terminal gets the screen redrawn; a pipe gets one snapshot after another
          process.stdout.write(process.stdout.isTTY ? `\x1b[H\x1b[2J${text}\n(every ${every} s; Ctrl-C to stop)\n` : `${text}\n\n`);
          done = await Promise.race([stop.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), every * 1000))]);
        }
      } finally {
        h.provider.destroy();
      }
    });
}
