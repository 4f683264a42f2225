// `efed chain`: run the embedded local chain until interrupted.
import type { Command } from "commander";
import { startLocalChain } from "../chain/local-chain.ts";
import { log, parsePort } from "./common.ts";

export function chainCommand(program: Command): void {
  program
    .command("chain")
    .description("start the embedded local chain (Hardhat EDR, chain id 31337) and keep it running")
    .option("--port <port>", "JSON-RPC port", parsePort, 8545)
    .option("--host <host>", "interface to listen on", "127.0.0.1")
    .addHelpText(
      "after",
      `
The chain mines a block every second, so block time (and with it the ledger's epochs)
advances even when nobody sends a transaction. Its 20 accounts are funded with test ether;
the first one deploys the contracts. State lives in memory: stopping the chain forgets it.

Example:
  $ efed chain --port 8545
  $ efed deploy            # in another terminal`,
    )
    .action(async (opts: { port: number; host: string }) => {
      const chain = await startLocalChain(opts.host, opts.port);
      log(`local chain listening on ${chain.url} (chain id 31337, a block every second)`);
      log("deployer: 0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266 (Hardhat's first test account)");
      log("press Ctrl-C to stop");
      await new Promise<void>((resolve) => {
        const stop = () => {
          log("stopping local chain");
          void chain.server.close().then(resolve);
        };
        process.once("SIGINT", stop);
        process.once("SIGTERM", stop);
      });
    });
}
