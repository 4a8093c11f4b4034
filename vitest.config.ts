// Two projects: `unit` needs no service; `integration` (*.int.test.ts) gets real etcd,
// kube-apiserver and Redis from e2e/env, started once by the global setup and torn down after.
import { defineConfig } from 'vitest/config';

const common = [
  'operator/**',
  'extproc/**',
  'devproxy/**',
  'e2e/**',
  'bench/**',
  'scripts/**',
  'bin/**',
  'protos/**',
  'lib/**',
];

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: common.map((g) => `${g}/*.test.ts`),
          exclude: ['**/*.int.test.ts', 'node_modules/**'],
          // Deadlines that only bound a wait: generous, because CI shares 2 cores with everything
          // else and the e2e suites here start real servers, TLS handshakes and child processes.
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
      {
        test: {
          name: 'integration',
          include: common.map((g) => `${g}/*.int.test.ts`),
          exclude: ['node_modules/**'],
          globalSetup: ['e2e/env/global-setup.ts'],
          testTimeout: 120_000,
          hookTimeout: 600_000,
          // One control plane for the whole run; files share it, so run them one at a time.
          fileParallelism: false,
        },
      },
    ],
  },
});
