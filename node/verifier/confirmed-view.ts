// The ledger as the verifier reads it before it decides: at the confirmed block (head −
// confirmations, chain/confirmed.ts). Committees, who owns a peer, report states and due
// slashes are read there, so a registration, commitment or settlement that a reorganisation
// later drops is never acted on; transactions still go to the head (their windows are the
// chain's time, not the confirmed block's). A reorg deeper than the confirmations is passed
// on to `onReorg`, so whoever kept what it read there forgets it.
import type { Contract, ContractRunner, TransactionRequest } from "ethers";
import type { ConfirmedReader } from "../chain/confirmed.ts";

/** `ledger` with every view call made at `block` (state reads only: it has no signer). */
export function ledgerAtBlock(ledger: Contract, block: number): Contract {
  const provider = ledger.runner!.provider!;
  const runner: ContractRunner = { provider, call: (tx: TransactionRequest) => provider.call({ ...tx, blockTag: tx.blockTag ?? block }) };
  return ledger.connect(runner) as Contract;
}

export interface ConfirmedLedger {
  /** The ledger read at `block`. */
  readonly ledger: Contract;
  /** The confirmed block. */
  readonly block: number;
  /** block + confirmations: the head when `block` was found (above it while the chain is
   * younger than the confirmations: then block is 0). */
  readonly head: number;
}

export class ConfirmedView {
  private readonly ledger: Contract;
  private readonly reader: ConfirmedReader;
  private readonly onReorg: (from: number) => void;
  private readonly maxAgeMs: number;
  private last?: { at: number; view: ConfirmedLedger };
  private inflight?: Promise<ConfirmedLedger>;

  /** `maxAgeMs`: how long one look-up serves (the daemon reads several things per 250 ms tick). */
  constructor(ledger: Contract, reader: ConfirmedReader, onReorg: (from: number) => void, maxAgeMs = 1000) {
    this.ledger = ledger;
    this.reader = reader;
    this.onReorg = onReorg;
    this.maxAgeMs = maxAgeMs;
  }

  get confirmations(): number {
    return this.reader.confirmations;
  }

  /** The ledger at the newest confirmed block. One look-up at a time: the reader's record of
   * blocks seen (which finds reorgs) is not shared between concurrent calls. `fresh`: not
   * one looked up before (a head that must include a transaction just mined). */
  async at(fresh = false): Promise<ConfirmedLedger> {
    if (!fresh && this.last !== undefined && Date.now() - this.last.at < this.maxAgeMs) return this.last.view;
    if (fresh) await this.inflight?.catch(() => {}); // one begun earlier may predate what the caller just did
    this.inflight ??= this.lookUp().finally(() => (this.inflight = undefined));
    return this.inflight;
  }

  private async lookUp(): Promise<ConfirmedLedger> {
    const { block, reorgFrom } = await this.reader.block();
    if (reorgFrom !== undefined) this.onReorg(reorgFrom);
    const view = { ledger: ledgerAtBlock(this.ledger, block.number), block: block.number, head: block.number + this.reader.confirmations };
    this.last = { at: Date.now(), view };
    return view;
  }
}
