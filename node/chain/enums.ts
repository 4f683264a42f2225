// The ledger's enums (contracts/interfaces/ITrustLedger.sol) by name: the ABI returns them as
// their indices (`getServer(a).status`, `getSlash(id).state`), compared against these.
export const ServerStatus = { none: 0, active: 1, exiting: 2, deactivated: 3, slashed: 4 } as const;
export const VerifierStatus = { none: 0, active: 1, exiting: 2 } as const;
export const SlashState = { none: 0, pending: 1, refuted: 2, executed: 3 } as const;
/** `reportState(epoch, verifier)`: a member's report on an epoch. */
export const ReportStatus = { none: 0, committed: 1, revealed: 2 } as const;

/** Names by index, as `efed status` prints them. */
export const SERVER_STATUS = ["none", "active", "exiting", "deactivated", "slashed"] as const;
export const VERIFIER_STATUS = ["none", "active", "exiting"] as const;
