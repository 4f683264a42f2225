// `efed chain`: Hardhat's EDR chain behind a JSON-RPC server on this machine. It mines
// every second (network "node" in hardhat.config.ts) so the ledger's epochs advance.
import { createServer } from "node:net";
import type { JsonRpcServer } from "hardhat/types/network";
import { loadHre } from "./hre.ts";

export class LocalChainError extends Error {
  override readonly name = "LocalChainError";
}

export interface LocalChain {
  readonly url: string;
  readonly server: JsonRpcServer;
}

/** Fails with a clear message when host:port cannot be bound (Hardhat's server would
 * throw an unhandled error from its WebSocket side instead). */
function checkPortFree(host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once("error", (err: NodeJS.ErrnoException) => {
      const why = err.code === "EADDRINUSE" ? "is in use: is another chain already running? pick another --port" : `cannot be used (${err.code})`;
      reject(new LocalChainError(`${host}:${port} ${why}`));
    });
    probe.listen(port, host, () => probe.close(() => resolve()));
  });
}

export async function startLocalChain(host = "127.0.0.1", port = 8545): Promise<LocalChain> {
  if (port !== 0) await checkPortFree(host, port);
  const hre = await loadHre();
  const server = await hre.network.createServer({ network: "node" }, host, port);
  const addr = await server.listen();
  return { url: `http://${addr.address}:${addr.port}`, server };
}
