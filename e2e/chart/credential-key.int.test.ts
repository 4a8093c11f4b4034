// The chart's credential hash key Secret, installed for real by helm against the test apiserver: created
// at install with a random key the operator's kube source reads, the same key after an upgrade, kept on
// uninstall and adopted by the next install of the release; a Secret of that name the release does not
// own is left alone; `helm template` (no cluster to look up) still renders a valid Secret.
import { randomBytes } from 'node:crypto';
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyManifests, kubeRequest } from '../env/apply.ts';
import { ENV } from '../env/env.ts';
import { CHART_DIR, helm, renderChart } from '../env/helm.ts';
import { KubeRest } from '../../operator/src/kube/rest.ts';
import { credentialKeySecretName } from '../../operator/src/api/names.ts';
import { KubeSource } from '../../operator/src/source/kube.ts';
import { silentLog } from '../../operator/src/xds/control-plane.test-support.ts';

interface Secret {
  metadata: { labels?: Record<string, string>; annotations?: Record<string, string> };
  data?: Record<string, string>;
}

describe('the credential hash key Secret', () => {
  const kubeconfig = process.env[ENV.adminKubeconfig]!;
  const kc = new k8s.KubeConfig();
  const suffix = randomBytes(3).toString('hex');
  const ns = `chart-key-${suffix}`;
  // Unique names: the releases' ClusterRoles are cluster-wide (and on a kubeconfig cluster, not ours alone).
  const [gh, other] = [`key-${suffix}`, `other-${suffix}`];
  const releases = new Set<string>();

  /** helm against the test cluster, in the test namespace; fails the test when helm does. */
  const run = (args: string[]) => {
    const result = helm([...args, '--namespace', ns, '--kubeconfig', kubeconfig]);
    expect(result.status, `helm ${args.join(' ')}: ${result.stderr}`).toBe(0);
    return result.stdout;
  };
  // CRDs are the environment's already; no kubelet, so nothing is waited for.
  const install = (release: string, ...set: string[]) => {
    releases.add(release);
    return run(['install', release, CHART_DIR, '--skip-crds', ...set.flatMap((s) => ['--set', s])]);
  };
  const uninstall = (release: string) => {
    releases.delete(release);
    return run(['uninstall', release]);
  };
  const secret = async (): Promise<Secret | undefined> => {
    const { status, body } = await kubeRequest(
      kc,
      'GET',
      `/api/v1/namespaces/${ns}/secrets/${credentialKeySecretName}`,
    );
    if (status === 404) return undefined;
    expect(status).toBe(200);
    return JSON.parse(body) as Secret;
  };
  const keyOf = (s: Secret | undefined) => Buffer.from(s?.data?.key ?? '', 'base64').toString('utf8');
  const manifestHasKey = (release: string) =>
    run(['get', 'manifest', release]).includes(`name: ${credentialKeySecretName}`);

  beforeAll(async () => {
    kc.loadFromFile(kubeconfig);
    await applyManifests(kc, [{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } }]);
  });

  afterAll(async () => {
    for (const release of releases) helm(['uninstall', release, '--namespace', ns, '--kubeconfig', kubeconfig]);
    await kubeRequest(kc, 'DELETE', `/api/v1/namespaces/${ns}`);
  });

  it('is created at install with a random key the operator reads, and kept through upgrade, uninstall and reinstall', async () => {
    install(gh);
    const created = await secret();
    expect(created?.metadata.labels).toMatchObject({
      'gatehouse.dev/credential': 'true',
      'app.kubernetes.io/managed-by': 'Helm',
    });
    expect(created?.metadata.annotations).toMatchObject({
      'helm.sh/resource-policy': 'keep',
      'meta.helm.sh/release-name': gh,
    });
    const key = keyOf(created);
    expect(key).toMatch(/^[A-Za-z0-9]{64}$/);

    // The operator's kube source (its Secret informer and label selector) finds exactly this key.
    const source = new KubeSource({
      kc,
      rest: new KubeRest(kc, { userAgent: 'gatehouse-e2e' }),
      log: silentLog,
      watchNamespace: ns,
      operatorNamespace: ns,
    });
    await source.start();
    try {
      expect(source.credentialHashKey()).toBe(key);
    } finally {
      await source.stop();
    }

    run(['upgrade', gh, CHART_DIR, '--set', 'replicaCount=3']);
    expect(keyOf(await secret())).toBe(key);
    expect(manifestHasKey(gh)).toBe(true);

    expect(uninstall(gh)).toMatch(/kept due to the resource policy/);
    expect(keyOf(await secret())).toBe(key);

    // The same release adopts the kept Secret, key and all.
    install(gh);
    expect(manifestHasKey(gh)).toBe(true);
    expect(keyOf(await secret())).toBe(key);
    uninstall(gh);
  });

  it('leaves a Secret of that name the release does not own as it is', async () => {
    // Kept from the release above, or made by hand: another release renders no Secret over it.
    const before = await secret();
    expect(before).toBeDefined();
    install(other);
    expect(manifestHasKey(other)).toBe(false);
    expect(keyOf(await secret())).toBe(keyOf(before));
    uninstall(other);

    await kubeRequest(kc, 'DELETE', `/api/v1/namespaces/${ns}/secrets/${credentialKeySecretName}`);
    await applyManifests(kc, [
      {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: credentialKeySecretName, namespace: ns, labels: { 'gatehouse.dev/credential': 'true' } },
        data: { key: Buffer.from('made-by-hand').toString('base64') },
      } as k8s.KubernetesObject,
    ]);
    install(gh);
    expect(manifestHasKey(gh)).toBe(false);
    expect(keyOf(await secret())).toBe('made-by-hand');
    uninstall(gh);
    expect(keyOf(await secret())).toBe('made-by-hand');
  });

  it('renders a valid Secret under helm template, where lookup finds nothing (a new key each time), and none when create is false', () => {
    const rendered = () =>
      renderChart({ release: 'gh', showOnly: ['templates/credential-hash-key.yaml'] }) as (k8s.KubernetesObject &
        Secret)[];
    const [first, second] = [rendered(), rendered()];
    expect(first.map((o) => `${o.kind} ${o.metadata?.name}`)).toEqual([`Secret ${credentialKeySecretName}`]);
    expect(keyOf(first[0])).toMatch(/^[A-Za-z0-9]{64}$/);
    expect(keyOf(second[0])).not.toBe(keyOf(first[0]));
    expect(
      renderChart({ release: 'gh', set: { 'credentialHashKey.create': 'false' } }).filter((o) => o.kind === 'Secret'),
    ).toEqual([]);
  });
});
