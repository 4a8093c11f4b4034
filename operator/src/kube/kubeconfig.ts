// Where the operator finds its cluster, in kubebuilder's order: --kubeconfig FILE; else the pod's
// service account when running in a cluster; else $KUBECONFIG (a path list) or ~/.kube/config. Unlike
// client-node's loadFromDefault, running out of candidates is an error that says what was tried,
// never a silent fallback to http://localhost:8080.
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { KubeConfigError } from './errors.ts';

const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

export interface LoadKubeConfigOptions {
  /** --kubeconfig FILE: wins over everything else. */
  kubeconfig?: string;
  /** Prefix of the service account folder (tests); client-node's loadFromCluster(pathPrefix). */
  serviceAccountPrefix?: string;
  /** Home folder for ~/.kube/config (tests); default os.homedir(). */
  homeDir?: string;
  /** Use this context instead of the file's current-context (kubectl --context). */
  context?: string;
}

export function loadKubeConfig(options: LoadKubeConfigOptions = {}): k8s.KubeConfig {
  const tried: string[] = [];

  const context = options.context;
  if (options.kubeconfig) return fromFiles([options.kubeconfig], `--kubeconfig ${options.kubeconfig}`, true, context);
  tried.push('--kubeconfig not given');

  const host = process.env.KUBERNETES_SERVICE_HOST;
  if (host) {
    const prefix = options.serviceAccountPrefix ?? '';
    const token = `${prefix}${SERVICE_ACCOUNT_DIR}/token`;
    const ca = `${prefix}${SERVICE_ACCOUNT_DIR}/ca.crt`;
    if (existsSync(token) && existsSync(ca)) {
      const kc = new k8s.KubeConfig();
      kc.loadFromCluster(prefix);
      return checked(kc, 'the in-cluster service account', context);
    }
    tried.push(
      `KUBERNETES_SERVICE_HOST is set but ${existsSync(token) ? ca : token} does not exist (service account token not mounted?)`,
    );
  } else {
    tried.push('not in a cluster (KUBERNETES_SERVICE_HOST unset)');
  }

  const envList = process.env.KUBECONFIG;
  if (envList) {
    const files = envList.split(delimiter).filter(Boolean);
    const present = files.filter((f) => existsSync(f));
    if (present.length > 0) return fromFiles(present, `$KUBECONFIG (${present.join(delimiter)})`, false, context);
    tried.push(`$KUBECONFIG names no existing file (${files.join(delimiter)})`);
  } else {
    tried.push('$KUBECONFIG unset');
  }

  const home = join(options.homeDir ?? homedir(), '.kube', 'config');
  if (existsSync(home)) return fromFiles([home], home, false, context);
  tried.push(`${home} does not exist`);

  throw new KubeConfigError(
    `no Kubernetes cluster configured: ${tried.join('; ')}. ` +
      'Pass --kubeconfig FILE, run in a cluster, or use --manifests DIR to run without one.',
  );
}

/** Loads kubeconfig files and merges them the way kubectl does: the first file to name a thing wins. */
function fromFiles(files: string[], source: string, mustExist: boolean, context?: string): k8s.KubeConfig {
  const [first, ...more] = files;
  if (first === undefined) throw new KubeConfigError(`${source}: no kubeconfig file`);
  if (mustExist && !existsSync(first)) throw new KubeConfigError(`${source}: the file does not exist`);
  const kc = new k8s.KubeConfig();
  try {
    kc.loadFromFile(first);
    for (const file of more) {
      const more = new k8s.KubeConfig();
      more.loadFromFile(file);
      if (!kc.currentContext && more.currentContext) kc.currentContext = more.currentContext;
      for (const c of more.clusters) if (!kc.getCluster(c.name)) kc.addCluster(c);
      for (const u of more.users) if (!kc.getUser(u.name)) kc.addUser(u);
      for (const x of more.contexts) if (!kc.getContextObject(x.name)) kc.addContext(x);
    }
  } catch (err) {
    throw new KubeConfigError(`${source}: cannot read kubeconfig: ${(err as Error).message}`, err);
  }
  return checked(kc, source, context);
}

function checked(kc: k8s.KubeConfig, source: string, context?: string): k8s.KubeConfig {
  if (context !== undefined) {
    if (!kc.getContextObject(context))
      throw new KubeConfigError(
        `${source}: no context named ${context} (contexts: ${kc.contexts.map((c) => c.name).join(', ') || 'none'})`,
      );
    kc.setCurrentContext(context);
  }
  if (!kc.getCurrentContext()) throw new KubeConfigError(`${source}: no current-context`);
  if (!kc.getContextObject(kc.getCurrentContext()))
    throw new KubeConfigError(`${source}: current-context ${kc.getCurrentContext()} is not defined`);
  const cluster = kc.getCurrentCluster();
  if (!cluster?.server)
    throw new KubeConfigError(`${source}: context ${kc.getCurrentContext()} names no cluster with a server URL`);
  try {
    new URL(cluster.server);
  } catch (err) {
    throw new KubeConfigError(`${source}: cluster ${cluster.name} has an invalid server URL ${cluster.server}`, err);
  }
  return kc;
}
