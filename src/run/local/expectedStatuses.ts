/** The set of statuses a response callback accepts (http.expectedStatuses). */
export class ExpectedStatuses {
  constructor(readonly ranges: Array<[number, number]>) {}
  accepts(status: number): boolean {
    return this.ranges.some(([lo, hi]) => status >= lo && status <= hi);
  }
}
export const DEFAULT_EXPECTED = new ExpectedStatuses([[200, 399]]);

export function expectedStatuses(...args: unknown[]): ExpectedStatuses {
  const ranges: Array<[number, number]> = [];
  for (const a of args) {
    if (typeof a === 'number' && Number.isInteger(a)) ranges.push([a, a]);
    else if (
      a &&
      typeof a === 'object' &&
      Number.isInteger((a as { min?: unknown }).min) &&
      Number.isInteger((a as { max?: unknown }).max)
    ) {
      ranges.push([(a as { min: number }).min, (a as { max: number }).max]);
    } else
      throw new Error(`http.expectedStatuses: expected status codes or {min, max}, got ${JSON.stringify(a)}`);
  }
  return new ExpectedStatuses(ranges);
}
