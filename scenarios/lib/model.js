// The capacity model's own workload code, compiled (`npm ci` / `npm run build`
// writes dist/). The scenarios derive their arrival rates from the same
// function the forecast uses; model.d.ts gives TypeScript the source's types.
export { workloadAt } from '../../dist/src/model/workload.js';
