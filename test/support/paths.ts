import { fileURLToPath } from 'node:url';

/** The repository's root directory. */
export const ROOT = fileURLToPath(new URL('../..', import.meta.url)).replace(/\/$/, '');

/** The built CLI that the tests spawn (the test script builds first). */
export const MAIN = `${ROOT}/dist/bin/fedicap.js`;
