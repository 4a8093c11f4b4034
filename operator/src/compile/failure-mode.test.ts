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

describe('ExternalCallout timeoutMs against the DataPlane messageTimeout', () => {
  const callout = (timeoutMs: number, messageTimeout?: string) => `
apiVersion: gatehouse.dev/v1alpha1
kind: DataPlane
metadata: {name: edge, namespace: gatehouse-system}
spec: {${messageTimeout ? `messageTimeout: ${messageTimeout}, ` : ''}listeners: [{name: http, port: 8080, allowedRoutes: {namespaces: {from: All}}}]}
---
apiVersion: gatehouse.dev/v1alpha1
kind: ApiProxy
metadata: {name: orders, namespace: shop}
spec:
  basePath: /orders
  target: {url: "http://127.0.0.1:9090"}
  flows: {preFlow: {request: [{policy: enrich}]}}
---
apiVersion: gatehouse.dev/v1alpha1
kind: ApiPolicy
metadata: {name: enrich, namespace: shop}
spec:
  type: ExternalCallout
  externalCallout: {timeoutMs: ${timeoutMs}, grpcConnection: {server: "enrich.shop.svc:50051"}}
`;
  const timeoutWarnings = (yaml: string) => {
    const { objects } = parseManifests(yaml, 'input.yaml');
    return compile(objects, { credentialHashKey: 'k' }).warnings.filter((w) => w.code === 'GH_WARN_CALLOUT_TIMEOUT');
  };

  it("warns on the policy's timeoutMs when it does not fit in the default 200 ms", () => {
    expect(timeoutWarnings(callout(5000))).toEqual([
      expect.objectContaining({
        kind: 'ApiPolicy',
        namespace: 'shop',
        name: 'enrich',
        field: 'spec.externalCallout.timeoutMs',
        message: expect.stringContaining('DataPlane gatehouse-system/edge gives extproc 200 ms') as unknown,
      }),
    ]);
  });

  it('says nothing when it fits', () => {
    expect(timeoutWarnings(callout(150))).toEqual([]);
    expect(timeoutWarnings(callout(5000, '10s'))).toEqual([]);
  });
});
