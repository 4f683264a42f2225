// A snapshot of the ledger for `efed status`: epoch, parameters, coverage, every server
// and verifier with stake, S_i and pending rewards. Plain data, ready for JSON.
import { formatUnits } from "ethers";
import { SERVER_STATUS, VERIFIER_STATUS, type LedgerHandle } from "./ledger.ts";

const fmt = (x: bigint) => formatUnits(x, 18);

export interface ServerStatusRow {
  address: string;
  status: (typeof SERVER_STATUS)[number];
  layers: [number, number];
  trust: string;
  stake: string;
  unbonding: string;
  pendingRewards: string;
  lastSettledEpoch: number | null;
  peerId: string;
  addrs: string[];
}

export interface VerifierStatusRow {
  address: string;
  status: (typeof VERIFIER_STATUS)[number];
  stake: string;
  unbonding: string;
  strikes: number;
  pendingRewards: string;
}

export interface LedgerStatus {
  chainId: string;
  ledger: string;
  epoch: number;
  epochSeconds: number;
  numLayers: number;
  theta: string;
  /** Committee stake of the current epoch (bonded verifier stake at its start). */
  committeeStake: string;
  covered: boolean;
  coverage: number[];
  rewardPool: string;
  servers: ServerStatusRow[];
  verifiers: VerifierStatusRow[];
}

const PAGE = 200;

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type View = any;

/** Every record of a paginated ledger view (`count()` then `page(offset, limit)`). */
async function readPages(ledger: LedgerHandle["ledger"], count: string, page: string, at: { blockTag?: number }): Promise<View[]> {
  const n = Number(await ledger.getFunction(count)(at));
  const out: View[] = [];
  for (let offset = 0; offset < n; offset += PAGE) out.push(...((await ledger.getFunction(page)(offset, PAGE, at)) as View[]));
  return out;
}

/** The ledger at its head, or at `blockTag` (the dashboard reads the confirmed block). */
export async function readStatus(h: LedgerHandle, blockTag?: number): Promise<LedgerStatus> {
  const { ledger } = h;
  const at = blockTag === undefined ? {} : { blockTag };
  const [epoch, epochLength, model, params, coverage, pool, serverViews, verifierViews] = await Promise.all([
    ledger.currentEpoch(at),
    ledger.epochLength(at),
    ledger.model(at),
    ledger.params(at),
    ledger.coverage(at),
    ledger.rewardPool(at),
    readPages(ledger, "serverCount", "serversPage", at),
    readPages(ledger, "verifierCount", "verifiersPage", at),
  ]);
  const committee: bigint = await ledger.committeeStake(epoch, at);
  const servers: ServerStatusRow[] = await Promise.all(
    serverViews.map(async (s) => {
      return {
        address: s.account as string,
        status: SERVER_STATUS[Number(s.status)],
        layers: [Number(s.start), Number(s.end)] as [number, number],
        trust: fmt(s.trust),
        stake: fmt(s.stake),
        unbonding: fmt(s.unbonding),
        pendingRewards: fmt(s.pendingRewards),
        lastSettledEpoch: s.lastSettledEpoch === 2n ** 64n - 1n ? null : Number(s.lastSettledEpoch),
        peerId: s.peerId,
        addrs: [...s.addrs],
      };
    }),
  );
  const verifiers: VerifierStatusRow[] = await Promise.all(
    verifierViews.map(async (v) => {
      return {
        address: v.account as string,
        status: VERIFIER_STATUS[Number(v.status)],
        stake: fmt(v.stake),
        unbonding: fmt(v.unbonding),
        strikes: Number(v.strikes),
        pendingRewards: fmt(v.pendingRewards),
      };
    }),
  );
  const counts = (coverage as bigint[]).map(Number);
  return {
    chainId: h.deployment.chainId,
    ledger: h.deployment.ledger,
    epoch: Number(epoch),
    epochSeconds: Number(epochLength),
    numLayers: Number(model.numLayers),
    theta: fmt(params.theta),
    committeeStake: fmt(committee),
    covered: counts.every((c) => c > 0),
    coverage: counts,
    rewardPool: fmt(pool),
    servers,
    verifiers,
  };
}

/** The status as a few aligned lines for a terminal. */
export function formatStatus(s: LedgerStatus): string {
  const lines = [
    `chain ${s.chainId}  ledger ${s.ledger}  epoch ${s.epoch} (${s.epochSeconds}s)  θ ${s.theta}  committee ${s.committeeStake}`,
    `layers ${s.numLayers}  coverage [${s.coverage.join(" ")}]${s.covered ? "" : "  (not fully covered)"}  reward pool ${s.rewardPool}`,
    "",
    `servers (${s.servers.length})`,
  ];
  for (const r of s.servers) {
    lines.push(
      `  ${r.address}  ${r.status.padEnd(11)} layers ${r.layers[0]}-${r.layers[1]}  S ${r.trust.padEnd(6)} stake ${r.stake}  pending ${r.pendingRewards}`,
    );
  }
  lines.push("", `verifiers (${s.verifiers.length})`);
  for (const v of s.verifiers) {
    lines.push(`  ${v.address}  ${v.status.padEnd(11)} stake ${v.stake}  strikes ${v.strikes}  pending ${v.pendingRewards}`);
  }
  return lines.join("\n");
}
