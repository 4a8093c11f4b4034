// vitest global setup of the `integration` project: one test environment for the whole run, its
// coordinates passed to test files through environment variables (see ENV in env.ts). The cluster is
// e2e/env's own etcd + kube-apiserver, unless GATEHOUSE_E2E_CLUSTER=kubeconfig and KUBECONFIG name a
// real one (e2e/kind/README.md).
import { chooseCluster, ENV, startClusterTestEnv, startTestEnv, type TestEnv } from './env.ts';
import { prebuildTools } from './prebuild.ts';

let env: TestEnv | undefined;

export default async function setup(): Promise<() => Promise<void>> {
  const log = (line: string) => process.stdout.write(`[testenv] ${line}\n`);
  const cluster = chooseCluster();
  if (cluster.mode === 'kubeconfig') {
    env = await startClusterTestEnv(cluster.kubeconfig, log);
  } else {
    if (cluster.ignoredKubeconfig) {
      log(
        `KUBECONFIG=${cluster.ignoredKubeconfig} is ignored: tests use their own control plane unless GATEHOUSE_E2E_CLUSTER=kubeconfig`,
      );
    }
    env = await startTestEnv(log);
  }
  // A variable of the other mode left in the shell must not leak into the tests.
  for (const name of Object.values(ENV)) if (!(name in env.vars) && name !== ENV.redisServer) delete process.env[name];
  Object.assign(process.env, env.vars);
  prebuildTools(log);
  return async () => {
    await env?.stop();
  };
}
