/** Time and latency arithmetic shared by both threads (hrtime is one clock for the whole process). */

export const nowNs = () => process.hrtime.bigint();
export const msBetween = (a: bigint, b: bigint) => Number(b - a) / 1e6;
export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
export const deadlineAfterMs = (ms: number) => nowNs() + BigInt(ms) * 1_000_000n;

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

export const sortedCopy = (xs: readonly number[]) => xs.slice().sort((a, b) => a - b);
