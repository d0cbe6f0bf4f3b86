import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // CLI tests spawn the built dist/ (the README's test command builds first).
    testTimeout: 60_000,
    // Hooks start multi-process testbeds; on a busy 2-core machine that can take longer than 10 s.
    hookTimeout: 60_000,
    pool: 'forks',
    // The suite's own redis-server and the mark on the PostgreSQL databases it creates (README, Testing).
    globalSetup: ['test/support/globalSetup.ts'],
  },
});
