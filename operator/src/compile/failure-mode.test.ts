import { describe, expect, it } from 'vitest';
import { parseManifests } from '../source/folder.ts';
import { compile } from './compile.ts';

const manifests = (failureMode: string, policyType: string) => `
apiVersion: gatehouse.dev/v1alpha1
kind: DataPlane
metadata: {name: edge, namespace: gatehouse-system}
spec: {failureMode: ${failureMode}, listeners: [{name: http, port: 8080, allowedRoutes: {namespaces: {from: All}}}]}
---
apiVersion: gatehouse.dev/v1alpha1
kind: ApiProxy
metadata: {name: orders, namespace: shop}
spec:
  basePath: /orders
  target: {url: "http://127.0.0.1:9090"}
  flows: {preFlow: {request: [{policy: guard}]}}
---
apiVersion: gatehouse.dev/v1alpha1
kind: ApiPolicy
metadata: {name: guard, namespace: shop}
spec:
  type: ${policyType}
  ${policyType === 'JSONThreatProtection' ? 'jsonThreatProtection: {containerDepth: 10}' : 'raiseFault: {statusCode: 418}'}
`;

function warnings(failureMode: string, policyType: string) {
  const { objects } = parseManifests(manifests(failureMode, policyType), 'input.yaml');
  return compile(objects, { credentialHashKey: 'k' }).warnings.filter((w) => w.code === 'GH_WARN_FAILOPEN_SECURITY');
}

describe('failureMode FailOpen', () => {
  it('warns on the DataPlane field, naming the proxies whose security steps it bypasses', () => {
    expect(warnings('FailOpen', 'JSONThreatProtection')).toEqual([
      expect.objectContaining({
        severity: 'warning',
        kind: 'DataPlane',
        namespace: 'gatehouse-system',
        name: 'edge',
        field: 'spec.failureMode',
        message: expect.stringContaining('skipping the security steps of shop/orders') as unknown,
      }),
    ]);
  });

  it('says nothing for FailClosed, or when no proxy has a security step', () => {
    expect(warnings('FailClosed', 'JSONThreatProtection')).toEqual([]);
    expect(warnings('FailOpen', 'RaiseFault')).toEqual([]);
  });
});
