import { loadProfile } from './dist/src/profile/load.js';
import { saturationSpread } from './dist/src/model/uncertainty.js';
const p = loadProfile();
saturationSpread(p, 200, 1, { months: 24 });
const t = performance.now();
saturationSpread(p, 1000, 1, { months: 24 });
console.log('1000 draws warm', (performance.now() - t).toFixed(0), 'ms');
