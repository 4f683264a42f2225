// Where a server fetches its layers from (--weights-from): a peer's multiaddr, a server named
// by its wallet address on the ledger, or any active server on the ledger. Policy only: the
// ledger's servers come in as routing candidates; the result is the multiaddrs to try, in order.
import { multiaddr } from "@multiformats/multiaddr";
import type { Candidate } from "../client/route.ts";

function isMultiaddr(v: string): boolean {
  try {
    multiaddr(v);
    return true;
  } catch {
    return false;
  }
}

export type WeightsSource = { readonly kind: "peer"; readonly addr: string } | { readonly kind: "server"; readonly account: string } | { readonly kind: "ledger" };

export class WeightsSourceError extends Error {
  override readonly name = "WeightsSourceError";
}

/** `ledger`, a 0x wallet address, or a multiaddr naming its peer (…/p2p/<peer id>). */
export function parseWeightsSource(v: string): WeightsSource {
  if (v === "ledger") return { kind: "ledger" };
  if (/^0x[0-9a-fA-F]{40}$/.test(v)) return { kind: "server", account: v };
  if (v.startsWith("/") && v.includes("/p2p/") && isMultiaddr(v)) return { kind: "peer", addr: v };
  throw new WeightsSourceError("must be `ledger`, a server's wallet address (0x…) or a multiaddr naming the peer (…/p2p/<peer id>)");
}

/** A candidate's addresses, each ending in its peer id (the ledger keeps them without it). */
const dialable = (c: Candidate) => c.addrs.map((a) => (a.includes("/p2p/") ? a : `${a}/p2p/${c.peer}`));

/** The multiaddrs to fetch layers [start, end) from, best first. Only servers started with
 * --share-weights answer /efed/weights/1 and the ledger does not say which, so `ledger` lists
 * every active server with an address: those covering the layers first, the most trusted
 * first among them; `self` (the fetching server's own account) is left out. */
export function weightsProviders(source: WeightsSource, candidates: readonly Candidate[], layers: readonly [number, number], self?: string): string[] {
  if (source.kind === "peer") return [source.addr];
  const same = (a?: string, b?: string) => a !== undefined && b !== undefined && a.toLowerCase() === b.toLowerCase();
  if (source.kind === "server") {
    const c = candidates.find((x) => same(x.account, source.account));
    if (c === undefined) throw new WeightsSourceError(`${source.account} is not an active server on the ledger`);
    if (c.addrs.length === 0) throw new WeightsSourceError(`${source.account} is offline (no address on the ledger): start it again, or fetch from another`);
    return dialable(c);
  }
  const covers = (c: Candidate) => (c.start <= layers[0] && layers[1] <= c.end ? 1 : 0);
  const ranked = candidates.filter((c) => c.addrs.length > 0 && !same(c.account, self)).sort((a, b) => covers(b) - covers(a) || b.trust - a.trust);
  if (ranked.length === 0) throw new WeightsSourceError("no active server with an address on the ledger to fetch weights from: start one with --model <file> --share-weights");
  return ranked.flatMap(dialable);
}
