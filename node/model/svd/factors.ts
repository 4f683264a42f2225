// Truncated factors U_k, Σ_k, V_kᵀ as they are stored and sent: (m + n + 1)·k numbers.
import type { Svd } from "./decompose.ts";
import type { Linear } from "../onnx/layers.ts";

export interface SvdFactors {
  readonly m: number;
  readonly n: number;
  readonly k: number;
  readonly u: Float32Array; // [m×k]
  readonly s: Float32Array; // [k]
  readonly vt: Float32Array; // [k×n]
}

export function truncate(svd: Svd, k: number): SvdFactors {
  if (k > svd.k) throw new RangeError(`rank ${k} exceeds the ${svd.k} computed singular values`);
  const u = new Float32Array(svd.m * k);
  for (let i = 0; i < svd.m; i++) for (let j = 0; j < k; j++) u[i * k + j] = svd.u[i * svd.k + j];
  return { m: svd.m, n: svd.n, k, u, s: Float32Array.from(svd.s.subarray(0, k)), vt: Float32Array.from(svd.vt.subarray(0, k * svd.n)) };
}

/** Flat [U | σ | Vᵀ]: exactly (m + n + 1)·k floats. */
export function serializeFactors(f: SvdFactors): Float32Array {
  const out = new Float32Array((f.m + f.n + 1) * f.k);
  out.set(f.u, 0);
  out.set(f.s, f.m * f.k);
  out.set(f.vt, (f.m + 1) * f.k);
  return out;
}

export function deserializeFactors(data: Float32Array, m: number, n: number, k: number): SvdFactors {
  if (data.length !== (m + n + 1) * k) throw new RangeError(`expected ${(m + n + 1) * k} floats for ${m}×${n} at rank ${k}, got ${data.length}`);
  return {
    m,
    n,
    k,
    u: data.slice(0, m * k),
    s: data.slice(m * k, (m + 1) * k),
    vt: data.slice((m + 1) * k),
  };
}

/** W_k = U_k Σ_k V_kᵀ, row-major [m×n] (accumulated in float64). */
export function rebuild(f: SvdFactors): Float32Array {
  const w = new Float32Array(f.m * f.n);
  const row = new Float64Array(f.n);
  for (let i = 0; i < f.m; i++) {
    row.fill(0);
    for (let j = 0; j < f.k; j++) {
      const c = f.u[i * f.k + j] * f.s[j];
      if (c === 0) continue;
      for (let t = 0; t < f.n; t++) row[t] += c * f.vt[j * f.n + t];
    }
    w.set(row, i * f.n);
  }
  return w;
}

/** How a layer runs the factors: two smaller products x·(V_k Σ_k)·U_kᵀ when (m + n)·k < m·n,
 * else the rebuilt dense matrix. */
export function toLinear(f: SvdFactors): Linear {
  if ((f.m + f.n) * f.k >= f.m * f.n) return { kind: "dense", w: rebuild(f) };
  const a = new Float32Array(f.n * f.k); // V_k Σ_k: [n×k]
  for (let t = 0; t < f.n; t++) for (let j = 0; j < f.k; j++) a[t * f.k + j] = f.vt[j * f.n + t] * f.s[j];
  const b = new Float32Array(f.k * f.m); // U_kᵀ: [k×m]
  for (let j = 0; j < f.k; j++) for (let i = 0; i < f.m; i++) b[j * f.m + i] = f.u[i * f.k + j];
  return { kind: "factored", a, b, rank: f.k };
}
