// Reaching a chain over JSON-RPC, with errors a user can act on.

/** The chain id of the embedded local chain (`efed chain`, Hardhat's default). */
export const LOCAL_CHAIN_ID = 31337n;

export class ChainUnreachableError extends Error {
  override readonly name = "ChainUnreachableError";
}

/** Returns the chain id at `url`, or throws ChainUnreachableError with what to do. */
export async function probeChain(url: string, timeoutMs = 3000): Promise<bigint> {
  let res: Response;
  try {
    res = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_chainId", params: [] }),
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch {
    throw new ChainUnreachableError(`no chain at ${url}: start one with \`efed chain\` (or pass --rpc <url>)`);
  }
  let body: { result?: string };
  try {
    body = (await res.json()) as { result?: string };
  } catch {
    throw new ChainUnreachableError(`${url} answered, but not as an Ethereum JSON-RPC node (HTTP ${res.status})`);
  }
  if (typeof body.result !== "string") {
    throw new ChainUnreachableError(`${url} did not return a chain id`);
  }
  return BigInt(body.result);
}
