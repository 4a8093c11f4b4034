// `npm run testenv`: start the test environment by hand (for benchmarks, debugging, or pointing a
// local `gatehouse operator --kubeconfig` at it), print its coordinates, stop on Ctrl-C.
import { startTestEnv } from './env.ts';

const env = await startTestEnv((line) => process.stderr.write(`[testenv] ${line}\n`));
for (const [name, value] of Object.entries(env.vars)) process.stdout.write(`export ${name}=${value}\n`);
process.stderr.write(
  `[testenv] binaries ready in ${(env.timings.binariesMs / 1000).toFixed(1)} s; ` +
    `services up in ${(env.timings.startMs / 1000).toFixed(1)} s; Ctrl-C stops everything\n`,
);
const stop = () => void env.stop().then(() => process.exit(0));
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
