// `efed unstake`, `efed withdraw`, `efed claim`: leaving, and getting paid.
import type { Command } from "commander";
import { formatUnits, parseUnits } from "ethers";
import { explainReverts } from "../chain/revert.ts";
import { ChainClock } from "../chain/clock.ts";
import { DEFAULT_DEPLOYMENTS, DEFAULT_RPC, log, parseUrl, progressLine } from "./common.ts";
import { watchEpochs } from "./epoch-progress.ts";
import { parseIntIn } from "./generate.ts";
import { openSigned, type SignedLedger } from "./signer.ts";
import { ServerStatus } from "../chain/enums.ts";

interface WalletFlags {
  wallet: string;
  rpc: string;
  deployments: string;
}

/** Unlocks the wallet, runs `f` with the ledger as its signer, and always lets go of the provider. */
async function withWallet<T>(o: WalletFlags, f: (h: SignedLedger) => Promise<T>): Promise<T> {
  const h = await openSigned(o.rpc, o.deployments, o.wallet, "unlock the wallet");
  try {
    return await f(h);
  } finally {
    h.provider.destroy();
  }
}

const walletOptions = (c: Command) =>
  c
    .requiredOption("--wallet <file>", "wallet keystore (password from EFED_PASSWORD or a prompt)")
    .option("--rpc <url>", "JSON-RPC endpoint of the chain", parseUrl, DEFAULT_RPC)
    .option("--deployments <dir>", "where deployments/<chainId>.json is read", DEFAULT_DEPLOYMENTS);

export function stakingCommands(program: Command): void {
  walletOptions(program.command("unstake"))
    .description("start unbonding stake (all of it by default: the server or verifier stops serving)")
    .option("--amount <tokens>", "unbond only this much")
    .addHelpText("after", "\nThe stake stays slashable until the end of this epoch plus the unbonding delay; then run `efed withdraw`.")
    .action((o: WalletFlags & { amount?: string }) =>
      withWallet(o, async (h) => {
        const s = await h.ledger.getServer(h.address);
        const v = await h.ledger.getVerifier(h.address);
        const stake: bigint = Number(s.status) !== ServerStatus.none ? s.stake : v.stake;
        const amount = o.amount === undefined ? stake : parseUnits(o.amount, 18);
        const rc = await explainReverts([h.ledger.interface, h.token.interface], async () => (await h.ledgerW.requestUnbond(amount)).wait());
        const ev = rc.logs.map((l: never) => h.ledger.interface.parseLog(l)).find((e: { name: string } | null) => e?.name === "UnbondRequested");
        log(`unbonding ${formatUnits(amount, 18)} tokens; withdraw from ${new Date(Number(ev.args.withdrawableAt) * 1000).toISOString()} on`);
      }),
    );

  walletOptions(program.command("withdraw"))
    .description("take unbonded stake out once its delay has passed")
    .action((o: WalletFlags) =>
      withWallet(o, async (h) => {
        const before: bigint = await h.token.balanceOf(h.address);
        await explainReverts([h.ledger.interface, h.token.interface], async () => (await h.ledgerW.withdraw()).wait());
        const after: bigint = await h.token.balanceOf(h.address);
        log(`withdrew ${formatUnits(after - before, 18)} tokens`);
      }),
    );

  walletOptions(program.command("claim"))
    .description("pay out the rewards and fees credited to the wallet")
    .option("--wait [epochs]", "when nothing is payable yet, wait for it (at most this many epochs, default 10), showing the epochs go by", parseIntIn(1, 100_000))
    .addHelpText("after", "\nA server's reward for epoch e is payable once e is settled and final (from epoch e+3); a\nverifier's fee once the epoch its report covers is settled.\n\nExample:\n  $ efed claim --wallet ~/.efed/wallets/0x….json --wait")
    .action((o: WalletFlags & { wait?: number | true }) =>
      withWallet(o, async (h) => {
        if (o.wait !== undefined) await waitForRewards(h, o.wait === true ? 10 : o.wait);
        const before: bigint = await h.token.balanceOf(h.address);
        await explainReverts([h.ledger.interface, h.token.interface], async () => (await h.ledgerW.claim()).wait());
        const after: bigint = await h.token.balanceOf(h.address);
        console.log(formatUnits(after - before, 18));
        log(`claimed ${formatUnits(after - before, 18)} tokens`);
      }),
    );
}

/** Waits until the wallet has something to claim, at most `epochs` epochs, the epochs shown
 * going by; refuses with one line when nothing came. */
async function waitForRewards(h: SignedLedger, epochs: number): Promise<void> {
  const pending = async () => (await h.ledger.pendingRewards(h.address)) as bigint;
  if ((await pending()) > 0n) return;
  const epochLength = Number(await h.ledger.epochLength());
  const genesis = Number(await h.ledger.genesis());
  const clock = new ChainClock(h.provider);
  await clock.refresh();
  const from = Math.floor((clock.now() - genesis) / epochLength);
  const watch = watchEpochs({ clock, genesis, epochLength, line: progressLine }, (e) => `nothing payable yet for ${h.address}: waiting for settlement (${from + epochs - e} epoch(s) more at most; Ctrl-C to stop)`, { sparseEveryMs: 0 });
  try {
    for (;;) {
      if ((await pending()) > 0n) return;
      if (Math.floor((clock.now() - genesis) / epochLength) >= from + epochs) {
        throw new Error(`nothing to claim for ${h.address} after ${epochs} epoch(s): are verifiers running (q = 3 of them settle an epoch), and did this wallet serve or verify?`);
      }
      await new Promise((r) => setTimeout(r, 1000));
    }
  } finally {
    watch.stop();
  }
}
