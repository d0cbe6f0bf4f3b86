/**
 * `node --import ./test/support/typescript.mjs`: run the TypeScript sources as vitest does. The tests
 * run the testbed from source, so the processes it forks (web workers, Sidekiq, streaming) need this to
 * load the same `.ts` modules; the CLI forks the compiled dist/ and needs nothing.
 */
import { register } from 'node:module';

register('./typescriptHooks.mjs', import.meta.url);
