// The compiler's twin of the apiserver's validation: schema errors and every CEL rule's predicate.
import { describe, expect, it } from 'vitest';
import { kindsByName } from './kinds.ts';
import { validateSpec } from './validate.ts';

const check = (kind: string, spec: unknown) => validateSpec(kindsByName.get(kind)!, spec).errors;
const proxy = (target: object, extra: object = {}) => ({ basePath: '/x', target, ...extra });

describe('validateSpec', () => {
  it('fills schema defaults into a copy of an ApiPolicy (its config goes into the snapshot), never into the input', () => {
    const input = { type: 'AccessControl', accessControl: { rules: [] } };
    const { errors, spec } = validateSpec(kindsByName.get('ApiPolicy')!, input);
    expect(errors).toEqual([]);
    expect(spec).toEqual({
      type: 'AccessControl',
      enabled: true,
      continueOnError: false,
      accessControl: { rules: [], noRuleMatchAction: 'Allow', validateBasedOn: 'ClientIP' },
    });
    expect(input).toEqual({ type: 'AccessControl', accessControl: { rules: [] } });
  });

  it('reads other kinds as written (the compiler applies their defaults where it uses them)', () => {
    const input = { basePath: '/x', target: { url: 'http://a' } };
    expect(validateSpec(kindsByName.get('ApiProxy')!, input)).toEqual({ errors: [], spec: input });
    expect(input).toEqual({ basePath: '/x', target: { url: 'http://a' } });
  });

  it.each([
    [
      'ApiProxy',
      proxy({ url: 'http://a', service: { name: 's', port: 1 } }),
      'spec.target',
      'set exactly one of url, service or targets',
    ],
    ['ApiProxy', proxy({}), 'spec.target', 'set exactly one of url, service or targets'],
    [
      'ApiProxy',
      proxy({ url: 'http://a', loadBalancer: { algorithm: 'Random' } }),
      'spec.target.loadBalancer',
      'loadBalancer needs targets',
    ],
    [
      'ApiProxy',
      proxy({ targets: [{ url: 'http://a' }, { service: { name: 's', port: 1 } }] }),
      'spec.target.targets',
      'targets must be all URLs or all services',
    ],
    [
      'ApiProxy',
      proxy({ targets: [{ url: 'http://a' }, { url: 'https://b' }] }),
      'spec.target.targets',
      'target URLs must all use the same scheme',
    ],
    [
      'ApiProxy',
      proxy({ targets: [{ url: 'http://a', service: { name: 's', port: 1 } }] }),
      'spec.target.targets[0]',
      'set exactly one of url or service',
    ],
    ['ApiProxy', proxy({ url: 'http://a', tls: { sni: 'a' } }), 'spec.target.tls', 'tls needs https:// target URLs'],
    [
      'ApiProxy',
      proxy({ url: 'https://a', tls: { minVersion: 'TLSv1.3', maxVersion: 'TLSv1.2' } }),
      'spec.target.tls.minVersion',
      'minVersion must not be greater than maxVersion',
    ],
    ['ApiPolicy', { type: 'RaiseFault' }, 'spec', 'type RaiseFault needs its configuration member raiseFault'],
    [
      'ApiPolicy',
      { type: 'RaiseFault', raiseFault: { statusCode: 400 }, quota: {} },
      'spec',
      'only the configuration member named after type may be set',
    ],
    [
      'DataPlane',
      { listeners: [{ name: 'a', port: 443, protocol: 'HTTPS' }] },
      'spec.listeners[0].tls',
      'HTTPS listeners need tls, HTTP listeners must not have it',
    ],
    [
      'DataPlane',
      { listeners: [{ name: 'a', port: 443, protocol: 'HTTPS', tls: {} }] },
      'spec.listeners[0].tls',
      'set exactly one of secretRef or issue: true',
    ],
    [
      'DataPlane',
      {
        listeners: [
          { name: 'a', port: 1 },
          { name: 'b', port: 1 },
        ],
      },
      'spec.listeners',
      'listener ports must be unique',
    ],
    [
      'DataPlane',
      {
        listeners: [
          { name: 'a', port: 1 },
          { name: 'a', port: 2 },
        ],
      },
      'spec.listeners[1]',
      'duplicate entry ["a"]',
    ],
    ['DataPlane', { redis: { mode: 'Cluster' } }, 'spec.redis', 'set exactly one of url or secretRef'],
    [
      'DataPlane',
      { autoscaling: { minReplicas: 5, maxReplicas: 2 } },
      'spec.autoscaling.minReplicas',
      'minReplicas must not be greater than maxReplicas',
    ],
  ])('%s rule: %s', (kind, spec, field, message) => {
    expect(check(kind, spec)).toEqual([{ field, message }]);
  });

  it.each([
    ['ApiProxy', { basePath: 'x', target: { url: 'http://a' } }, 'spec.basePath', /must match pattern/],
    // A region is part of the gh:<region>: Redis prefix and the environment.name header value.
    ['DataPlane', { region: 'eu:west' }, 'spec.region', /must match pattern/],
    ['DataPlane', { region: 'eu\r\nx-injected: 1' }, 'spec.region', /must match pattern/],
    [
      'DataPlane',
      { listeners: [{ name: 'a', port: 1, hostnames: ['a.example:8080'] }] },
      'spec.listeners[0].hostnames[0]',
      /must match pattern/,
    ],
    ['ApiProxy', { basePath: '/x/', target: { url: 'http://a' } }, 'spec.basePath', /must match pattern/],
    ['ApiProxy', { target: { url: 'http://a' } }, 'spec.basePath', /required field is missing/],
    ['ApiProxy', proxy({ url: 'ftp://a' }), 'spec.target.url', /must match pattern/],
    ['ApiProxy', proxy({ url: 'http://a', timeout: 'soon' }), 'spec.target.timeout', /must match pattern/],
    ['ApiProxy', proxy({ url: 'http://a' }, { hosts: ['Bad Host'] }), 'spec.hosts[0]', /must match pattern/],
    [
      'ApiProduct',
      { proxies: ['a'], quota: { limit: 1, timeUnit: 'fortnight' } },
      'spec.quota.timeUnit',
      /must be one of second, minute, hour, day, week, month/,
    ],
    ['ApiProduct', { proxies: [] }, 'spec.proxies', /must NOT have fewer than 1 items/],
    [
      'DeveloperApp',
      { developer: { email: 'not-an-email' }, products: [] },
      'spec.developer.email',
      /must match format "email"/,
    ],
    [
      'DeveloperApp',
      {
        developer: { email: 'a@b.c' },
        products: [],
        credentials: [{ secretRef: { name: 'k' }, expiresAt: 'tomorrow' }],
      },
      'spec.credentials[0].expiresAt',
      /format "date-time"/,
    ],
    ['ApiPolicy', { type: 'Nope' }, 'spec.type', /must be one of Quota, SpikeArrest/],
    [
      'ApiPolicy',
      { type: 'VerifyAPIKey', verifyAPIKey: { apiKey: 42 } },
      'spec.verifyAPIKey.apiKey',
      /must be a literal value or \{ref: VARIABLE\}/,
    ],
    ['DataPlane', { messageTimeout: 200 }, 'spec.messageTimeout', /must be string/],
    // Envoy makes an immediate response below 200 a 200 (Filter::sendImmediateResponse) and refuses a
    // :status below 200 (Checker::isValidValue): docs/architecture-devproxy.md.
    [
      'ApiPolicy',
      { type: 'RaiseFault', raiseFault: { statusCode: 199 } },
      'spec.raiseFault.statusCode',
      /must be >= 200/,
    ],
    [
      'ApiPolicy',
      { type: 'AssignMessage', assignMessage: { assignTo: 'response', set: { statusCode: 101 } } },
      'spec.assignMessage.set.statusCode',
      /must be >= 200/,
    ],
  ])('%s schema: %j -> %s', (kind, spec, field, message) => {
    const errors = check(kind, spec);
    expect(errors.map((e) => e.field)).toContain(field);
    expect(errors.find((e) => e.field === field)!.message).toMatch(message);
  });

  it('refuses a planned policy type as the apiserver does (not in the enum; its member is unknown)', () => {
    expect(check('ApiPolicy', { type: 'GenerateSAMLAssertion', generateSAMLAssertion: { source: 'x' } })).toEqual([
      { field: 'spec.generateSAMLAssertion', message: 'unknown field' },
      {
        field: 'spec.type',
        message: expect.stringMatching(/^must be one of Quota, SpikeArrest, .*, CORS\b/) as string,
      },
    ]);
    expect(
      check('ApiPolicy', { type: 'VerifyAPIKey', verifyAPIKey: { apiKey: { ref: 'request.header.x-api-key' } } }),
    ).toEqual([]);
  });

  // The ref-or nodes: the CRD checks them with typeless value validations, the compiler with
  // anyOf [literal, {ref}]; protos/policies/schema.test.ts holds the two forms equal.
  it.each([
    ['SpikeArrest', { rate: '30pm' }, true],
    ['SpikeArrest', { rate: '5ps' }, true],
    ['SpikeArrest', { rate: { ref: 'ratelimit.rate' } }, true],
    ['SpikeArrest', { rate: 'thirty per minute' }, false],
    ['SpikeArrest', { rate: '30ph' }, false],
    ['SpikeArrest', { rate: '0pm' }, false],
    ['SpikeArrest', { rate: 30 }, false],
    ['SpikeArrest', { rate: { ref: '' } }, false],
    ['SpikeArrest', { rate: { ref: 'a', default: '1ps' } }, false],
    ['SpikeArrest', { rate: { variable: 'a' } }, false],
    ['Quota', { allow: 100, interval: 1, timeUnit: 'hour' }, true],
    ['Quota', { allow: { ref: 'limit' }, interval: { ref: 'n' }, timeUnit: { ref: 'unit' } }, true],
    ['Quota', { allow: '100' }, false],
    ['Quota', { allow: 1.5 }, false],
    ['Quota', { allow: 100, interval: 0 }, false],
    ['Quota', { allow: 100, timeUnit: 'fortnight' }, false],
    ['Quota', { allow: { ref: 7 } }, false],
    ['ResponseCache', { cacheKey: {}, skipCacheLookup: true }, true],
    ['ResponseCache', { cacheKey: {}, skipCacheLookup: 'true' }, false],
  ])('%s %j is %s', (type, config, valid) => {
    const member = type[0]!.toLowerCase() + type.slice(1);
    const errors = check('ApiPolicy', { type, [member]: config });
    if (valid) expect(errors).toEqual([]);
    else {
      expect(errors).toHaveLength(1);
      expect(errors[0]!.field).toMatch(new RegExp(`^spec\\.${member}\\.`));
    }
  });
});
