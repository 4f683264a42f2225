// `efed deploy --network <name>`: the public networks of hardhat.config.ts. Their RPC URL and
// the deployer's key are Hardhat configuration variables read from the environment, so a
// missing one is named here, with what to set, before Hardhat would fail on it.
import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";

export class NetworkConfigError extends Error {
  override readonly name = "NetworkConfigError";
}

interface ConfigVariable {
  readonly _type: "ConfigurationVariable";
  readonly name: string;
}

const isVariable = (v: unknown): v is ConfigVariable => (v as ConfigVariable | undefined)?._type === "ConfigurationVariable";

/** Networks a deployment can name: the JSON-RPC ones other than `localhost` (use --rpc for it). */
export function deployNetworks(hre: HardhatRuntimeEnvironment): string[] {
  return Object.entries(hre.config.networks)
    .filter(([name, n]) => n.type === "http" && name !== "localhost")
    .map(([name]) => name);
}

/** The environment variables network `name` reads (its URL's, then its accounts'). */
export function networkVariables(hre: HardhatRuntimeEnvironment, name: string): string[] {
  const user = hre.userConfig.networks?.[name] as { url?: unknown; accounts?: unknown } | undefined;
  const vars = [user?.url, ...(Array.isArray(user?.accounts) ? user.accounts : [])].filter(isVariable);
  return vars.map((v) => v.name);
}

/** Checks that `name` is a deployable network with its variables set; returns its URL. */
export async function resolveNetwork(hre: HardhatRuntimeEnvironment, name: string, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const known = deployNetworks(hre);
  const config = hre.config.networks[name];
  if (config === undefined || !known.includes(name)) {
    throw new NetworkConfigError(`no network "${name}" in hardhat.config.ts: choose one of ${known.join(", ")}, or give --rpc <url>`);
  }
  if (config.type !== "http") throw new NetworkConfigError(`network "${name}" is not reached over JSON-RPC`);
  const vars = networkVariables(hre, name);
  const missing = vars.filter((v) => !env[v]);
  if (missing.length > 0) {
    throw new NetworkConfigError(`network ${name} reads ${vars.join(" and ")} from the environment: set ${missing.join(" and ")} (e.g. export ${missing[0]}=…)`);
  }
  return config.url.get();
}

/** Refuses a network's URL that reaches another chain than the one it names (Hardhat would
 * too, in its own words): a mainnet URL in SEPOLIA_RPC_URL must not deploy to mainnet. */
export function checkNetworkChain(hre: HardhatRuntimeEnvironment, name: string, chainId: bigint): void {
  const expected = hre.config.networks[name]?.chainId;
  if (expected !== undefined && BigInt(expected) !== chainId) {
    const vars = networkVariables(hre, name);
    throw new NetworkConfigError(`${vars[0] ?? "the URL"} of network ${name} reaches chain ${chainId}, not ${name}'s ${expected}: fix the URL`);
  }
}

/** A URL fit to record: no credentials, and no path or query (providers put API keys there). */
export function redactUrl(url: string): string {
  const u = new URL(url);
  const hidden = u.pathname !== "/" || u.search !== "";
  return `${u.protocol}//${u.host}${hidden ? "/…" : ""}`;
}
