// Continuous batching (batch-runner.ts): a batch of one is the unbatched graph bit for bit;
// the rows of one batched run — sessions with pasts 0, short and long — are what each
// session computes alone, within the audits' tolerance for the plain graph and bit for bit
// for the fused one (GroupQueryAttention over right-padded caches), and so are the caches
// split back; rows can never pass for another session's (a swap fails); the padding helpers
// put each row exactly where it belongs, on either side.
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadModel, type LoadedModel } from "../../../node/model/load.ts";
import { buildShardGraph, denseSource } from "../../../node/model/onnx/layers.ts";
import { buildFusedShardGraph } from "../../../node/model/onnx/fused-layers.ts";
import { DEFAULT_BATCH_THREADS, getThreads, ShardRunner, type KvCache } from "../../../node/model/onnx/runtime.ts";
import { BatchRunner, MAX_BATCH_POSITIONS } from "../../../node/model/onnx/batch-runner.ts";
import type { GatherPolicy } from "../../../node/model/onnx/batch-gather.ts";
import { padRows, splitRows } from "../../../node/model/onnx/batch-cache.ts";
import { writeSynthModel } from "../../../node/model/synth.ts";
import { compareOutputs } from "../../../node/verifier/tolerance.ts";
import { STORIES_260K } from "../../helpers/models.ts";

/** The audits' bound (node/verifier/tolerance.ts, cpu/cpu): 1e-4 relative. */
const AUDIT = { maxRelativeError: 1e-4, maxCosineDistance: 1e-8 };

function graph(m: LoadedModel, batched: boolean, fused = false): Uint8Array {
  const norms = (l: number) => ({ attnNorm: m.weights.layers[l]!.attnNorm, ffnNorm: m.weights.layers[l]!.ffnNorm });
  return (fused ? buildFusedShardGraph : buildShardGraph)(m.config, { start: 0, end: m.config.nLayers, norms, linear: denseSource(m.weights), batched });
}

function input(n: number, dim: number, seed: number): Float32Array {
  return new Float32Array(n * dim).map((_, i) => Math.sin(i * 0.37 + seed * 1.7) * 0.5);
}

function assertClose(got: Float32Array, want: Float32Array, what: string): void {
  const r = compareOutputs(got, want, AUDIT);
  assert.ok(r.pass, `${what}: relative error ${r.relativeError}, cosine distance ${r.cosineDistance}`);
}

describe("BatchRunner", () => {
  const models: Record<string, LoadedModel> = {};
  let dir: string;
  const open: { release(): Promise<void> }[] = [];
  before(async () => {
    models.stories260K = await loadModel(STORIES_260K);
    dir = mkdtempSync(join(tmpdir(), "efed-batch-"));
    writeSynthModel(join(dir, "synth.gguf"), { dim: 256, layers: 4, heads: 8, kvHeads: 4, ffn: 704, vocab: 512, seed: 3 });
    models.synthF32 = await loadModel(join(dir, "synth.gguf"));
  });
  after(async () => {
    for (const s of open) await s.release();
    rmSync(dir, { recursive: true, force: true });
  });

  /** A shard computing each step alone, and a batching one, over the plain or fused graph. */
  async function pair(m: LoadedModel, fused = false): Promise<[ShardRunner, BatchRunner]> {
    const c = m.config;
    const alone = await ShardRunner.create(c, 0, c.nLayers, graph(m, false, fused), "cpu");
    const batch = await BatchRunner.create(c, 0, c.nLayers, graph(m, true, fused), "cpu", undefined, undefined, undefined, fused ? "right" : "left");
    open.push(alone, batch);
    return [alone, batch];
  }

  it("a batch of one (prefill, or a lone decode step) is the unbatched graph, bit for bit", async () => {
    const m = models.stories260K;
    const [alone, batch] = await pair(m);
    const [ca, cb] = [alone.newCache(), batch.newCache()];
    for (const [n, seed] of [[7, 1], [1, 2], [1, 3], [3, 4], [1, 5]]) {
      const x = input(n, m.config.dim, seed);
      assert.deepEqual(await batch.step(cb, x, n), await alone.step(ca, x, n));
      assert.deepEqual([cb.length, cb.bytes], [ca.length, ca.bytes]);
    }
    for (const [k, t] of ca.tensors) assert.deepEqual(cb.tensors.get(k)!.data, t.data, k);
    assert.equal(batch.batches.batched, 0);
  });

  for (const [name, fused] of [["stories260K", false], ["synthF32", false], ["synthF32", true]] as const) {
    it(`${name}${fused ? ", fused graph" : ""}: rows of batched runs (pasts 0, 3, 7 and 150; same, fewer, other sessions from run to run) equal each session alone${fused ? " bit for bit" : ""}, caches too; a swapped row fails`, async () => {
      const m = models[name];
      const c = m.config;
      const [alone, batch] = await pair(m, fused);
      // the fused graph's rows are exactly each session alone; the plain graph's within 1e-4
      const same = fused ? (g: Float32Array, w: Float32Array, what: string) => assert.deepEqual(g, w, what) : assertClose;
      const prompts = [0, 3, 150, 7]; // past 0: the session's first step is in the batch
      const solo = prompts.map(() => alone.newCache());
      const together = prompts.map(() => batch.newCache());
      for (let i = 0; i < prompts.length; i++) {
        if (prompts[i] === 0) continue;
        const x = input(prompts[i], c.dim, 10 + i);
        await alone.step(solo[i], x, prompts[i]);
        await batch.step(together[i], x, prompts[i]);
      }
      // the same sessions again (their presents fed straight back), fewer (split back and
      // padded anew), others (the last run's split back first), one alone, then all
      const rounds = [[0, 1, 2, 3], [0, 1, 2, 3], [2, 0, 3, 1], [0, 2], [1, 3], [1], [0, 1, 2, 3]];
      const steps = prompts.map(() => 0);
      rounds.forEach((r) => r.forEach((i) => steps[i]++));
      for (const [round, members] of rounds.entries()) {
        const xs = members.map((i) => input(1, c.dim, 20 + 3 * round + i));
        const want: Float32Array[] = [];
        for (let j = 0; j < members.length; j++) want.push(await alone.step(solo[members[j]], xs[j], 1));
        const before = { ...batch.batches };
        const got = await Promise.all(members.map((i, j) => batch.step(together[i], xs[j], 1)));
        assert.equal(batch.batches.batched - before.batched, members.length > 1 ? members.length : 0, `round ${round} ran as one batch`);
        // a run of several decode steps is counted, with its rows and its time
        const several = members.length > 1 ? 1 : 0;
        assert.deepEqual([batch.batches.decodeRuns - before.decodeRuns, batch.batches.decodeRows - before.decodeRows], [several, several * members.length], `round ${round} counted`);
        assert.equal(batch.batches.decodeMs > before.decodeMs, several === 1, `round ${round}'s time counted`);
        got.forEach((g, j) => same(g, want[j], `round ${round}, session with past ${prompts[members[j]]}`));
        // a row handed to the wrong session fails: rows of different sessions are far apart
        for (let i = 0; i < got.length; i++) for (let j = 0; j < got.length; j++) if (i !== j) assert.equal(compareOutputs(got[i], want[j], AUDIT).pass, false, `row ${i} would pass for session ${j}`);
      }
      for (let i = 0; i < prompts.length; i++) {
        assert.equal(together[i].length, prompts[i] + steps[i]);
        assert.equal(together[i].bytes, solo[i].bytes);
        const split = batch.tensorsOf(together[i]);
        for (const [k, t] of solo[i].tensors) same(split.get(k)!.data as Float32Array, t.data as Float32Array, `cache ${k} of session ${i}`);
      }
    });
  }

  it("fused graph: prompts of one length on empty caches run as one batch, bit for bit; a prompt on a session's cache runs alone", async () => {
    const m = models.synthF32;
    const c = m.config;
    const [alone, batch] = await pair(m, true);
    const solo = [0, 1, 2].map(() => alone.newCache());
    const together = [0, 1, 2].map(() => batch.newCache());
    /** n positions for each of the three sessions, alone and then concurrently: equal bit for
     * bit; returns the batching server's count of batched steps after. */
    const round = async (n: number, seed: number, what: string) => {
      const xs = [0, 1, 2].map((i) => input(n, c.dim, seed + i));
      const want: Float32Array[] = [];
      for (let i = 0; i < 3; i++) want.push(await alone.step(solo[i], xs[i], n));
      const got = await Promise.all([0, 1, 2].map((i) => batch.step(together[i], xs[i], n)));
      got.forEach((g, i) => assert.deepEqual(g, want[i], `${what} ${i}`));
      return batch.batches.batched;
    };
    assert.equal(await round(5, 90, "prompt"), 3, "the three prompts ran as one batch");
    assert.equal(batch.batches.largest, 3);
    // second prompts, now on caches: GroupQueryAttention batches those only one row at a time
    assert.equal(await round(4, 95, "second prompt"), 3, "prompts on caches ran alone");
    // and decode steps after them batch again
    assert.equal(await round(1, 99, "decode step"), 6, "decode steps batched");
  });

  it("prompts of one length from concurrent sessions run as one batch and their caches split back; other lengths, and long prompts, run alone", async () => {
    const m = models.synthF32;
    const c = m.config;
    const [alone, batch] = await pair(m);
    const solo = [0, 1, 2, 3].map(() => alone.newCache());
    const together = [0, 1, 2, 3].map(() => batch.newCache());
    const xs = [0, 1, 2].map((i) => input(5, c.dim, 40 + i));
    const want: Float32Array[] = [];
    for (let i = 0; i < 3; i++) want.push(await alone.step(solo[i], xs[i], 5));
    const got = await Promise.all([0, 1, 2].map((i) => batch.step(together[i], xs[i], 5)));
    assert.deepEqual([batch.batches.batched, batch.batches.largest], [3, 3], "the three prompts ran as one batch");
    assert.equal(batch.batches.decodeRuns, 0, "a run of prompts is not a decode run");
    got.forEach((g, i) => assertClose(g, want[i], `prompt ${i}`));
    // prompts of other lengths: each alone, bit for bit (session 0's is split back first)
    const odd = [input(4, c.dim, 50), input(6, c.dim, 51)];
    const oddGot = await Promise.all([batch.step(together[0], odd[0], 4), batch.step(together[3], odd[1], 6)]);
    assert.equal(batch.batches.batched, 3, "prompts of different lengths ran alone");
    assert.deepEqual(oddGot[1], await alone.step(solo[3], odd[1], 6));
    assertClose(oddGot[0], await alone.step(solo[0], odd[0], 4), "session 0 after its batched prompt");
    // decode steps of sessions 1 and 2, whose caches are still the batched prompt's presents
    const dx = [1, 2].map((i) => input(1, c.dim, 60 + i));
    const dGot = await Promise.all([1, 2].map((i, j) => batch.step(together[i], dx[j], 1)));
    for (const [j, i] of [1, 2].entries()) assertClose(dGot[j], await alone.step(solo[i], dx[j], 1), `decode step of session ${i}`);
    for (let i = 0; i < 4; i++) {
      assert.equal(together[i].length, solo[i].length);
      const split = batch.tensorsOf(together[i]);
      for (const [k, t] of solo[i].tensors) assertClose(split.get(k)!.data as Float32Array, t.data as Float32Array, `cache ${k} of session ${i}`);
    }
    // two prompts of more than MAX_BATCH_POSITIONS / 2 positions each: one run each
    const long = MAX_BATCH_POSITIONS / 2 + 1;
    const [la, lb] = [batch.newCache(), batch.newCache()];
    const before = batch.batches.batched;
    const lx = input(long, c.dim, 70);
    const [l1, l2] = await Promise.all([batch.step(la, lx, long), batch.step(lb, lx, long)]);
    assert.equal(batch.batches.batched, before, "long prompts ran alone");
    assert.deepEqual(l1, l2);
  });

  it("runs several rows on a session of `batchThreads` threads of its own, opened at the first such run; where that is the process's count, on the one session", async () => {
    const m = models.stories260K;
    const c = m.config;
    assert.equal(getThreads(), 1);
    const two = await BatchRunner.create(c, 0, c.nLayers, graph(m, true), "cpu", 16, undefined, 2);
    const one = await BatchRunner.create(c, 0, c.nLayers, graph(m, true), "cpu", 16); // the default
    open.push(two, one);
    assert.equal(two.batchThreads, 2);
    // by default one copy of the weights: batched runs take the process's threads
    assert.equal(DEFAULT_BATCH_THREADS, 1);
    assert.equal(one.batchThreads, 1);
    // the second session (a second copy of the weights) opens at the first run of several rows
    await two.step(two.newCache(), input(1, c.dim, 79), 1);
    assert.equal(two.batchSessionOpen, false, "a step alone opens no second session");
    // the same rows on either: equal within the audits' bound
    const xs = [0, 1, 2].map((i) => input(3, c.dim, 80 + i));
    const [a, b] = await Promise.all([two, one].map((r) => Promise.all(xs.map((x) => r.step(r.newCache(), x, 3)))));
    a.forEach((row, i) => assertClose(row, b[i], `row ${i}`));
    assert.deepEqual([two.batches.largest, one.batches.largest], [3, 3]);
    assert.equal(two.batchSessionOpen, true, "its first batched run opened it");
    assert.equal(one.batchSessionOpen, false, "batchThreads = --threads: one session runs everything");
    await assert.rejects(BatchRunner.create(c, 0, c.nLayers, graph(m, true), "cpu", 16, undefined, 0), /batchThreads must be a positive integer, got 0/);
  });

  it("takes a session's steps in order, one per run, and says why a full context is refused", async () => {
    const m = models.stories260K;
    const c = m.config;
    const [alone, batch] = await pair(m);
    const [ca, cb] = [alone.newCache(), batch.newCache()];
    const xs = [1, 2, 3].map((s) => input(1, c.dim, s));
    const got = await Promise.all(xs.map((x) => batch.step(cb, x, 1)));
    for (let i = 0; i < xs.length; i++) assert.deepEqual(got[i], await alone.step(ca, xs[i], 1));
    const full: KvCache = batch.newCache();
    full.length = c.contextLength;
    await assert.rejects(batch.step(full, xs[0], 1), /context full/);
  });

  it("stops waiting for a session whose cache was released: a waiting run wakes and runs the other's step", async (t) => {
    const m = models.stories260K;
    const c = m.config;
    const [, batch] = await pair(m);
    const [a, b] = [batch.newCache(), batch.newCache()];
    await Promise.all([batch.step(a, input(1, c.dim, 1), 1), batch.step(b, input(1, c.dim, 2), 1)]); // one run of both
    // the runner's gather policy (batch-gather.ts), told that run took 10 s: b's next step,
    // alone, waits for a up to that long on a timer frozen here, whatever this machine's speed
    const internals = batch as unknown as { gather: GatherPolicy; keys: WeakMap<KvCache, number> };
    internals.gather.ran([internals.keys.get(a)!, internals.keys.get(b)!], performance.now(), 10_000);
    const turns = (n: number): Promise<string> => new Promise((r) => setImmediate(() => (n <= 1 ? r("still waiting") : void turns(n - 1).then(r))));
    t.mock.timers.enable({ apis: ["setTimeout"] });
    try {
      const waiting = batch.step(b, input(1, c.dim, 3), 1);
      assert.equal(await Promise.race([waiting.then(() => "ran"), turns(8)]), "still waiting", "a, which stepped with b, is waited for");
      a.release!(); // the session ends: the run wakes, forgets a, and runs b's step without the timer
      assert.equal(await Promise.race([waiting.then(() => "ran"), turns(50)]), "ran", "the step still waits for the released session");
      assert.equal(await Promise.race([batch.step(b, input(1, c.dim, 4), 1).then(() => "ran"), turns(50)]), "ran", "and so does the next");
    } finally {
      t.mock.timers.reset();
    }
    // released while its step was queued: the run computes it, but does not wait for it again
    const [d, e] = [batch.newCache(), batch.newCache()];
    const both = Promise.all([batch.step(d, input(1, c.dim, 5), 1), batch.step(e, input(1, c.dim, 6), 1)]);
    d.release!();
    await both;
    const now = performance.now();
    assert.equal(internals.gather.waitMs(new Set([internals.keys.get(b)!, internals.keys.get(e)!]), now, now), 0, "d is still waited for");
  });
});

describe("padRows / splitRows", () => {
  const shape = { kvHeads: 2, headSize: 3 };
  /** A row whose every value says (session, head, position, i). */
  const row = (b: number, len: number) => Float32Array.from({ length: 2 * len * 3 }, (_, k) => 1000 * (b + 1) + 100 * Math.floor(k / (len * 3)) + k % (len * 3));

  it("left-pads each row with zeros to the longest and splits the presents back to the right session", () => {
    const lens = [0, 2, 1];
    const rows = lens.map((len, b) => row(b, len));
    const { data, past } = padRows(rows, lens, shape);
    assert.equal(past, 2);
    assert.equal(data.length, 3 * 2 * 2 * 3);
    // row 1 fills its slots; row 2 has one padded (zero) position before each head's data
    assert.deepEqual([...data.subarray(12, 24)], [...rows[1]]);
    assert.deepEqual([...data.subarray(24, 30)], [0, 0, 0, ...rows[2].subarray(0, 3)]);
    assert.deepEqual([...data.subarray(0, 12)], new Array(12).fill(0));
    // a run appends one position (value -b) to every row of every head
    const total = past + 1;
    const present = new Float32Array(3 * 2 * total * 3);
    for (let b = 0; b < 3; b++) {
      for (let h = 0; h < 2; h++) {
        present.set(data.subarray((b * 2 + h) * past * 3, (b * 2 + h + 1) * past * 3), (b * 2 + h) * total * 3);
        present.fill(-(b + 1), ((b * 2 + h) * total + past) * 3, ((b * 2 + h) * total + total) * 3);
      }
    }
    const split = splitRows(present, lens, total, shape);
    lens.forEach((len, b) => {
      const want: number[] = [];
      for (let h = 0; h < 2; h++) want.push(...rows[b].subarray(h * len * 3, (h + 1) * len * 3), -(b + 1), -(b + 1), -(b + 1));
      assert.deepEqual([...split[b]], want, `session ${b}`);
    });
    assert.throws(() => padRows([row(0, 2)], [3], shape), /expected 2×3×3/);
  });

  it("right-pads each row (its positions first) and splits the presents back from the left", () => {
    const lens = [0, 2, 1];
    const rows = lens.map((len, b) => row(b, len));
    const { data, past } = padRows(rows, lens, shape, "right");
    assert.equal(past, 2);
    assert.deepEqual([...data.subarray(12, 24)], [...rows[1]]);
    assert.deepEqual([...data.subarray(24, 30)], [...rows[2].subarray(0, 3), 0, 0, 0]);
    assert.deepEqual([...data.subarray(0, 12)], new Array(12).fill(0));
    // a run writes row b's new position right after its own (value -b), and garbage after it
    const total = past + 1;
    const present = new Float32Array(3 * 2 * total * 3).fill(77);
    lens.forEach((len, b) => {
      for (let h = 0; h < 2; h++) {
        const at = (b * 2 + h) * total * 3;
        present.set(rows[b].subarray(h * len * 3, (h + 1) * len * 3), at);
        present.fill(-(b + 1), at + len * 3, at + (len + 1) * 3);
      }
    });
    const split = splitRows(present, lens, total, shape, "right");
    lens.forEach((len, b) => {
      const want: number[] = [];
      for (let h = 0; h < 2; h++) want.push(...rows[b].subarray(h * len * 3, (h + 1) * len * 3), -(b + 1), -(b + 1), -(b + 1));
      assert.deepEqual([...split[b]], want, `session ${b}`);
    });
  });
});
