// `efed wallet new|import|list` and `efed fund`.
import type { Command } from "commander";
import { formatUnits } from "ethers";
import { openLedger } from "../chain/ledger.ts";
import { createWallet, defaultWalletDir, importWallet, listWallets } from "../wallet/keystore.ts";
import { fundAddress } from "../wallet/fund.ts";
import { readPassword } from "../wallet/password.ts";
import { DEFAULT_DEPLOYMENTS, DEFAULT_RPC, log, parseUrl } from "./common.ts";
import { parseFloatIn } from "./generate.ts";

export function walletCommand(program: Command): void {
  const wallet = program.command("wallet").description("create, import and list encrypted wallets (ethers JSON keystores)");
  const common = (c: Command) =>
    c
      .option("--dir <dir>", "wallet directory", defaultWalletDir())
      .option("--rpc <url>", "chain to fund the wallet on (local chain only)", parseUrl, DEFAULT_RPC)
      .option("--deployments <dir>", "where deployments/<chainId>.json is read", DEFAULT_DEPLOYMENTS);

  common(wallet.command("new"))
    .description("create a wallet; on the embedded local chain, fund it with gas money and stake tokens")
    .option("--no-fund", "do not fund it")
    .addHelpText("after", "\nThe password comes from EFED_PASSWORD or a prompt.\nExample:\n  $ EFED_PASSWORD=… efed wallet new\n  0x1234…abcd  ~/.efed/wallets/0x1234…abcd.json")
    .action(async (o: { dir: string; fund: boolean; rpc: string; deployments: string }) => {
      const pw = await readPassword("encrypt the new wallet", { confirm: true });
      const w = await createWallet(o.dir, pw);
      console.log(`${w.address}  ${w.file}`);
      if (o.fund) await tryFund(o.rpc, o.deployments, w.address);
    });

  common(wallet.command("import"))
    .description("import a private key (from EFED_PRIVATE_KEY or a prompt) into an encrypted wallet")
    .action(async (o: { dir: string }) => {
      const key = process.env.EFED_PRIVATE_KEY ?? (await readPassword("import (the private key, hex)"));
      const pw = await readPassword("encrypt the imported wallet", { confirm: true });
      const w = await importWallet(o.dir, key, pw);
      console.log(`${w.address}  ${w.file}`);
    });

  wallet
    .command("list")
    .description("list the wallets in the wallet directory")
    .option("--dir <dir>", "wallet directory", defaultWalletDir())
    .action((o: { dir: string }) => {
      const ws = listWallets(o.dir);
      if (ws.length === 0) log(`no wallets in ${o.dir}: create one with \`efed wallet new\``);
      for (const w of ws) console.log(`${w.address}  ${w.file}`);
    });

  program
    .command("fund")
    .description("send gas money and stake tokens to an address (embedded local chain only)")
    .argument("<address>", "0x… address")
    .option("--amount <tokens>", "stake tokens to send", parseFloatIn(0, 1e12, true), 1000)
    .option("--rpc <url>", "JSON-RPC endpoint of the chain", parseUrl, DEFAULT_RPC)
    .option("--deployments <dir>", "where deployments/<chainId>.json is read", DEFAULT_DEPLOYMENTS)
    .action(async (address: string, o: { amount: number; rpc: string; deployments: string }) => {
      if (!/^0x[0-9a-fA-F]{40}$/.test(address)) throw new Error(`${address} is not an address (0x and 40 hex digits)`);
      const h = await openLedger(o.rpc, o.deployments);
      try {
        const r = await fundAddress(h, address, String(o.amount));
        log(`sent ${formatUnits(r.ether, 18)} ETH and ${formatUnits(r.tokens, 18)} EFED to ${address}`);
      } finally {
        h.provider.destroy();
      }
    });
}

async function tryFund(rpc: string, deployments: string, address: string): Promise<void> {
  let h;
  try {
    h = await openLedger(rpc, deployments);
  } catch (err) {
    log(`not funded: ${(err as Error).message}`);
    return;
  }
  try {
    const r = await fundAddress(h, address);
    log(`funded with ${formatUnits(r.ether, 18)} ETH and ${formatUnits(r.tokens, 18)} EFED`);
  } catch (err) {
    if ((err as Error).name !== "FundingRefusedError") throw err;
    log(`not funded: ${(err as Error).message}`);
  } finally {
    h.provider.destroy();
  }
}
