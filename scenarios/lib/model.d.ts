// Types of model.js: the model's source (src/model/workload.ts).
export { workloadAt, type ModelProfile, type Workload } from '../../src/model/workload.js';
