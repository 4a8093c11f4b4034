import { describe, expect, it } from 'vitest';
import { parseOptions } from '../../lib/cli/command.ts';
import { statusCommand } from './command.ts';
import {
  compareRegions,
  exitCodeOf,
  renderJson,
  renderTable,
  specHash,
  summarize,
  type RegionInput,
} from './fleet-status.ts';

const spec = { basePath: '/orders', target: { url: 'http://orders:8080' } };

function proxy(
  namespace: string,
  o: {
    name?: string;
    spec?: unknown;
    generation?: number;
    lastAccepted?: { generation: number; spec: unknown };
    accepted?: string;
    programmed?: string;
    ready?: [string, string];
    nodes?: { name: string; synced: boolean; lastSyncTime?: string; message?: string }[];
  } = {},
) {
  const nodes = o.nodes ?? [
    { name: 'envoy-0', synced: true, lastSyncTime: '2026-12-01T10:00:00Z' },
    { name: 'envoy-1', synced: true, lastSyncTime: '2026-12-01T10:00:01Z' },
  ];
  const synced = nodes.filter((n) => n.synced).length;
  const [ready, reason] = o.ready ?? (synced === nodes.length ? ['True', 'Synced'] : ['False', 'SyncPending']);
  return {
    apiVersion: 'gatehouse.dev/v1alpha1',
    kind: 'ApiProxy',
    metadata: { name: o.name ?? 'orders', namespace, generation: o.generation ?? 1 },
    spec: o.spec ?? spec,
    status: {
      conditions: [
        { type: 'Accepted', status: o.accepted ?? 'True', reason: 'Accepted' },
        { type: 'Programmed', status: o.programmed ?? 'True', reason: 'Programmed' },
        { type: 'Ready', status: ready, reason },
      ],
      ...(o.lastAccepted ? { lastAccepted: o.lastAccepted } : {}),
      dataPlanes: nodes,
      dataPlanesSynced: `${synced}/${nodes.length}`,
    },
  };
}

const region = (context: string, namespace: string, ...proxies: unknown[]): RegionInput => ({
  context,
  namespace,
  proxies,
});

describe('summarize: one ApiProxy in one region', () => {
  it('takes the accepted generation and spec from status.lastAccepted when present', () => {
    const s = summarize(proxy('a', { generation: 5, lastAccepted: { generation: 3, spec: { basePath: '/old' } } }));
    expect(s).toMatchObject({ generation: 3, specHash: specHash({ basePath: '/old' }), synced: '2/2' });
  });

  it('else metadata.generation and the spec, but only when Accepted=True', () => {
    expect(summarize(proxy('a', { generation: 4 }))).toMatchObject({ generation: 4, specHash: specHash(spec) });
    expect(summarize(proxy('a', { accepted: 'False' }))).toMatchObject({ generation: null, specHash: null });
  });

  it('the spec hash ignores key order', () => {
    expect(specHash({ a: 1, b: { c: 2, d: 3 } })).toBe(specHash({ b: { d: 3, c: 2 }, a: 1 }));
    expect(specHash({ a: 1 })).not.toBe(specHash({ a: 2 }));
  });

  it('the oldest unsynced node is the unsynced one with the oldest lastSyncTime, else any unsynced', () => {
    const timed = proxy('a', {
      nodes: [
        { name: 'n0', synced: false, lastSyncTime: '2026-12-01T10:05:00Z' },
        { name: 'n1', synced: true, lastSyncTime: '2026-12-01T09:00:00Z' },
        { name: 'n2', synced: false, lastSyncTime: '2026-12-01T10:01:00Z', message: 'rejected: bad route' },
      ],
    });
    expect(summarize(timed).oldestUnsynced).toEqual({
      name: 'n2',
      lastSyncTime: '2026-12-01T10:01:00Z',
      message: 'rejected: bad route',
    });
    const untimed = proxy('a', {
      nodes: [
        { name: 'n0', synced: true },
        { name: 'n1', synced: false },
      ],
    });
    expect(summarize(untimed)).toMatchObject({
      syncedNodes: 1,
      totalNodes: 2,
      oldestUnsynced: { name: 'n1', lastSyncTime: null },
    });
  });
});

describe('compareRegions', () => {
  it('regions that run the same spec, programmed and fully synced agree: exit 0', () => {
    const report = compareRegions(
      [region('us', 'team-us', proxy('team-us')), region('eu', 'team-eu', proxy('team-eu'))],
      false,
    );
    expect(report.agree).toBe(true);
    expect(report.proxies).toHaveLength(1);
    // Matched by name across the regions' own namespaces.
    expect(report.proxies[0]).toMatchObject({ name: 'orders', namespace: null, agree: true, problems: [] });
    expect(exitCodeOf(report)).toBe(0);
    expect(renderTable(report)).toMatch(/All 2 regions agree\./);
  });

  it('a region with an unsynced node disagrees, and the table names the node: exit 1', () => {
    const behind = proxy('gh', {
      nodes: [
        { name: 'envoy-eu-0', synced: true, lastSyncTime: '2026-12-01T10:00:00Z' },
        { name: 'envoy-eu-1', synced: false, lastSyncTime: '2026-12-01T09:00:00Z' },
      ],
    });
    const report = compareRegions([region('us', 'gh', proxy('gh')), region('eu', 'gh', behind)], false);
    expect(report.proxies[0]!.namespace).toBe('gh');
    expect(report.proxies[0]!.problems).toEqual([
      'Ready differs: us True (Synced), eu False (SyncPending)',
      'eu: 1/2 data-plane nodes synced; oldest unsynced envoy-eu-1 (last synced 2026-12-01T09:00:00Z)',
    ]);
    expect(exitCodeOf(report)).toBe(1);
    const table = renderTable(report);
    expect(table).toMatch(
      /^APIPROXY\s+CONTEXT\s+NAMESPACE\s+GEN\s+SPEC\s+ACCEPTED\s+PROGRAMMED\s+READY\s+SYNCED\s+OLDEST UNSYNCED$/m,
    );
    expect(table).toMatch(/^gh\/orders\s+us\s+gh\s+1\s+\w{12}\s+True\s+True\s+True Synced\s+2\/2\s+-$/m);
    expect(table).toMatch(
      /^\s+eu\s+gh\s+1\s+\w{12}\s+True\s+True\s+False SyncPending\s+1\/2\s+envoy-eu-1 \(2026-12-01T09:00:00Z\)$/m,
    );
    expect(table).toMatch(/Regions disagree:\n {2}gh\/orders: Ready differs/);
  });

  it('a proxy missing in a region, or a different accepted spec, disagrees', () => {
    const report = compareRegions(
      [
        region('us', 'gh', proxy('gh'), proxy('gh', { name: 'users' })),
        region('eu', 'gh', proxy('gh', { spec: { ...spec, basePath: '/v2/orders' }, generation: 2 })),
      ],
      false,
    );
    const [orders, users] = report.proxies;
    expect(orders!.problems).toEqual([
      `accepted spec differs: us generation 1 spec ${specHash(spec)}, eu generation 2 spec ${specHash({ ...spec, basePath: '/v2/orders' })}`,
    ]);
    expect(users!.problems).toEqual(['missing in eu']);
    expect(renderTable(report)).toMatch(/^\s+eu\s+-\s+-\s+-\s+missing/m);
    expect(exitCodeOf(report)).toBe(1);
  });

  it('Programmed differing, and no accepted revision, disagree', () => {
    const report = compareRegions(
      [region('us', 'gh', proxy('gh')), region('eu', 'gh', proxy('gh', { accepted: 'False', programmed: 'False' }))],
      false,
    );
    expect(report.proxies[0]!.problems).toEqual(
      expect.arrayContaining(['eu: no accepted revision (Accepted False)', 'Programmed differs: us True, eu False']),
    );
  });

  it('with --all-namespaces proxies are matched by namespace/name', () => {
    const report = compareRegions(
      [
        { context: 'us', namespace: null, proxies: [proxy('a'), proxy('b')] },
        { context: 'eu', namespace: null, proxies: [proxy('a')] },
      ],
      true,
    );
    expect(report.proxies.map((p) => `${p.namespace}/${p.name}: ${p.problems.join('; ')}`)).toEqual([
      'a/orders: ',
      'b/orders: missing in eu',
    ]);
  });

  it('an unreachable region is named with its reason, the others still printed: exit 2', () => {
    const report = compareRegions(
      [
        region('us', 'gh', proxy('gh')),
        { context: 'eu', namespace: 'gh', error: { code: 'GH_ERR_KUBE_CONNECTION', message: 'connect ECONNREFUSED' } },
      ],
      false,
    );
    // The proxy is compared over the regions that answered.
    expect(report.proxies[0]!.agree).toBe(true);
    expect(report.agree).toBe(false);
    expect(exitCodeOf(report)).toBe(2);
    const table = renderTable(report);
    expect(table).toMatch(/^gh\/orders\s+us\s+gh/m);
    expect(table).toMatch(/context eu: cannot list ApiProxies: connect ECONNREFUSED \[GH_ERR_KUBE_CONNECTION\]/);
    const json = JSON.parse(renderJson(report)) as { regions: unknown[]; agree: boolean };
    expect(json.regions).toEqual([
      { context: 'us', namespace: 'gh' },
      { context: 'eu', namespace: 'gh', error: { code: 'GH_ERR_KUBE_CONNECTION', message: 'connect ECONNREFUSED' } },
    ]);
    expect(json.agree).toBe(false);
  });

  it('JSON: {regions, proxies: [{namespace, name, regions: {ctx: {...}}, agree, problems}], agree}', () => {
    const json = JSON.parse(renderJson(compareRegions([region('us', 'gh', proxy('gh'))], false))) as Record<
      string,
      unknown
    >;
    expect(json).toEqual({
      regions: [{ context: 'us', namespace: 'gh' }],
      proxies: [
        {
          namespace: 'gh',
          name: 'orders',
          regions: {
            us: {
              namespace: 'gh',
              generation: 1,
              specHash: specHash(spec),
              accepted: 'True',
              programmed: 'True',
              ready: 'True',
              readyReason: 'Synced',
              synced: '2/2',
              syncedNodes: 2,
              totalNodes: 2,
              oldestUnsynced: null,
            },
          },
          agree: true,
          problems: [],
        },
      ],
      agree: true,
    });
  });
});

describe('gatehouse status options', () => {
  const parse = (argv: string[]) => parseOptions(statusCommand, argv);

  it('--context is repeated, one per region, in order', () => {
    expect(parse(['--context', 'us', '--context', 'eu'])).toEqual({
      contexts: ['us', 'eu'],
      kubeconfig: undefined,
      namespace: undefined,
      allNamespaces: false,
      output: 'table',
      requestTimeout: 10_000,
    });
    expect(parse(['--context', 'us', '-A', '-o', 'json'])).toMatchObject({ allNamespaces: true, output: 'json' });
  });

  it('usage errors: no context, a context twice, -n with -A, an unknown output', () => {
    expect(() => parse([])).toThrow(/gatehouse status: name at least one region: --context NAME/);
    expect(() => parse(['--context', 'us', '--context', 'us'])).toThrow(/a --context is given twice/);
    expect(() => parse(['--context', 'us', '-n', 'x', '-A'])).toThrow(/-n and -A/);
    expect(() => parse(['--context', 'us', '-o', 'yaml'])).toThrow(/-output: "yaml" is not one of table, json/);
    expect(() => parse(['--context', 'us', '-A', 'x'])).toThrow(/gatehouse status:/);
  });
});
