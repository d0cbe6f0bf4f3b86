// The capacity model's own workload code, compiled (`npm ci` / `npm run build`
// writes dist/). The scenarios derive their arrival rates from the same
// function the forecast uses, and Mastodon's facts from src/mastodon; model.d.ts
// gives TypeScript the source's types.
export { PUBLIC_COLLECTION } from '../../dist/src/mastodon/activitypub.js';
export { resolveQuantityDocuments } from '../../dist/src/shared/quantity.js';
export { workloadAt } from '../../dist/src/model/workload.js';
