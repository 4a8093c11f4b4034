// Which cluster the integration tests use: their own control plane unless asked, in two variables, to
// use the one KUBECONFIG names; a stray KUBECONFIG alone never points them at a real cluster.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { chooseCluster } from './env.ts';

const kubeconfig = join(mkdtempSync(join(tmpdir(), 'choose-cluster-')), 'kind.kubeconfig');
writeFileSync(kubeconfig, '{}');

describe('chooseCluster', () => {
  it('uses the local control plane by default', () => {
    expect(chooseCluster({})).toEqual({ mode: 'local' });
    expect(chooseCluster({ GATEHOUSE_E2E_CLUSTER: 'local' })).toEqual({ mode: 'local' });
  });

  it('ignores a KUBECONFIG nobody opted in to, and says so', () => {
    expect(chooseCluster({ KUBECONFIG: kubeconfig })).toEqual({ mode: 'local', ignoredKubeconfig: kubeconfig });
  });

  it('uses the KUBECONFIG cluster with GATEHOUSE_E2E_CLUSTER=kubeconfig', () => {
    expect(chooseCluster({ KUBECONFIG: kubeconfig, GATEHOUSE_E2E_CLUSTER: 'kubeconfig' })).toEqual({
      mode: 'kubeconfig',
      kubeconfig,
    });
  });

  it('lets GATEHOUSE_TEST_USE_KUBECONFIG=0 force the local control plane', () => {
    expect(
      chooseCluster({
        KUBECONFIG: kubeconfig,
        GATEHOUSE_E2E_CLUSTER: 'kubeconfig',
        GATEHOUSE_TEST_USE_KUBECONFIG: '0',
      }),
    ).toEqual({ mode: 'local', ignoredKubeconfig: kubeconfig });
  });

  it('refuses what it cannot honour', () => {
    expect(() => chooseCluster({ GATEHOUSE_E2E_CLUSTER: 'kubeconfig' })).toThrow(/needs KUBECONFIG/);
    expect(() => chooseCluster({ GATEHOUSE_E2E_CLUSTER: 'kind' })).toThrow(/"local" \(the default\) or "kubeconfig"/);
    expect(() => chooseCluster({ GATEHOUSE_E2E_CLUSTER: 'kubeconfig', KUBECONFIG: `${kubeconfig}:/other` })).toThrow(
      /several files/,
    );
    expect(() => chooseCluster({ GATEHOUSE_E2E_CLUSTER: 'kubeconfig', KUBECONFIG: '/nonexistent/kubeconfig' })).toThrow(
      /does not exist/,
    );
  });
});
