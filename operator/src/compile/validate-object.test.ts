import { describe, expect, it } from 'vitest';
import { validateObject } from './validate-object.ts';

const obj = (kind: string, spec: unknown, name = 'x') => ({
  apiVersion: 'gatehouse.dev/v1alpha1',
  kind,
  metadata: { name, namespace: 'shop' },
  spec,
});
const fields = (object: unknown) => validateObject(object).errors.map((d) => `${d.field}: ${d.message}`);

describe('validateObject', () => {
  it('refuses a condition that does not parse, naming the field', () => {
    const errors = fields(
      obj('ApiProxy', {
        basePath: '/orders',
        target: { url: 'http://orders.shop.svc' },
        flows: { conditionalFlows: [{ name: 'f', condition: 'request.verb = ', request: [] }] },
      }),
    );
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^spec\.flows\.conditionalFlows\[0\]\.condition: condition does not parse/);
  });

  it('accepts a proxy whose steps name ApiPolicies not applied yet, and a link-local target (DataPlanes decide)', () => {
    expect(
      fields(
        obj('ApiProxy', {
          basePath: '/orders',
          target: { url: 'http://169.254.169.254' },
          flows: { preFlow: { request: [{ policy: 'not-yet', condition: 'request.verb = "GET"' }] } },
        }),
      ),
    ).toEqual([]);
  });

  it('refuses a regex that does not compile and a config the type does not take', () => {
    const regex = fields(
      obj('ApiPolicy', {
        type: 'RegularExpressionProtection',
        regularExpressionProtection: { uriPath: ['(unclosed'] },
      }),
    );
    expect(regex.length).toBeGreaterThan(0);
    expect(regex[0]).toMatch(/^spec\.regularExpressionProtection\./);
    const shape = fields(obj('ApiPolicy', { type: 'SpikeArrest', spikeArrest: { rate: 'thirty per minute' } }));
    expect(shape.length).toBeGreaterThan(0);
    expect(shape[0]).toMatch(/^spec\.spikeArrest\.rate/);
    const unsupported = fields(
      obj('ApiPolicy', { type: 'GenerateSAMLAssertion', generateSAMLAssertion: { source: 'x' } }),
    );
    expect(unsupported.join('\n')).toMatch(/^spec\.type: /m);
  });

  it('accepts a policy whose secretRef names a Secret not applied yet; warns about an inline credential', () => {
    const result = validateObject(
      obj('ApiPolicy', {
        type: 'BasicAuthentication',
        basicAuthentication: {
          operation: 'Encode',
          user: { secretRef: { name: 'later', key: 'user' } },
          password: { secretRef: { name: 'later', key: 'password' } },
          assignTo: 'request.header.authorization',
        },
      }),
    );
    expect(result.errors.map((d) => d.message)).toEqual([]);
  });

  it('never throws on garbage', () => {
    for (const input of [
      null,
      42,
      'x',
      [],
      {},
      { apiVersion: 'gatehouse.dev/v1alpha1', kind: 'ApiProxy' },
      { apiVersion: 'gatehouse.dev/v1alpha1', kind: 'ApiProxy', metadata: { name: 'a' }, spec: 'nope' },
      { apiVersion: 'gatehouse.dev/v1alpha1', kind: 'Nope', metadata: { name: 'a' }, spec: {} },
      obj('ApiPolicy', { type: 'Quota', quota: null }),
      obj('DataPlane', { listeners: [{ name: 'h', port: 'x' }] }),
    ])
      expect(() => validateObject(input)).not.toThrow();
    expect(fields(obj('DataPlane', { redis: { url: 'redis://:pw@redis:6379' } }))[0]).toMatch(/^spec\.redis\.url/);
  });
});
