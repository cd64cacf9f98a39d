import { defineConfig } from 'vitest/config';

// Two projects: `unit` needs no root and mocks only at src/native; `integration` and `conformance`
// start real containers as root and run one file at a time (they share /run/tsrun and the kernel).
export default defineConfig({
  test: {
    projects: [
      { test: { name: 'unit', include: ['test/unit/**/*.test.ts'], environment: 'node' } },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts', 'conformance/**/*.test.ts', 'test/security/**/*.test.ts', 'test/clients/**/*.test.ts'],
          environment: 'node',
          fileParallelism: false,
          testTimeout: 30000,
          hookTimeout: 60000,
        },
      },
    ],
  },
});
