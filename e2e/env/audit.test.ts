// audit.ts on a real audit log: testdata/audit.jsonl was written by e2e/env's kube-apiserver (level
// Metadata) while the restricted test user made a list, a watch, a get, a status patch, a secret get,
// a refused pod delete, a lease create and a /version call, and the admin applied a ClusterRole.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openWatches, rbacUsage, readAudit, type PolicyRule } from './audit.ts';

const fixture = join(import.meta.dirname, 'testdata/audit.jsonl');
const user = 'gatehouse-operator-test';

describe('readAudit', () => {
  it('reads the completed requests of one user, oldest first', () => {
    const records = readAudit(fixture, { username: user });
    expect(
      records.map((r) => `${r.verb} ${r.apiGroup}/${r.resource}${r.subresource ? `/${r.subresource}` : ''} ${r.code}`),
    ).toEqual([
      'list gatehouse.dev/apiproxies 200',
      'watch gatehouse.dev/apiproxies 200',
      'get gatehouse.dev/apiproxies 404',
      'patch gatehouse.dev/apiproxies/status 404',
      'get /secrets 404',
      'delete /pods 403',
      'create coordination.k8s.io/leases 404',
      'get / 200',
    ]);
  });

  it('keeps namespace, name, URI and the path of non-resource requests', () => {
    const records = readAudit(fixture, { username: user });
    expect(records[5]).toMatchObject({
      verb: 'delete',
      resource: 'pods',
      namespace: 'shop',
      name: 'edge-envoy-7d9c',
      code: 403,
      path: '',
    });
    expect(records[7]).toMatchObject({ resource: '', path: '/version', uri: '/version' });
    expect(records[0]!.time).toMatch(/^\d{4}-\d\d-\d\dT/);
  });

  it('filters by user and by time', () => {
    expect(readAudit(fixture, { username: 'admin' }).map((r) => r.resource)).toEqual(['clusterroles']);
    const all = readAudit(fixture, { username: user });
    const since = new Date(Date.parse(all[5]!.time));
    expect(readAudit(fixture, { username: user, since }).map((r) => r.verb)).toEqual(['delete', 'create', 'get']);
    expect(readAudit(join(import.meta.dirname, 'testdata/none.jsonl'), { username: user })).toEqual([]);
  });
});

describe('rbacUsage', () => {
  const rules: PolicyRule[] = [
    { apiGroups: ['gatehouse.dev'], resources: ['apiproxies', 'apipolicies'], verbs: ['get', 'list', 'watch'] },
    { apiGroups: ['gatehouse.dev'], resources: ['apiproxies/status'], verbs: ['patch', 'update'] },
    { apiGroups: [''], resources: ['secrets'], verbs: ['get', 'list'] },
    { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['get', 'create', 'update'] },
  ];

  it('lists the refused requests and the grants no allowed request used', () => {
    const usage = rbacUsage(readAudit(fixture, { username: user }), rules);
    expect(usage.denied.map((r) => `${r.verb} ${r.resource} ${r.namespace}/${r.name}`)).toEqual([
      'delete pods shop/edge-envoy-7d9c',
    ]);
    expect(usage.unusedGrants).toEqual([
      { apiGroup: 'gatehouse.dev', resource: 'apipolicies', verb: 'get' },
      { apiGroup: 'gatehouse.dev', resource: 'apipolicies', verb: 'list' },
      { apiGroup: 'gatehouse.dev', resource: 'apipolicies', verb: 'watch' },
      { apiGroup: 'gatehouse.dev', resource: 'apiproxies/status', verb: 'update' },
      { apiGroup: '', resource: 'secrets', verb: 'list' },
      { apiGroup: 'coordination.k8s.io', resource: 'leases', verb: 'get' },
      { apiGroup: 'coordination.k8s.io', resource: 'leases', verb: 'update' },
    ]);
  });

  it('does not count a subresource call as use of the resource, nor the reverse', () => {
    const usage = rbacUsage(readAudit(fixture, { username: user }), [
      { apiGroups: ['gatehouse.dev'], resources: ['apiproxies'], verbs: ['patch'] },
      { apiGroups: ['gatehouse.dev'], resources: ['apiproxies/status'], verbs: ['list'] },
    ]);
    expect(usage.unusedGrants).toHaveLength(2);
  });

  it('matches wildcards', () => {
    const usage = rbacUsage(readAudit(fixture, { username: user }), [
      { apiGroups: ['*'], resources: ['*'], verbs: ['watch'] },
      { apiGroups: ['gatehouse.dev'], resources: ['*/status'], verbs: ['*'] },
      { apiGroups: ['apps'], resources: ['*'], verbs: ['*'] },
    ]);
    expect(usage.unusedGrants).toEqual([{ apiGroup: 'apps', resource: '*', verb: '*' }]);
  });
});

describe('openWatches', () => {
  it('counts the watches whose completion is not in the log yet', () => {
    expect(openWatches(fixture, { username: user })).toBe(0);
    // The same log cut before the watch's ResponseComplete: the watch is open.
    const lines = readFileSync(fixture, 'utf8').split('\n');
    const complete = lines.findIndex((l) => l.includes('"verb":"watch"') && l.includes('"stage":"ResponseComplete"'));
    const dir = mkdtempSync(join(tmpdir(), 'gatehouse-audit-'));
    try {
      const cut = join(dir, 'audit.jsonl');
      writeFileSync(cut, lines.slice(0, complete).join('\n'));
      expect(openWatches(cut, { username: user })).toBe(1);
      expect(openWatches(cut, { username: 'admin' })).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
