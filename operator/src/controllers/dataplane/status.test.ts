import { describe, expect, it } from 'vitest';
import type { NodeStatus } from '../../xds/node-registry.ts';
import { dataPlaneStatus, deploymentProblem, type DeploymentState } from './status.ts';

const available = (replicas: number, generation = 1): DeploymentState => ({
  metadata: { generation },
  spec: { replicas },
  status: {
    observedGeneration: generation,
    replicas,
    readyReplicas: replicas,
    updatedReplicas: replicas,
    availableReplicas: replicas,
  },
});

function node(id: string, cluster: string, syncedVersion?: string, extra: Partial<NodeStatus> = {}): NodeStatus {
  return {
    id,
    cluster,
    connectedSince: '2026-01-01T00:00:00.000Z',
    streams: 1,
    types: {},
    ...(syncedVersion ? { syncedVersion, syncedAt: '2026-01-01T00:00:01.000Z' } : {}),
    ...extra,
  };
}

const base = { namespace: 'edge', name: 'eu', configVersion: 'v2' };
const both = { envoy: available(2), extproc: available(2) };
const condition = (r: ReturnType<typeof dataPlaneStatus>, type: string) => r.conditions.find((c) => c.type === type)!;

describe('deploymentProblem (kubectl rollout status rules)', () => {
  it('is undefined for a rolled-out, available Deployment', () => {
    expect(deploymentProblem(available(3), 'd')).toBeUndefined();
  });

  it.each([
    ['missing', undefined, /does not exist/],
    [
      'generation not observed',
      { ...available(2, 3), status: { ...available(2).status, observedGeneration: 2 } },
      /generation 3 not yet observed/,
    ],
    ['no status at all', { metadata: { generation: 1 }, spec: { replicas: 2 } }, /generation 1 not yet observed/],
    [
      'pods not updated',
      { ...available(3), status: { ...available(3).status, updatedReplicas: 1 } },
      /1 of 3 pods updated/,
    ],
    [
      'old pods left',
      { ...available(2), status: { ...available(2).status, replicas: 3 } },
      /1 old pods pending termination/,
    ],
    [
      'not available',
      { ...available(2), status: { ...available(2).status, availableReplicas: 1 } },
      /1 of 2 updated pods available/,
    ],
    [
      'deadline exceeded',
      {
        ...available(2),
        status: {
          ...available(2).status,
          conditions: [{ type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded' }],
        },
      },
      /progress deadline/,
    ],
  ] as const)('%s', (_name, d, message) => {
    expect(deploymentProblem(d as DeploymentState | undefined, 'd')).toMatch(message);
  });

  it('defaults spec.replicas to 1 as the apiserver does', () => {
    expect(deploymentProblem({ metadata: { generation: 1 }, status: { observedGeneration: 1 } }, 'd')).toMatch(
      /0 of 1 pods updated/,
    );
  });
});

describe('dataPlaneStatus', () => {
  it('is Ready and ConfigSynced when the Deployments are available and every node runs the served version', () => {
    const r = dataPlaneStatus({
      ...base,
      deployments: both,
      nodes: [
        node('eu-envoy-a', 'edge/eu/envoy', 'v2'),
        node('eu-envoy-b', 'edge/eu/envoy', 'v2'),
        node('eu-extproc-a', 'edge/eu/extproc', 'v2'),
      ],
    });
    expect(r.conditions).toEqual([
      { type: 'Ready', status: 'True', reason: 'Ready', message: expect.any(String) as unknown },
      { type: 'ConfigSynced', status: 'True', reason: 'Synced', message: 'all 3 connected nodes run v2' },
    ]);
    expect(r.configVersion).toBe('v2');
    expect(r.components).toEqual([
      { name: 'envoy', replicas: 2, readyReplicas: 2, syncedVersion: 'v2' },
      { name: 'extproc', replicas: 2, readyReplicas: 2, syncedVersion: 'v2' },
    ]);
  });

  it('ignores the nodes of other DataPlanes and foreign clusters', () => {
    const r = dataPlaneStatus({
      ...base,
      deployments: both,
      nodes: [
        node('a', 'edge/eu/envoy', 'v2'),
        node('b', 'edge/us/envoy', 'v1'),
        node('c', 'other/eu/envoy', 'v1'),
        node('d', 'gatehouse-extproc', 'v1'),
      ],
    });
    expect(condition(r, 'ConfigSynced')).toMatchObject({ status: 'True', message: 'all 1 connected nodes run v2' });
  });

  it('names the nodes that are behind, and reports the oldest version of a component', () => {
    const r = dataPlaneStatus({
      ...base,
      deployments: both,
      nodes: [
        node('eu-envoy-a', 'edge/eu/envoy', 'v2', { syncedAt: '2026-01-01T00:00:09.000Z' }),
        node('eu-envoy-b', 'edge/eu/envoy', 'v1', { syncedAt: '2026-01-01T00:00:05.000Z' }),
        node('eu-extproc-a', 'edge/eu/extproc'),
      ],
    });
    expect(condition(r, 'ConfigSynced')).toEqual({
      type: 'ConfigSynced',
      status: 'False',
      reason: 'Syncing',
      message: '2 of 3 nodes do not run v2 yet: eu-envoy-b (envoy) runs v1, eu-extproc-a (extproc) runs nothing yet',
    });
    expect(condition(r, 'Ready')).toMatchObject({ status: 'False', reason: 'ConfigNotSynced' });
    expect(r.components[0]?.syncedVersion).toBe('v1');
    expect(r.components[1]).not.toHaveProperty('syncedVersion');
  });

  it('names the node that NACKs, with its message; an ACK after the NACK clears it', () => {
    const nacking = node('eu-envoy-a', 'edge/eu/envoy', 'v1', {
      types: {
        LDS: {
          pending: false,
          ackedVersion: 'v1',
          ackedAt: '2026-01-01T00:00:01.000Z',
          lastNack: { version: 'v2', message: 'invalid listener', at: '2026-01-01T00:00:02.000Z' },
        },
      },
    });
    const r = dataPlaneStatus({
      ...base,
      deployments: both,
      nodes: [nacking, node('eu-envoy-b', 'edge/eu/envoy', 'v2')],
    });
    expect(condition(r, 'ConfigSynced')).toEqual({
      type: 'ConfigSynced',
      status: 'False',
      reason: 'Rejected',
      message: '1 of 2 nodes reject configuration: eu-envoy-a (envoy) rejected v2 (LDS): invalid listener',
    });
    const recovered = structuredClone(nacking);
    Object.assign(recovered, { syncedVersion: 'v3' });
    Object.assign(recovered.types.LDS!, { ackedVersion: 'v3', ackedAt: '2026-01-01T00:00:03.000Z' });
    const r2 = dataPlaneStatus({ ...base, configVersion: 'v3', deployments: both, nodes: [recovered] });
    expect(condition(r2, 'ConfigSynced')).toMatchObject({ status: 'True', reason: 'Synced' });
  });

  it('is not synced when no node is connected, unless no pod is meant to run', () => {
    const r = dataPlaneStatus({ ...base, deployments: both, nodes: [] });
    expect(condition(r, 'ConfigSynced')).toMatchObject({ status: 'False', reason: 'NoNodesConnected' });
    expect(condition(r, 'Ready')).toMatchObject({ status: 'False', reason: 'ConfigNotSynced' });
    const scaledDown = dataPlaneStatus({
      ...base,
      deployments: { envoy: available(0), extproc: available(0) },
      nodes: [],
    });
    expect(condition(scaledDown, 'ConfigSynced')).toMatchObject({ status: 'True', reason: 'NoReplicas' });
    expect(condition(scaledDown, 'Ready')).toMatchObject({ status: 'True' });
  });

  it('is Unknown before the operator has a snapshot', () => {
    const r = dataPlaneStatus({
      ...base,
      configVersion: undefined,
      deployments: both,
      nodes: [node('a', 'edge/eu/envoy', 'v1')],
    });
    expect(condition(r, 'ConfigSynced')).toMatchObject({ status: 'Unknown', reason: 'NoSnapshot' });
    expect(r).not.toHaveProperty('configVersion');
  });

  it('says which Deployment is missing or not available before anything about config', () => {
    const r = dataPlaneStatus({
      ...base,
      deployments: { envoy: { ...available(2), status: { ...available(2).status, availableReplicas: 0 } } },
      nodes: [],
    });
    expect(condition(r, 'Ready')).toEqual({
      type: 'Ready',
      status: 'False',
      reason: 'WorkloadsNotReady',
      message: 'Deployment eu-envoy: 0 of 2 updated pods available; Deployment eu-extproc does not exist yet',
    });
    expect(r.components).toEqual([
      { name: 'envoy', replicas: 2, readyReplicas: 2 },
      { name: 'extproc', replicas: 0, readyReplicas: 0 },
    ]);
  });

  it('names at most five nodes in a message', () => {
    const nodes = Array.from({ length: 8 }, (_, i) => node(`eu-envoy-${i}`, 'edge/eu/envoy', 'v1'));
    expect(condition(dataPlaneStatus({ ...base, deployments: both, nodes }), 'ConfigSynced').message).toMatch(
      /eu-envoy-4 \(envoy\) runs v1 and 3 more$/,
    );
  });
});

describe("dataPlaneStatus with the compiler's conditions", () => {
  const nodes = [node('a', 'edge/eu/envoy', 'v2')];

  it('carries Accepted and ResolvedRefs, and is not Ready when the DataPlane is not accepted', () => {
    const compileConditions = [
      {
        type: 'Accepted',
        status: 'False' as const,
        reason: 'UnresolvedRefs',
        message: 'spec.listeners[0].tls.secretRef.name: Secret edge/missing not found',
      },
      {
        type: 'ResolvedRefs',
        status: 'False' as const,
        reason: 'SecretNotFound',
        message: 'spec.listeners[0].tls.secretRef.name: Secret edge/missing not found',
      },
    ];
    const r = dataPlaneStatus({ ...base, deployments: both, nodes, compileConditions });
    expect(r.conditions.map((c) => `${c.type}=${c.status}`)).toEqual([
      'Accepted=False',
      'ResolvedRefs=False',
      'Ready=False',
      'ConfigSynced=True',
    ]);
    expect(condition(r, 'Ready')).toMatchObject({
      reason: 'UnresolvedRefs',
      message: expect.stringContaining('Secret edge/missing') as unknown,
    });
  });

  it('is Ready when accepted', () => {
    const compileConditions = [
      { type: 'Accepted', status: 'True' as const, reason: 'Accepted', message: '' },
      { type: 'ResolvedRefs', status: 'True' as const, reason: 'ResolvedRefs', message: '' },
    ];
    expect(condition(dataPlaneStatus({ ...base, deployments: both, nodes, compileConditions }), 'Ready')).toMatchObject(
      { status: 'True' },
    );
  });
});
