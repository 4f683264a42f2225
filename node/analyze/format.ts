// Number formatting shared by the summary table and the report.

export const pct = (x: number, digits = 1): string => `${(100 * x).toFixed(digits)}%`;

/** 2,000,000 → "2,000,000"; 2e12 → "2×10^12" (the paper's own style for large counts). */
export function count(x: number): string {
  if (x >= 1e9) {
    const e = Math.floor(Math.log10(x));
    const mant = x / 10 ** e;
    return `${Number.isInteger(mant) ? mant : mant.toFixed(2)}×10^${e}`;
  }
  return Math.round(x).toLocaleString("en-US");
}

export const ms = (x: number): string => (x >= 10 ? x.toFixed(0) : x.toFixed(2)) + " ms";

/** 0.66, 0.97 → "66–97%". */
export const range = (lo: number, hi: number, digits = 0): string => (pct(lo, digits) === pct(hi, digits) ? pct(lo, digits) : `${(100 * lo).toFixed(digits)}–${pct(hi, digits)}`);
