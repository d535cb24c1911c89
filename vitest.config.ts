import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 20_000,
    hookTimeout: 20_000,
    pool: 'forks',
    reporters: process.env.CI_JSON
      ? ['default', ['json', { outputFile: process.env.CI_JSON_FILE ?? '.cache/vitest.json' }]]
      : ['default'],
  },
});
