// Splitting [0, L) into k contiguous shards of near-equal size.

export function splitLayers(nLayers: number, k: number): [number, number][] {
  if (!Number.isInteger(k) || k < 1 || k > nLayers) throw new RangeError(`shards must be between 1 and ${nLayers}, got ${k}`);
  const out: [number, number][] = [];
  let start = 0;
  for (let i = 0; i < k; i++) {
    const size = Math.floor(nLayers / k) + (i < nLayers % k ? 1 : 0);
    out.push([start, start + size]);
    start += size;
  }
  return out;
}
