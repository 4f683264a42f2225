// Wallets as encrypted JSON keystores (ethers), one file per address, with the node's
// libp2p key beside each: <dir>/<address>.json and <dir>/<address>.p2p.key.
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { basename, dirname, join } from "node:path";
import type { HDNodeWallet } from "ethers";
import { Wallet } from "ethers";

export class WalletError extends Error {
  override readonly name = "WalletError";
}

export function defaultWalletDir(): string {
  return join(process.env.EFED_HOME ?? join(homedir(), ".efed"), "wallets");
}

/** The libp2p key file that belongs to a wallet file. */
export function p2pKeyFile(walletFile: string): string {
  return join(dirname(walletFile), basename(walletFile).replace(/\.json$/, "") + ".p2p.key");
}

export interface WalletInfo {
  readonly address: string;
  readonly file: string;
}

async function save(dir: string, wallet: Wallet | HDNodeWallet, password: string, scryptN?: number): Promise<WalletInfo> {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const file = join(dir, `${wallet.address}.json`);
  if (existsSync(file)) throw new WalletError(`${file} exists already`);
  const json = await wallet.encrypt(password, scryptN === undefined ? undefined : { scrypt: { N: scryptN } } as never);
  writeFileSync(file, json, { mode: 0o600 });
  return { address: wallet.address, file };
}

/** A new random wallet. `scryptN` lowers the KDF cost (tests only). */
export async function createWallet(dir: string, password: string, scryptN?: number): Promise<WalletInfo> {
  return save(dir, Wallet.createRandom(), password, scryptN);
}

export async function importWallet(dir: string, privateKey: string, password: string): Promise<WalletInfo> {
  let w: Wallet;
  try {
    w = new Wallet(privateKey.trim());
  } catch {
    throw new WalletError("not a valid private key (expected 32 bytes of hex)");
  }
  return save(dir, w, password);
}

export function listWallets(dir: string): WalletInfo[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith(".json"))
    .flatMap((f) => {
      try {
        const j = JSON.parse(readFileSync(join(dir, f), "utf8")) as { address?: string };
        return j.address ? [{ address: `0x${j.address.replace(/^0x/, "")}`, file: join(dir, f) }] : [];
      } catch {
        return [];
      }
    });
}

export async function openWallet(file: string, password: string): Promise<Wallet | HDNodeWallet> {
  let json: string;
  try {
    json = readFileSync(file, "utf8");
  } catch (err) {
    throw new WalletError(`cannot read wallet ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  try {
    return await Wallet.fromEncryptedJson(json, password);
  } catch (err) {
    const msg = (err as Error).message;
    if (/password/i.test(msg)) throw new WalletError(`wrong password for ${file}`);
    throw new WalletError(`${file} is not a wallet keystore (${msg.split("(")[0].trim()})`);
  }
}
