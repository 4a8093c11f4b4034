// Clients for the test environment's identities: the kubeconfig files the global setup names in the
// ENV variables (env.ts), or any kubeconfig file a test's own control plane wrote.
import * as k8s from '@kubernetes/client-node';
import { writeFileSync } from 'node:fs';
import { ENV } from './env.ts';
import { TestEnvStartError } from './errors.ts';

/** The kubeconfig in `path`. */
export function loadKubeconfigFile(path: string): k8s.KubeConfig {
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(path);
  return kc;
}

/** The kubeconfig whose file the environment variable `variable` names (one of ENV's). */
export function kubeconfigFrom(variable: string): k8s.KubeConfig {
  const path = process.env[variable];
  // Unset outside the integration project, whose global setup starts the environment and sets it.
  if (!path)
    throw new TestEnvStartError(
      `${variable} is not set: run through the integration project (vitest --project integration)`,
    );
  return loadKubeconfigFile(path);
}

/** The admin identity (cluster-admin). */
export const adminKubeConfig = (): k8s.KubeConfig => kubeconfigFrom(ENV.adminKubeconfig);

/** The restricted operator identity: the chart's ClusterRole, nothing more. */
export const operatorKubeConfig = (): k8s.KubeConfig => kubeconfigFrom(ENV.operatorKubeconfig);

/**
 * Writes `path`: the admin identity with a current context in `namespace`, as a user's kubeconfig is
 * for a CLI run with `--kubeconfig` (the `gatehouse trace` tests).
 */
export function writeAdminKubeconfig(path: string, namespace: string): void {
  const admin = adminKubeConfig();
  const server = admin.getCurrentCluster()!;
  const kc = new k8s.KubeConfig();
  kc.loadFromOptions({
    clusters: [server],
    users: admin.users,
    contexts: [{ name: namespace, cluster: server.name, user: admin.getCurrentUser()!.name, namespace }],
    currentContext: namespace,
  });
  writeFileSync(path, kc.exportConfig());
}
