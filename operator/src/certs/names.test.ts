import { describe, expect, it } from 'vitest';
import { compile } from '../compile/compile.ts';
import { listenerTlsSecretName } from './names.ts';

describe('listener certificate names', () => {
  it('the compiler serves over SDS the Secret this package issues for a listener with issue: true', () => {
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
    expect(JSON.stringify(snapshot.envoy.listeners)).toContain(`"tls:gw/${listenerTlsSecretName('edge', 'public')}"`);
  });
});
