// The names of api/names.ts, each made by one side and read back by the other (the compiler and the
// certificate controller, the renderer and the xDS server, the issuer and the identity check).
import { describe, expect, it } from 'vitest';
import {
  componentIdentity,
  nodeCluster,
  parseComponentIdentity,
  parseNodeCluster,
  sdsCertificateName,
  listenerTlsSecretName,
  nodeReportName,
} from './api/names.ts';
import { compile } from './compile/compile.ts';

describe('listener certificate names', () => {
  it('the compiler serves over SDS the Secret the certificate controller issues for a listener with issue: true', () => {
    const { snapshot, errors } = compile(
      [
        {
          object: {
            apiVersion: 'gatehouse.dev/v1alpha1',
            kind: 'DataPlane',
            metadata: { name: 'edge', namespace: 'gw' },
            spec: { listeners: [{ name: 'public', port: 8443, protocol: 'HTTPS', tls: { issue: true } }] },
          },
        },
      ],
      { credentialHashKey: 'k' },
    );
    expect(errors).toEqual([]);
    const secret = listenerTlsSecretName('edge', 'public');
    expect(snapshot.secretRefs).toContainEqual({
      name: sdsCertificateName(`gw/${secret}`),
      namespace: 'gw',
      secret,
      holds: 'certificate',
    });
    expect(JSON.stringify(snapshot.envoy.listeners)).toContain(`"${sdsCertificateName(`gw/${secret}`)}"`);
  });
});

describe('names made on one side, read on the other', () => {
  it('node.cluster of a data-plane pod parses back to its DataPlane and component', () => {
    expect(parseNodeCluster(nodeCluster('gw', 'edge', 'envoy'))).toEqual({
      namespace: 'gw',
      dataPlane: 'edge',
      component: 'envoy',
    });
    expect(parseNodeCluster('gw/edge/router')).toBeUndefined();
    expect(parseNodeCluster('gw/edge')).toBeUndefined();
  });

  it('a component identity parses back to the node.cluster it must match', () => {
    const ref = parseComponentIdentity(componentIdentity('gw', 'edge', 'extproc'));
    expect(ref).toEqual({ namespace: 'gw', dataPlane: 'edge', component: 'extproc' });
    expect(nodeCluster(ref!.namespace, ref!.dataPlane, ref!.component)).toBe('gw/edge/extproc');
    expect(parseComponentIdentity('spiffe://elsewhere/ns/gw/dataplane/edge/envoy')).toBeUndefined();
  });

  it('a node report name is a valid ConfigMap name for any pod name', () => {
    for (const identity of ['gatehouse-operator-7d9f-abcde', 'Host_Name.local', 'x'.repeat(300)]) {
      const name = nodeReportName(identity);
      expect(name.length).toBeLessThanOrEqual(253);
      expect(name).toMatch(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/);
    }
  });
});
