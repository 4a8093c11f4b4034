import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { KubeConfigError } from './errors.ts';
import { loadKubeConfig } from './kubeconfig.ts';

function kubeconfig(context: string | undefined, clusters: Record<string, string>): string {
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'Config',
    ...(context ? { 'current-context': context } : {}),
    clusters: Object.entries(clusters).map(([name, server]) => ({ name, cluster: { server } })),
    users: Object.keys(clusters).map((name) => ({ name, user: { token: 't' } })),
    contexts: Object.keys(clusters).map((name) => ({ name, context: { cluster: name, user: name } })),
  });
}

describe('loadKubeConfig', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'gatehouse-kubeconfig-'));
    vi.stubEnv('KUBERNETES_SERVICE_HOST', '');
    vi.stubEnv('KUBERNETES_SERVICE_PORT', '');
    vi.stubEnv('KUBECONFIG', '');
  });
  afterEach(() => {
    vi.unstubAllEnvs();
    rmSync(dir, { recursive: true, force: true });
  });
  const file = (name: string, text: string) => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };

  it('takes --kubeconfig over everything else', () => {
    vi.stubEnv('KUBECONFIG', file('env', kubeconfig('e', { e: 'https://env.example:6443' })));
    const kc = loadKubeConfig({
      kubeconfig: file('flag', kubeconfig('f', { f: 'https://flag.example:6443' })),
      homeDir: dir,
    });
    expect(kc.getCurrentCluster()?.server).toBe('https://flag.example:6443');
  });

  it('uses the context asked for (kubectl --context), and names the contexts when it does not exist', () => {
    const path = file('two', kubeconfig(undefined, { us: 'https://us.example:6443', eu: 'https://eu.example:6443' }));
    expect(loadKubeConfig({ kubeconfig: path, context: 'eu' }).getCurrentCluster()?.server).toBe(
      'https://eu.example:6443',
    );
    expect(() => loadKubeConfig({ kubeconfig: path, context: 'ap' })).toThrow(
      /no context named ap \(contexts: us, eu\)/,
    );
  });

  it('fails with exit code 2 when --kubeconfig names a missing or broken file', () => {
    expect(() => loadKubeConfig({ kubeconfig: join(dir, 'missing') })).toThrow(KubeConfigError);
    try {
      loadKubeConfig({ kubeconfig: join(dir, 'missing') });
    } catch (err) {
      expect(err).toMatchObject({ code: 'GH_ERR_KUBE_CONFIG', exitCode: 2 });
    }
    expect(() => loadKubeConfig({ kubeconfig: file('broken', '{ not yaml: [') })).toThrow(/cannot read kubeconfig/);
    expect(() =>
      loadKubeConfig({ kubeconfig: file('nocontext', kubeconfig(undefined, { a: 'https://a:1' })) }),
    ).toThrow(/no current-context/);
  });

  it('uses the service account when running in a cluster', () => {
    const sa = join(dir, 'var/run/secrets/kubernetes.io/serviceaccount');
    mkdirSync(sa, { recursive: true });
    writeFileSync(join(sa, 'token'), 'token');
    writeFileSync(join(sa, 'ca.crt'), 'ca');
    writeFileSync(join(sa, 'namespace'), 'gatehouse-system');
    vi.stubEnv('KUBERNETES_SERVICE_HOST', '10.96.0.1');
    vi.stubEnv('KUBERNETES_SERVICE_PORT', '443');
    vi.stubEnv('KUBECONFIG', file('env', kubeconfig('e', { e: 'https://env.example:6443' })));
    const kc = loadKubeConfig({ serviceAccountPrefix: dir, homeDir: dir });
    expect(kc.getCurrentCluster()?.server).toBe('https://10.96.0.1:443');
    expect(kc.getContextObject(kc.getCurrentContext())?.namespace).toBe('gatehouse-system');
  });

  it('falls back to $KUBECONFIG when in a cluster without a mounted token, merging its files first-wins', () => {
    vi.stubEnv('KUBERNETES_SERVICE_HOST', '10.96.0.1');
    const first = file('first', kubeconfig('a', { a: 'https://first.example:6443' }));
    const second = file('second', kubeconfig('b', { a: 'https://shadowed.example', b: 'https://second.example:6443' }));
    vi.stubEnv('KUBECONFIG', [join(dir, 'absent'), first, second].join(delimiter));
    const kc = loadKubeConfig({ serviceAccountPrefix: dir, homeDir: dir });
    expect(kc.getCurrentContext()).toBe('a');
    expect(kc.getCurrentCluster()?.server).toBe('https://first.example:6443');
    expect(kc.getCluster('b')?.server).toBe('https://second.example:6443');
  });

  it('reads ~/.kube/config last', () => {
    mkdirSync(join(dir, '.kube'));
    writeFileSync(join(dir, '.kube', 'config'), kubeconfig('h', { h: 'https://home.example:6443' }));
    expect(loadKubeConfig({ homeDir: dir }).getCurrentCluster()?.server).toBe('https://home.example:6443');
  });

  it('names everything it tried when no cluster is configured', () => {
    vi.stubEnv('KUBERNETES_SERVICE_HOST', '10.96.0.1');
    vi.stubEnv('KUBECONFIG', join(dir, 'nope'));
    let error: unknown;
    try {
      loadKubeConfig({ serviceAccountPrefix: dir, homeDir: dir });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(KubeConfigError);
    const message = (error as Error).message;
    expect(message).toContain('--kubeconfig not given');
    expect(message).toContain(`${dir}/var/run/secrets/kubernetes.io/serviceaccount/token does not exist`);
    expect(message).toContain(`$KUBECONFIG names no existing file (${join(dir, 'nope')})`);
    expect(message).toContain(`${join(dir, '.kube', 'config')} does not exist`);
  });
});
