// Route choice (policy only, no I/O): cover [0, L) with a chain of servers whose ranges
// meet end to start, at the lowest estimated latency, preferring trusted servers — a
// shortest path over layer boundaries, as in Petals.

// The types live in the neutral module shared with the chain reader and the verifier.
import type { Candidate, RouteHop } from "../swarm/types.ts";
export type { Candidate, RouteHop } from "../swarm/types.ts";

export class NoRouteError extends Error {
  override readonly name = "NoRouteError";
}

/** Added to a relayed hop's cost: a relay is a detour and a shared resource, so a direct
 * server wins over a relayed one unless it is this much slower. */
export const RELAYED_HOP_PENALTY_MS = 100;

/** Estimated cost of a hop: network round trip plus compute, divided by trust. */
export function hopCost(c: Candidate): number {
  const rtt = (c.rttMs ?? 50) + (c.relayed === true ? RELAYED_HOP_PENALTY_MS : 0);
  const compute = ((c.end - c.start) / Math.max(c.throughput, 1e-9)) * 1000;
  return (rtt + compute) / Math.max(c.trust, 0.01);
}

/** Each hop's cost is scaled by a random factor in [1, 1 + spread) when `rand` is given:
 * clients spread their load over near-equal routes, and an auditor, drawing from the same
 * distribution, picks routes no server can tell from a client's. */
export const ROUTE_SPREAD = 0.5;

export function chooseRoute(candidates: readonly Candidate[], numLayers: number, exclude: ReadonlySet<string> = new Set(), rand?: () => number): RouteHop[] {
  const usable = candidates.filter((c) => !exclude.has(c.peer) && c.start < c.end && c.end <= numLayers);
  // Dijkstra over boundaries 0..L (few nodes: a linear scan for the minimum suffices)
  const dist = new Array<number>(numLayers + 1).fill(Infinity);
  const via = new Array<Candidate | undefined>(numLayers + 1);
  const done = new Array<boolean>(numLayers + 1).fill(false);
  dist[0] = 0;
  for (;;) {
    let u = -1;
    for (let i = 0; i <= numLayers; i++) if (!done[i] && dist[i] < Infinity && (u < 0 || dist[i] < dist[u])) u = i;
    if (u < 0 || u === numLayers) break;
    done[u] = true;
    for (const c of usable) {
      if (c.start !== u) continue;
      const d = dist[u] + hopCost(c) * (rand === undefined ? 1 : 1 + ROUTE_SPREAD * rand());
      if (d < dist[c.end]) {
        dist[c.end] = d;
        via[c.end] = c;
      }
    }
  }
  if (dist[numLayers] === Infinity) {
    let reach = 0;
    for (let i = 0; i <= numLayers; i++) if (dist[i] < Infinity) reach = i;
    // the gap ends where the next usable server starts (servers 0-2 and 4-5: only 2-4 is missing)
    const gapEnd = Math.min(numLayers, ...usable.filter((c) => c.start > reach).map((c) => c.start));
    throw new NoRouteError(`no active servers cover layers ${reach}-${gapEnd} (of ${numLayers})${exclude.size ? ` without the ${exclude.size} failed one(s)` : ""}`);
  }
  const route: RouteHop[] = [];
  for (let at = numLayers; at > 0; ) {
    const c = via[at]!;
    route.unshift({ peer: c.peer, addrs: c.addrs, start: c.start, end: c.end });
    at = c.start;
  }
  return route;
}
