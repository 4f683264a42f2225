// One server of the swarm benchmark (scripts/bench-swarm.ts) in a process of its own:
//   node scripts/swarm-server.ts <model file> <start> <end> [workers]
// Listens on 127.0.0.1, prints one JSON line (peer, addrs, layers) once serving, and when
// its stdin ends stops. "stats" on stdin prints its counters (service stats), "reset" zeroes them.
import { pathToFileURL } from "node:url";
import type { startServer as Start } from "../node/server/server.ts";

// EFED_BENCH_ROOT: another checkout's server (the benchmark's "before"); this one's by default
const root = process.env.EFED_BENCH_ROOT;
const { startServer } = (await import(root === undefined ? "../node/server/server.ts" : pathToFileURL(`${root}/node/server/server.ts`).href)) as { startServer: typeof Start };

const [file, a, b, w] = process.argv.slice(2);
if (file === undefined || a === undefined || b === undefined) {
  process.stderr.write("usage: node scripts/swarm-server.ts <model> <start> <end> [workers]\n");
  process.exit(2);
}
const server = await startServer({ model: file, layers: [Number(a), Number(b)], workers: w === undefined ? undefined : Number(w) });
const out = (x: unknown) => process.stdout.write(JSON.stringify(x) + "\n");
out({ peer: server.node.peerId.toString(), addrs: server.addrs(), start: server.runner.start, end: server.runner.end });
// counters are reset on request ("reset" on stdin) so warm-up steps are not counted
process.stdin.setEncoding("utf8");
process.stdin.on("data", (d: string) => {
  for (const line of d.split("\n")) {
    if (line === "reset") for (const k of Object.keys(server.service.stats) as (keyof typeof server.service.stats)[]) server.service.stats[k] = 0;
    if (line === "stats") out(server.service.stats);
  }
});
process.stdin.on("end", () => {
  void server.stop(100).then(() => process.exit(0));
});
