import { fcnnlsVector } from 'ml-fcnnls';

/** One regression's answer: a non-negative coefficient per regressor, and the intercept when asked for. */
export interface NnlsFit {
  /** Per regressor; NaN for a regressor that is zero in every row (nothing to estimate it from). */
  coefficients: number[];
  /** The fitted constant term (≥ 0); 0 when fitted without one. */
  intercept: number;
  /** Root mean square of the residuals, in the response's unit. */
  rmsResidual: number;
}

/**
 * Non-negative least squares, min ‖Xb + c − y‖² subject to b ≥ 0 and c ≥ 0 (Lawson & Hanson 1974,
 * *Solving Least Squares Problems*, ch. 23; solved by ml-fcnnls, the fast combinatorial variant of
 * Bro & De Jong 1997). Rows are observations. Each column is scaled to unit root mean square before
 * solving (the normal equations of job rates in the hundreds beside a column of ones are otherwise
 * ill-conditioned) and the coefficients scaled back; all-zero columns are left out and come back NaN.
 */
export function nonNegativeLeastSquares(rows: number[][], y: number[], withIntercept = true): NnlsFit {
  const width = rows[0]?.length ?? 0;
  const scale = Array.from({ length: width }, (_, j) => rms(rows.map((r) => r[j]!)));
  const kept = scale.flatMap((s, j) => (s > 0 ? [j] : []));
  const columns = withIntercept ? kept.length + 1 : kept.length;
  const coefficients = Array<number>(width).fill(Number.NaN);
  if (columns === 0 || rows.length === 0) return { coefficients, intercept: 0, rmsResidual: rms(y) };
  const X = rows.map((r) => {
    const scaled = kept.map((j) => r[j]! / scale[j]!);
    return withIntercept ? [...scaled, 1] : scaled;
  });
  const solution = solve(X, y, columns);
  if (!solution) return { coefficients, intercept: Number.NaN, rmsResidual: Number.NaN };
  kept.forEach((j, i) => {
    coefficients[j] = Math.max(0, solution[i]!) / scale[j]!;
  });
  const intercept = withIntercept ? Math.max(0, solution[kept.length]!) : 0;
  const residuals = rows.map(
    (r, i) => y[i]! - intercept - kept.reduce((a, j) => a + coefficients[j]! * r[j]!, 0),
  );
  return { coefficients, intercept, rmsResidual: rms(residuals) };
}

/**
 * ml-fcnnls's active-set iterations, given room (its default, 3 per column, runs out on nearly
 * collinear rates such as a bootstrap resample of a step load), then a looser optimality tolerance;
 * null when neither converges or the rows are singular: the caller's estimate is NaN (not estimable
 * from these rows).
 */
function solve(X: number[][], y: number[], columns: number): number[] | null {
  for (const options of [
    { maxIterations: 30 * columns },
    { maxIterations: 100 * columns, gradientTolerance: 1e-3 },
  ]) {
    try {
      return fcnnlsVector(X, y, options).K.to1DArray();
    } catch (err) {
      if (!/Maximum number of iterations|singular/.test((err as Error).message)) throw err;
    }
  }
  return null;
}

function rms(values: number[]): number {
  return values.length === 0 ? 0 : Math.sqrt(values.reduce((a, v) => a + v * v, 0) / values.length);
}
