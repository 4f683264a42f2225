// The latency arithmetic for the multi-host test (test/e2e/multihost.test.ts), apart so the
// README's figure and the test's come from one place. Each token is one decode step: the
// client's hidden state goes client → server 0-3 (3 links: client–bridge, bridge–router,
// router–host; the same count through the relay, which sits on the bridge), server 0-3 →
// relay → server 3-5 (4 links), and the result comes back the same way (7 links). Every 8
// steps a seal makes one more round trip (SEAL_EVERY). Compute is left out: a ceiling.
import { SEAL_EVERY } from "../node/client/remote.ts";

export const LINKS = { clientToFirst: 3, firstToSecond: 4, perToken: 2 * (3 + 4) } as const;

/** Tokens/s the links allow at `delayMs` one way per link (Infinity with no delay). */
export function predictTokensPerSecond(delayMs: number): number {
  const perToken = LINKS.perToken * delayMs * (1 + 1 / SEAL_EVERY);
  return perToken === 0 ? Infinity : 1000 / perToken;
}
