// vitest global setup of the `integration` project: one test environment for the whole run, its
// coordinates passed to test files through environment variables (see ENV in env.ts).
import { startTestEnv, type TestEnv } from './env.ts';

let env: TestEnv | undefined;

export default async function setup(): Promise<() => Promise<void>> {
  env = await startTestEnv((line) => process.stdout.write(`[testenv] ${line}\n`));
  Object.assign(process.env, env.vars);
  return async () => {
    await env?.stop();
  };
}
