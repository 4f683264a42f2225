// Next-token choice: greedy at temperature 0, else temperature + top-p (nucleus) sampling
// with a seeded xorshift generator, so a seed reproduces a run (as llama2.c's sampler).

export interface SamplerOptions {
  readonly temperature?: number; // 0: greedy (default)
  readonly topP?: number; // (0, 1]; 1: no truncation (default 0.9 when sampling)
  readonly seed?: number;
}

export class Sampler {
  private state: bigint;
  private readonly temperature: number;
  private readonly topP: number;

  constructor(o: SamplerOptions = {}) {
    this.temperature = o.temperature ?? 0;
    this.topP = o.topP ?? 0.9;
    if (!(this.temperature >= 0)) throw new RangeError(`temperature must be ≥ 0, got ${o.temperature}`);
    if (!(this.topP > 0 && this.topP <= 1)) throw new RangeError(`top-p must be in (0, 1], got ${o.topP}`);
    this.state = BigInt.asUintN(64, BigInt(o.seed ?? Date.now()) || 1n);
  }

  /** xorshift64*: a uniform float in [0, 1). */
  private random(): number {
    let s = this.state;
    s ^= s >> 12n;
    s ^= BigInt.asUintN(64, s << 25n);
    s ^= s >> 27n;
    this.state = s;
    return Number((BigInt.asUintN(64, s * 0x2545f4914f6cdd1dn) >> 32n) & 0xffffffn) / 0x1000000;
  }

  sample(logits: ArrayLike<number>): number {
    if (this.temperature === 0) return argmax(logits);
    const n = logits.length;
    let max = -Infinity;
    for (let i = 0; i < n; i++) max = Math.max(max, logits[i]);
    const probs = new Float64Array(n);
    let sum = 0;
    for (let i = 0; i < n; i++) sum += probs[i] = Math.exp((logits[i] - max) / this.temperature);
    for (let i = 0; i < n; i++) probs[i] /= sum;
    const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => probs[b] - probs[a]);
    // keep the smallest prefix whose mass reaches top-p
    let mass = 0;
    let last = n - 1;
    for (let i = 0; i < n; i++) {
      mass += probs[order[i]];
      if (mass >= this.topP) {
        last = i;
        break;
      }
    }
    const r = this.random() * mass;
    let acc = 0;
    for (let i = 0; i <= last; i++) {
      acc += probs[order[i]];
      if (r < acc) return order[i];
    }
    return order[last];
  }
}

export function argmax(x: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < x.length; i++) if (x[i] > x[best]) best = i;
  return best;
}
