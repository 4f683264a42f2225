// A reverted ledger call, in words a user can act on (custom errors carry the values).
import { formatUnits, type Interface } from "ethers";

export class LedgerRevertError extends Error {
  override readonly name = "LedgerRevertError";
  readonly error: string;
  constructor(error: string, message: string) {
    super(message);
    this.error = error;
  }
}

function revertData(err: unknown): string | undefined {
  let e = err as Record<string, unknown> | undefined;
  for (let i = 0; e !== undefined && i < 6; i++) {
    if (typeof e.data === "string" && e.data.startsWith("0x") && e.data.length >= 10) return e.data;
    e = (e.error ?? e.info ?? e.cause) as Record<string, unknown> | undefined;
  }
  return undefined;
}

const tok = (x: bigint) => formatUnits(x, 18);

/** Runs a ledger transaction (or call), turning a custom-error revert into LedgerRevertError.
 * `ifaces`: the contracts whose errors may surface (the ledger, and the token it calls). */
export async function explainReverts<T>(ifaces: Interface | Interface[], f: () => Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (err) {
    const data = revertData(err);
    let parsed = null;
    for (const iface of Array.isArray(ifaces) ? ifaces : [ifaces]) {
      parsed ??= data === undefined ? null : iface.parseError(data);
    }
    if (parsed === null) throw err;
    const a = parsed.args;
    const msg: Record<string, () => string> = {
      TrustLedgerInsufficientStake: () => `stake ${tok(a[1])} is below the minimum of ${tok(a[2])} tokens`,
      TrustLedgerInsufficientHardware: () => `hardware below the admission threshold (memory ${a[1]} MiB, throughput ${a[2]})`,
      TrustLedgerInvalidLayerRange: () => `layers ${a[0]}-${a[1]} are outside the model's ${a[2]} layers`,
      TrustLedgerPeerIdTaken: () => `this peer id is registered by ${a[1]} already`,
      TrustLedgerAlreadyRegistered: () => `${a[0]} is registered already`,
      TrustLedgerNotActive: () => `${a[0]} is not an active server or verifier`,
      TrustLedgerNotRegistered: () => `${a[0]} is not registered`,
      TrustLedgerUnbondTooLarge: () => `cannot unbond ${tok(a[1])}: the stake is ${tok(a[2])}`,
      TrustLedgerNothingUnbonding: () => `nothing is unbonding for ${a[0]}: run \`efed unstake\` first`,
      TrustLedgerUnbondingNotReady: () => `the stake can be withdrawn from ${new Date(Number(a[1]) * 1000).toISOString()} on`,
      TrustLedgerNothingToClaim: () => `${a[0]} has no rewards to claim yet (\`efed claim --wait\` waits for them)`,
      ERC20InsufficientBalance: () => `the wallet holds ${tok(a[1])} tokens, ${tok(a[2])} are needed`,
    };
    throw new LedgerRevertError(parsed.name, msg[parsed.name]?.() ?? `${parsed.name}(${a.map(String).join(", ")})`);
  }
}
