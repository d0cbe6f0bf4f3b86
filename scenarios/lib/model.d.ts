// Types of model.js: the sources it is compiled from.
export { PUBLIC_COLLECTION } from '../../src/mastodon/activitypub.js';
export { resolveQuantityDocuments } from '../../src/shared/quantity.js';
export { workloadAt, type ModelProfile, type Workload } from '../../src/model/workload.js';
