import { defineConfig } from 'vitest/config';

/**
 * Files whose assertions are about time under faults (recovery within 300 ms of a restart, fault
 * schedules with kills): they run after the rest, one at a time, so no other file competes with
 * them for the CPU. Everything else runs two files at once (vitest's default on two cores is one).
 */
const SOLO = ['test/chaos/**/*.test.ts'];

export default defineConfig({
  test: {
    testTimeout: 20_000,
    hookTimeout: 20_000,
    pool: 'forks',
    reporters: process.env.CI_JSON
      ? ['default', ['json', { outputFile: process.env.CI_JSON_FILE ?? '.cache/vitest.json' }]]
      : ['default'],
    projects: [
      {
        extends: true,
        test: {
          name: 'parallel',
          include: ['test/**/*.test.ts'],
          exclude: SOLO,
          maxWorkers: 2,
          sequence: { groupOrder: 0 },
        },
      },
      {
        extends: true,
        test: { name: 'solo', include: SOLO, maxWorkers: 1, sequence: { groupOrder: 1 } },
      },
    ],
  },
});
