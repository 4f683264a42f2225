import { readFileSync, readdirSync } from "node:fs";
import { encodeResults, signCommitment } from "../node/chain/settlement.ts";
import { connect, deployWorld, domainOf, goToCommit, goToSettle, registerServer, registerVerifiers } from "../test/helpers/ledger.ts";
const N = 32, C = Number(process.env.C ?? 3);
const byAddr = (a: string, b: string) => (BigInt(a) < BigInt(b) ? -1 : 1);
const { ethers, helpers } = await connect(N + C + 5);
const w = await deployWorld(ethers, helpers, undefined, { servers: N, verifiers: C });
for (let i = 0; i < N; i++) await registerServer(w, i, i % 5, (i % 5) + 1);
await registerVerifiers(w);
const all = await Promise.all(w.servers.map((s) => s.getAddress()));
const first = Number(await w.ledger.currentEpoch()) + 1;
let last: any;
for (let e = first; e < first + 6; e++) {
  const results = encodeResults(all.map((server, i) => ({ server, accBps: 9_900 + (i % 100), tokens: 1000 + i })));
  await goToCommit(w, e);
  const signed = await Promise.all(w.verifiers.map((v) => signCommitment(v, domainOf(w), e, results)));
  await (await w.ledger.commitReports(e, signed.map((s) => s.signed.verifier), signed.map((s) => s.signed.commitment), signed.map((s) => s.signed.sig))).wait();
  await goToSettle(w, e);
  const order = signed.sort((a, b) => byAddr(a.signed.verifier, b.signed.verifier));
  last = await (await w.ledger.settleEpoch(e, [...all].sort(byAddr), order.map((s) => s.signed.verifier), order.map(() => results), order.map((s) => s.salt))).wait();
}
console.log("gas", last.gasUsed, Number(last.gasUsed) / N);
const art = JSON.parse(readFileSync("artifacts/contracts/TrustLedger.sol/TrustLedger.json", "utf8"));
let sm = "", sources: Record<string, string> = {}, ids: string[] = [];
for (const f of readdirSync("artifacts/build-info")) {
  if (!f.endsWith(".output.json")) continue;
  const j = JSON.parse(readFileSync("artifacts/build-info/" + f, "utf8"));
  const c = j.output?.contracts?.["project/contracts/TrustLedger.sol"]?.TrustLedger;
  if (!c || "0x" + c.evm.deployedBytecode.object !== art.deployedBytecode) continue;
  sm = c.evm.deployedBytecode.sourceMap;
  const input = JSON.parse(readFileSync("artifacts/build-info/" + f.replace(".output", ""), "utf8"));
  for (const [name, s] of Object.entries(j.output.sources) as [string, { id: number }][]) { ids[s.id] = name; sources[name] = input.input.sources[name]?.content ?? ""; }
}
// pc -> instruction index
const code = Buffer.from(art.deployedBytecode.slice(2), "hex");
const pcToIdx = new Map<number, number>();
for (let pc = 0, i = 0; pc < code.length; i++) { pcToIdx.set(pc, i); const op = code[pc]; pc += op >= 0x60 && op <= 0x7f ? op - 0x5e : 1; }
const entries: [number, number, number][] = [];
let s = 0, l = 0, f = 0;
for (const part of sm.split(";")) { const x = part.split(":"); if (x[0]) s = +x[0]; if (x[1]) l = +x[1]; if (x[2]) f = +x[2]; entries.push([s, l, f]); }
function fnAt(file: string, off: number) {
  const src = sources[file] ?? ""; const before = src.slice(0, off); const m = [...before.matchAll(/function\s+(\w+)/g)].pop();
  return `${file.split("/").pop()}:${m?.[1] ?? "?"}`;
}
const tr = await ethers.provider.send("debug_traceTransaction", [last.hash, { disableStorage: true, disableMemory: true, disableStack: true }]);
const by: Record<string, number> = {};
for (const lg of tr.structLogs) { if (lg.depth !== 1) continue; const e = entries[pcToIdx.get(lg.pc)!]; const k = e && ids[e[2]] ? fnAt(ids[e[2]], e[0]) : "gen"; by[k] = (by[k] ?? 0) + lg.gasCost; }
for (const [k, v] of Object.entries(by).sort((a, b) => b[1] - a[1]).slice(0, 25)) console.log(k.padEnd(50), v);
