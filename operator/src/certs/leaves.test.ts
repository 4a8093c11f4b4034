import { describe, expect, it } from 'vitest';
import { envoyLeaf, extprocLeaf, hostNames, listenerLeaf, maxListenerSans, parseSanList, xdsLeaf } from './leaves.ts';
import { componentIdentity, listenerTlsSecretName, parseComponentIdentity } from '../api/names.ts';

describe('leaf specs', () => {
  it('names the component Secrets the pods mount and gives each its identity and usages', () => {
    expect(envoyLeaf('prod', 'eu')).toEqual({
      namespace: 'prod',
      secretName: 'eu-envoy-tls',
      role: 'envoy',
      commonName: 'eu-envoy.prod.svc',
      dns: ['eu-envoy.prod.svc'],
      ips: [],
      uris: ['spiffe://gatehouse/ns/prod/dataplane/eu/envoy'],
      usages: ['clientAuth'],
    });
    const extproc = extprocLeaf('prod', 'eu');
    expect(extproc.secretName).toBe('eu-extproc-tls');
    expect(extproc.dns).toEqual([
      'eu-extproc.prod.svc',
      '*.eu-extproc.prod.svc',
      'eu-extproc.prod.svc.cluster.local',
      '*.eu-extproc.prod.svc.cluster.local',
      'eu-extproc.prod',
      'eu-extproc',
    ]);
    expect(extproc.usages).toEqual(['serverAuth', 'clientAuth']);
    expect(xdsLeaf('gatehouse-system', 'gatehouse-xds', { dns: ['xds.example.com'], ips: ['10.0.0.1'] })).toMatchObject(
      {
        secretName: 'gatehouse-xds-tls',
        usages: ['serverAuth', 'clientAuth'],
        ips: ['10.0.0.1'],
        dns: [
          'gatehouse-xds.gatehouse-system.svc',
          'gatehouse-xds.gatehouse-system.svc.cluster.local',
          'gatehouse-xds.gatehouse-system',
          'gatehouse-xds',
          'xds.example.com',
        ],
      },
    );
  });

  it('gives listener certificates the Service names, then sorted hosts and addresses, bounded', () => {
    const leaf = listenerLeaf('prod', 'eu', 'envoy', {
      dns: ['b.example.com', 'A.example.com.', 'b.example.com', 'not a name'],
      ips: ['2001:DB8::1', '203.0.113.9', 'x'],
    });
    // "-listener-" keeps a listener called envoy apart from the component Secret eu-envoy-tls.
    expect(leaf.secretName).toBe(listenerTlsSecretName('eu', 'envoy'));
    expect(leaf.secretName).toBe('eu-listener-envoy-tls');
    expect(leaf.dns).toEqual([
      'eu-envoy.prod.svc',
      'eu-envoy.prod.svc.cluster.local',
      'a.example.com',
      'b.example.com',
    ]);
    expect(leaf.ips).toEqual(['2001:db8::1', '203.0.113.9']);
    const many = listenerLeaf('prod', 'eu', 'https', {
      dns: Array.from({ length: 200 }, (_, i) => `h${i}.example.com`),
      ips: ['10.0.0.1'],
    });
    expect(many.dns.length + many.ips.length).toBe(maxListenerSans);
  });

  it('reads ApiProxy hosts (ports off, the catch-all dropped) and the certificate-sans annotation', () => {
    expect(hostNames(['api.example.com:8443', '*', '*.example.com'])).toEqual(['api.example.com', '*.example.com']);
    expect(parseSanList(' a.example.com, 10.1.2.3  ::1,bad_name ')).toEqual({
      dns: ['a.example.com'],
      ips: ['10.1.2.3', '::1'],
      rejected: ['bad_name'],
    });
    expect(parseSanList(undefined)).toEqual({ dns: [], ips: [], rejected: [] });
  });

  it('maps a client identity back to its xDS node.cluster', () => {
    expect(parseComponentIdentity(componentIdentity('prod', 'eu', 'extproc'))).toEqual({
      namespace: 'prod',
      dataPlane: 'eu',
      component: 'extproc',
    });
    expect(parseComponentIdentity('spiffe://other/ns/prod/dataplane/eu/envoy')).toBeUndefined();
    expect(parseComponentIdentity('spiffe://gatehouse/ns/prod/dataplane/eu/redis')).toBeUndefined();
  });
});
