// The DataPlane switches callouts obey (spec.upstream.allowLinkLocalTargets, calloutPrivateNetworks)
// reach the runtime snapshot's DataPlane; a CIDR that does not parse is refused on its field. A
// ServiceCallout's TLS material from Secrets goes to policySecrets, never into the config.
import { describe, expect, it } from 'vitest';
import { parseManifests } from '../source/folder.ts';
import { compile } from './compile.ts';

const dataPlane = (upstream: string) => `
apiVersion: gatehouse.dev/v1alpha1
kind: DataPlane
metadata: {name: edge, namespace: gatehouse-system}
spec: {listeners: [{name: http, port: 8080, allowedRoutes: {namespaces: {from: All}}}], upstream: ${upstream}}
`;

const callout = `---
apiVersion: v1
kind: Secret
metadata: {name: client-tls, namespace: shop, labels: {gatehouse.dev/credential: "true"}}
stringData: {tls.crt: CERT-PEM, tls.key: KEY-PEM}
---
apiVersion: gatehouse.dev/v1alpha1
kind: ApiProxy
metadata: {name: orders, namespace: shop}
spec:
  basePath: /orders
  target: {url: "http://127.0.0.1:9090"}
  flows: {preFlow: {request: [{policy: lookup}]}}
---
apiVersion: gatehouse.dev/v1alpha1
kind: ApiPolicy
metadata: {name: lookup, namespace: shop}
spec:
  type: ServiceCallout
  serviceCallout:
    response: r
    httpTargetConnection:
      url: https://customers.internal/lookup
      sslInfo:
        clientAuthEnabled: true
        keyStore: {certificate: {secretRef: {name: client-tls, key: tls.crt}}, key: {secretRef: {name: client-tls, key: tls.key}}}
`;

function run(yaml: string) {
  const { objects } = parseManifests(yaml, 'input.yaml');
  return compile(objects, { credentialHashKey: 'k' });
}

describe('callout address rules in the snapshot', () => {
  it('carries the DataPlane switches to extproc', () => {
    const result = run(
      dataPlane('{allowLinkLocalTargets: true, calloutPrivateNetworks: [10.20.0.0/16, "fd00:1::/64"]}'),
    );
    expect(result.errors).toEqual([]);
    expect(result.snapshot.runtime.dataPlanes?.[0]).toMatchObject({
      allowLinkLocalTargets: true,
      calloutPrivateNetworks: ['10.20.0.0/16', 'fd00:1::/64'],
    });
  });

  it('refuses a CIDR that does not parse, on its field', () => {
    const result = run(dataPlane('{calloutPrivateNetworks: [10.20.0.0/16, 10.0.0.0/33, 999.1.1.1/8]}'));
    expect(result.errors.map((e) => [e.field, e.message])).toEqual([
      ['spec.upstream.calloutPrivateNetworks[1]', 'not a CIDR block: "10.0.0.0/33"'],
      ['spec.upstream.calloutPrivateNetworks[2]', 'not a CIDR block: "999.1.1.1/8"'],
    ]);
  });

  it("puts a ServiceCallout's certificate and key in policySecrets; the config keeps only the references", () => {
    const result = run(dataPlane('{}') + callout);
    expect(result.errors).toEqual([]);
    expect(result.snapshot.runtime.policySecrets).toEqual({
      'shop/client-tls/tls.crt': 'CERT-PEM',
      'shop/client-tls/tls.key': 'KEY-PEM',
    });
    const json = JSON.stringify(result.snapshot.runtime.proxies);
    expect(json).not.toContain('KEY-PEM');
    expect(json).toContain('ServiceCallout');
  });
});
