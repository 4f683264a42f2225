// Paper §4.1, counted: the memory-hierarchy matrix multiply of Fig. 4. A global memory, blocks
// with their own local memory, every read and write counted per level. The centralized
// multiply reads both operands of every product from global memory; the hierarchical one
// has each block copy its panels of A and B into local memory once, compute from there,
// and write its tile of C back to global memory.
import { lcg } from "../model/random.ts";

export class CountedMemory {
  reads = 0;
  writes = 0;
  readonly data: Float64Array;
  constructor(size: number) {
    this.data = new Float64Array(size);
  }
  read(i: number): number {
    this.reads++;
    return this.data[i];
  }
  write(i: number, v: number): void {
    this.writes++;
    this.data[i] = v;
  }
}

export interface MultiplyCounts {
  readonly globalReads: number;
  readonly globalWrites: number;
  readonly localReads: number;
  readonly localWrites: number;
  readonly blocks: number;
  /** The largest local memory any block used (numbers). */
  readonly localPeak: number;
  /** Products computed (0 when only counted). */
  readonly products: number;
}

export interface Operands {
  readonly m: number;
  readonly n: number;
  readonly k: number;
  readonly a: Float64Array; // [m×n] row-major
  readonly b: Float64Array; // [n×k] row-major
}

function globalMemory(o: Operands): CountedMemory {
  const g = new CountedMemory(o.m * o.n + o.n * o.k + o.m * o.k); // A | B | C
  g.data.set(o.a, 0);
  g.data.set(o.b, o.m * o.n);
  return g;
}

/** c_ij = Σ_l a_il·b_lj, both operands of every product read from global memory (Eq. 5's 6 per element). */
export function centralizedMultiply(o: Operands): { c: Float64Array; counts: MultiplyCounts } {
  const { m, n, k } = o;
  const g = globalMemory(o);
  const B = m * n;
  const C = B + n * k;
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < k; j++) {
      let s = 0;
      for (let l = 0; l < n; l++) s += g.read(i * n + l) * g.read(B + l * k + j);
      g.write(C + i * k + j, s);
    }
  }
  const counts = { globalReads: g.reads, globalWrites: g.writes, localReads: 0, localWrites: 0, blocks: 1, localPeak: 0, products: m * n * k };
  return { c: g.data.slice(C), counts };
}

export interface HierarchyOptions {
  /** Rows of C per block (default m: one block row). */
  readonly blockRows?: number;
  /** Columns of C per block (default k). */
  readonly blockCols?: number;
  /** Only count the block loads and stores, without computing products (for n = 10,000). */
  readonly countOnly?: boolean;
}

/**
 * Fig. 4: each block loads its bm×n panel of A and n×bk panel of B from global memory into
 * its local memory once, computes its bm×bk tile of C from local memory, and writes the tile
 * back. With bm = m and bk = k (the default) this is the proof's T_f = mn + nk.
 */
export function hierarchicalMultiply(o: Operands | { m: number; n: number; k: number }, opt: HierarchyOptions = {}): { c?: Float64Array; counts: MultiplyCounts } {
  const { m, n, k } = o;
  const bm = opt.blockRows ?? m;
  const bk = opt.blockCols ?? k;
  const count = opt.countOnly === true || !("a" in o);
  let globalReads = 0;
  let globalWrites = 0;
  let localReads = 0;
  let localWrites = 0;
  let blocks = 0;
  let localPeak = 0;
  let products = 0;
  const g = count ? undefined : globalMemory(o as Operands);
  const B = m * n;
  const C = B + n * k;
  for (let i0 = 0; i0 < m; i0 += bm) {
    for (let j0 = 0; j0 < k; j0 += bk) {
      blocks++;
      const rows = Math.min(bm, m - i0);
      const cols = Math.min(bk, k - j0);
      const local = rows * n + n * cols;
      localPeak = Math.max(localPeak, local);
      if (g === undefined) {
        globalReads += local;
        localWrites += local;
        localReads += 2 * rows * cols * n;
        globalWrites += rows * cols;
        continue;
      }
      const mem = new CountedMemory(local); // A panel | B panel
      const r0 = g.reads;
      for (let i = 0; i < rows; i++) for (let l = 0; l < n; l++) mem.write(i * n + l, g.read((i0 + i) * n + l));
      for (let l = 0; l < n; l++) for (let j = 0; j < cols; j++) mem.write(rows * n + l * cols + j, g.read(B + l * k + j0 + j));
      globalReads += g.reads - r0;
      const w0 = g.writes;
      for (let i = 0; i < rows; i++) {
        for (let j = 0; j < cols; j++) {
          let s = 0;
          for (let l = 0; l < n; l++) s += mem.read(i * n + l) * mem.read(rows * n + l * cols + j);
          products += n;
          g.write(C + (i0 + i) * k + j0 + j, s);
        }
      }
      globalWrites += g.writes - w0;
      localReads += mem.reads;
      localWrites += mem.writes;
    }
  }
  return { c: g?.data.slice(C), counts: { globalReads, globalWrites, localReads, localWrites, blocks, localPeak, products } };
}

/** Deterministic operands for the counted runs. */
export function operands(m: number, n: number, k: number, seed = 1): Operands {
  const u = lcg(seed);
  const next = () => u() * 2 - 1;
  return { m, n, k, a: Float64Array.from({ length: m * n }, next), b: Float64Array.from({ length: n * k }, next) };
}
