// The CRDs on a real kube-apiserver (crds/ is applied by the integration global setup): one good
// object of each kind is accepted, and bad ones are rejected with a message naming the field, by the
// schema or by a CEL rule, as `kubectl apply` would show it.
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubeRequest } from '../../../e2e/env/apply.ts';
import { eventually } from '../../../e2e/env/eventually.ts';
import { group, version } from './common.ts';
import { kinds, kindsByName } from './kinds.ts';
import type { OpenAPISchema } from './schema.ts';
import { validateSpec } from './validate.ts';

const namespace = 'gatehouse-crd-test';

function client(): k8s.CustomObjectsApi {
  const file = process.env.GATEHOUSE_TEST_KUBECONFIG;
  if (!file)
    throw new Error(
      'GATEHOUSE_TEST_KUBECONFIG is not set: run through the integration project (vitest --project integration)',
    );
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(file);
  return kc.makeApiClient(k8s.CustomObjectsApi);
}

function coreClient(): k8s.CoreV1Api {
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(process.env.GATEHOUSE_TEST_KUBECONFIG!);
  return kc.makeApiClient(k8s.CoreV1Api);
}

const objects = client();

function create(kind: string, name: string, spec: unknown): Promise<unknown> {
  return objects.createNamespacedCustomObject({
    group,
    version,
    namespace,
    plural: kindsByName.get(kind)!.plural,
    body: { apiVersion: `${group}/${version}`, kind, metadata: { name }, spec },
  });
}

/** The apiserver's message for a rejected create ("... is invalid: spec.target: Invalid value: ..."). */
async function rejection(kind: string, spec: unknown): Promise<string> {
  try {
    await create(kind, `bad-${Math.random().toString(36).slice(2, 8)}`, spec);
  } catch (err) {
    if (!(err instanceof k8s.ApiException)) throw err;
    expect(err.code).toBe(422);
    return (JSON.parse(err.body as string) as { message: string }).message;
  }
  throw new Error(`${kind} ${JSON.stringify(spec)} was accepted`);
}

const good: [kind: string, spec: unknown][] = [
  [
    'ApiProxy',
    {
      basePath: '/orders/v1',
      hosts: ['api.example.com'],
      target: {
        url: 'https://orders.internal',
        timeout: '10s',
        tls: { sni: 'orders.internal', minVersion: 'TLSv1.2', maxVersion: 'TLSv1.3' },
      },
      flows: {
        preFlow: { request: [{ policy: 'verify-key' }] },
        conditionalFlows: [{ name: 'create', condition: 'request.verb = "POST"', request: [{ policy: 'json-guard' }] }],
        postFlow: { response: [{ policy: 'add-headers' }] },
        postClientFlow: { response: [{ policy: 'log' }] },
      },
      faultRules: [{ name: 'bad-key', condition: 'fault.name = "InvalidApiKey"', steps: [{ policy: 'key-problem' }] }],
      defaultFaultRule: { steps: [{ policy: 'key-problem' }], alwaysEnforce: true },
    },
  ],
  ['ApiPolicy', { type: 'VerifyAPIKey', verifyAPIKey: { apiKey: { ref: 'request.header.x-api-key' } } }],
  [
    'ApiProduct',
    {
      proxies: ['orders'],
      resources: ['/**'],
      quota: { limit: 1000, interval: 1, timeUnit: 'hour' },
      approval: 'Auto',
    },
  ],
  [
    'DeveloperApp',
    {
      developer: { email: 'dev@example.com' },
      products: [{ name: 'orders-basic', status: 'Approved' }],
      credentials: [{ secretRef: { name: 'mobile-key' }, status: 'Approved' }],
    },
  ],
  [
    'DataPlane',
    {
      region: 'eu-west-1',
      failureMode: 'FailClosed',
      messageTimeout: '200ms',
      listeners: [
        { name: 'http', port: 8080 },
        { name: 'https', port: 8443, protocol: 'HTTPS', tls: { issue: true, minVersion: 'TLSv1.2' } },
      ],
      redis: { url: 'redis://redis:6379', mode: 'Standalone', onUnavailable: 'LocalFallback' },
    },
  ],
];

const bad: [title: string, kind: string, spec: unknown, field: string, message: RegExp][] = [
  [
    'basePath without a leading slash',
    'ApiProxy',
    { basePath: 'orders', target: { url: 'http://a' } },
    'spec.basePath',
    /should match|must start with/,
  ],
  [
    'url and service together',
    'ApiProxy',
    { basePath: '/o', target: { url: 'http://a', service: { name: 's', port: 80 } } },
    'spec.target',
    /set exactly one of url, service or targets/,
  ],
  [
    'no target at all',
    'ApiProxy',
    { basePath: '/o', target: {} },
    'spec.target',
    /set exactly one of url, service or targets/,
  ],
  [
    'mixed targets',
    'ApiProxy',
    { basePath: '/o', target: { targets: [{ url: 'http://a' }, { service: { name: 's', port: 80 } }] } },
    'spec.target.targets',
    /all URLs or all services/,
  ],
  [
    'tls on an http URL',
    'ApiProxy',
    { basePath: '/o', target: { url: 'http://a', tls: { sni: 'a' } } },
    'spec.target.tls',
    /tls needs https/,
  ],
  [
    'upstream min TLS above max',
    'ApiProxy',
    { basePath: '/o', target: { url: 'https://a', tls: { minVersion: 'TLSv1.3', maxVersion: 'TLSv1.2' } } },
    'spec.target.tls.minVersion',
    /minVersion must not be greater than maxVersion/,
  ],
  [
    'an unknown load-balancing algorithm',
    'ApiProxy',
    { basePath: '/o', target: { targets: [{ url: 'http://a' }], loadBalancer: { algorithm: 'Fastest' } } },
    'spec.target.loadBalancer.algorithm',
    /Unsupported value/,
  ],
  [
    'an ApiPolicy without its member',
    'ApiPolicy',
    { type: 'Quota' },
    'spec',
    /type Quota needs its configuration member quota/,
  ],
  [
    'an ApiPolicy with a second member',
    'ApiPolicy',
    { type: 'RaiseFault', raiseFault: { statusCode: 403 }, quota: {} },
    'spec',
    /only the configuration member named after type/,
  ],
  ['an unknown policy type', 'ApiPolicy', { type: 'Teleport' }, 'spec.type', /Unsupported value/],
  [
    'a planned policy type, with the supported ones listed',
    'ApiPolicy',
    { type: 'GenerateSAMLAssertion', generateSAMLAssertion: { source: 'print(1)' } },
    'spec.type',
    /Unsupported value: "GenerateSAMLAssertion": supported values: "Quota", "SpikeArrest",.*"CORS"/,
  ],
  [
    'a JavaScript timeLimit past the maximum',
    'ApiPolicy',
    { type: 'JavaScript', javaScript: { source: 'x()', timeLimit: 90000 } },
    'spec.javaScript.timeLimit',
    /should be less than or equal to 10000/,
  ],
  [
    'a JavaScript include that is not a jsc:// resource',
    'ApiPolicy',
    { type: 'JavaScript', javaScript: { source: 'x()', includes: [{ url: 'https://cdn.test/x.js', source: 'y()' }] } },
    'spec.javaScript.includes[0].url',
    /should match/,
  ],
  [
    'a spike arrest rate in words',
    'ApiPolicy',
    { type: 'SpikeArrest', spikeArrest: { rate: 'thirty per minute' } },
    'spec.spikeArrest.rate',
    /should match '\^\[1-9\]\[0-9\]\{0,8\}\(ps\|pm\)\$'/,
  ],
  [
    'a spike arrest rate per hour',
    'ApiPolicy',
    { type: 'SpikeArrest', spikeArrest: { rate: '30ph' } },
    'spec.spikeArrest.rate',
    /should match/,
  ],
  [
    'a ref with a second member',
    'ApiPolicy',
    { type: 'SpikeArrest', spikeArrest: { rate: { ref: 'limits.rate', fallback: '10ps' } } },
    'spec.spikeArrest.rate',
    /must validate at least one schema \(anyOf\)/,
  ],
  [
    'a ref that is not a string',
    'ApiPolicy',
    { type: 'Quota', quota: { allow: { ref: 7 } } },
    'spec.quota.allow.ref',
    /must be of type string/,
  ],
  [
    'a quota allow in words',
    'ApiPolicy',
    { type: 'Quota', quota: { allow: 'a hundred' } },
    'spec.quota.allow',
    /must validate at least one schema \(anyOf\)/,
  ],
  [
    'a fractional quota allow',
    'ApiPolicy',
    { type: 'Quota', quota: { allow: 1.5 } },
    'spec.quota.allow',
    /should be a multiple of 1/,
  ],
  [
    'a quota interval of 0',
    'ApiPolicy',
    { type: 'Quota', quota: { allow: 1, interval: 0 } },
    'spec.quota.interval',
    /should be greater than or equal to 1/,
  ],
  [
    'an unknown quota time unit',
    'ApiPolicy',
    { type: 'Quota', quota: { allow: 1, timeUnit: 'fortnight' } },
    'spec.quota.timeUnit',
    /Unsupported value: "fortnight"/,
  ],
  [
    'a startTime on a rolling window (CEL)',
    'ApiPolicy',
    { type: 'Quota', quota: { type: 'rollingwindow', allow: 1, startTime: '2026-01-01T00:00:00Z' } },
    'spec.quota.startTime',
    /startTime applies to calendar quotas only/,
  ],
  [
    'a ServiceCallout with both a url and a service (CEL)',
    'ApiPolicy',
    {
      type: 'ServiceCallout',
      serviceCallout: { httpTargetConnection: { url: 'http://a.test', service: { name: 'a', port: 80 } } },
    },
    'spec.serviceCallout.httpTargetConnection',
    /exactly one of url and service/,
  ],
  [
    'a bad quota unit',
    'ApiProduct',
    { proxies: ['a'], quota: { limit: 1, timeUnit: 'fortnight' } },
    'spec.quota.timeUnit',
    /Unsupported value/,
  ],
  [
    'an HTTPS listener without tls',
    'DataPlane',
    { listeners: [{ name: 'https', port: 8443, protocol: 'HTTPS' }] },
    'spec.listeners[0].tls',
    /HTTPS listeners need tls/,
  ],
  [
    'listener tls with both secretRef and issue',
    'DataPlane',
    { listeners: [{ name: 'https', port: 8443, protocol: 'HTTPS', tls: { issue: true, secretRef: { name: 'c' } } }] },
    'spec.listeners[0].tls',
    /exactly one of secretRef or issue/,
  ],
  [
    'listener min TLS above max',
    'DataPlane',
    {
      listeners: [
        {
          name: 'https',
          port: 8443,
          protocol: 'HTTPS',
          tls: { issue: true, minVersion: 'TLSv1.3', maxVersion: 'TLSv1.2' },
        },
      ],
    },
    'spec.listeners[0].tls.minVersion',
    /minVersion must not be greater than maxVersion/,
  ],
  [
    'two listeners on one port',
    'DataPlane',
    {
      listeners: [
        { name: 'a', port: 8080 },
        { name: 'b', port: 8080 },
      ],
    },
    'spec.listeners',
    /listener ports must be unique/,
  ],
  ['a bad failure mode', 'DataPlane', { failureMode: 'Sometimes' }, 'spec.failureMode', /Unsupported value/],
];

describe('CRDs on a real kube-apiserver', () => {
  beforeAll(async () => {
    await coreClient().createNamespace({ body: { metadata: { name: namespace } } });
  });

  afterAll(async () => {
    await coreClient().deleteNamespace({ name: namespace });
  });

  it.each(good)('accepts a good %s', async (kind, spec) => {
    await create(kind, `good-${kind.toLowerCase()}`, spec);
    const stored = (await objects.getNamespacedCustomObject({
      group,
      version,
      namespace,
      plural: kindsByName.get(kind)!.plural,
      name: `good-${kind.toLowerCase()}`,
    })) as { spec: Record<string, unknown> };
    expect(stored.spec).toMatchObject(spec as Record<string, unknown>);
  });

  it('applies schema defaults', async () => {
    const stored = (await objects.getNamespacedCustomObject({
      group,
      version,
      namespace,
      plural: 'dataplanes',
      name: 'good-dataplane',
    })) as { spec: { listeners: { protocol: string }[]; remediation?: unknown } };
    expect(stored.spec.listeners[0]?.protocol).toBe('HTTP');
  });

  it.each(bad)('rejects %s, naming the field', async (_title, kind, spec, field, message) => {
    const text = await rejection(kind, spec);
    expect(text).toContain(field);
    expect(text).toMatch(message);
  });

  it.each([
    ['a rate literal', { type: 'SpikeArrest', spikeArrest: { rate: '30pm' } }],
    [
      'a rate ref',
      { type: 'SpikeArrest', spikeArrest: { rate: { ref: 'limits.rate' }, identifier: { ref: 'client.ip' } } },
    ],
    [
      'quota refs',
      {
        type: 'Quota',
        quota: { allow: { ref: 'a' }, interval: { ref: 'b' }, timeUnit: { ref: 'c' }, messageWeight: 2 },
      },
    ],
    ['a boolean ref', { type: 'ResponseCache', responseCache: { cacheKey: {}, skipCacheLookup: { ref: 'bypass' } } }],
  ])('accepts %s and stores it as written', async (_title, spec) => {
    const name = `ok-${Math.random().toString(36).slice(2, 8)}`;
    const created = (await create('ApiPolicy', name, spec)) as { spec: Record<string, unknown> };
    expect(created.spec).toMatchObject(spec);
  });

  // The CRD and the compiler judge every ref-or value alike (protos/policies/schema.test.ts compares
  // the two schemas; this holds the apiserver itself to the compiler's verdicts).
  const refOrCases: [string, Record<string, unknown>][] = [
    ['SpikeArrest', { rate: '1ps' }],
    ['SpikeArrest', { rate: '999999999pm' }],
    ['SpikeArrest', { rate: '1000000000pm' }],
    ['SpikeArrest', { rate: '0ps' }],
    ['SpikeArrest', { rate: 10 }],
    ['SpikeArrest', { rate: true }],
    ['SpikeArrest', { rate: ['1ps'] }],
    ['SpikeArrest', { rate: {} }],
    ['SpikeArrest', { rate: { ref: '' } }],
    ['SpikeArrest', { rate: { variable: 'x' } }],
    ['Quota', { allow: 0 }],
    ['Quota', { allow: 1_000_000_001 }],
    ['Quota', { allow: '5' }],
    ['Quota', { allow: 5, interval: 1_000_000 }],
    ['Quota', { allow: 5, timeUnit: 'week' }],
    ['Quota', { allow: 5, timeUnit: 7 }],
    ['Quota', { allow: 5, messageWeight: 0 }],
    ['Quota', { allow: 5, identifier: 'x'.repeat(1025) }],
    ['ResponseCache', { cacheKey: {}, skipCacheLookup: 'true' }],
    ['ResponseCache', { cacheKey: { keyFragments: ['a', { ref: 'b' }, 3] } }],
    ['ResponseCache', { cacheKey: {}, expiry: { timeoutSeconds: 31_536_001 } }],
  ];

  it.each(refOrCases.map(([type, config]) => [type, JSON.stringify(config).slice(0, 80), config] as const))(
    'judges %s %s as the compiler does',
    async (type, _shown, config) => {
      const spec = { type, [type[0]!.toLowerCase() + type.slice(1)]: config };
      const compiler = validateSpec(kindsByName.get('ApiPolicy')!, spec).errors;
      let apiserver: string | undefined;
      try {
        await create('ApiPolicy', `judge-${Math.random().toString(36).slice(2, 8)}`, spec);
      } catch (err) {
        if (!(err instanceof k8s.ApiException)) throw err;
        apiserver = (JSON.parse(err.body as string) as { message: string }).message;
      }
      expect(apiserver !== undefined).toBe(compiler.length > 0);
      if (apiserver !== undefined) expect(apiserver).toContain(compiler[0]!.field);
    },
  );

  // kubectl explain reads the apiserver's published OpenAPI v3: every kind and every field there has a
  // description (metadata is ObjectMeta's, described by Kubernetes).
  it('publishes a description for every kind and every field (kubectl explain)', async () => {
    const kc = new k8s.KubeConfig();
    kc.loadFromFile(process.env.GATEHOUSE_TEST_KUBECONFIG!);
    const schemas = await eventually('the OpenAPI v3 of gatehouse.dev/v1alpha1 with every kind', async () => {
      const { status, body } = await kubeRequest(kc, 'GET', `/openapi/v3/apis/${group}/${version}`);
      if (status !== 200) return false;
      const all = (JSON.parse(body) as { components: { schemas: Record<string, OpenAPISchema> } }).components.schemas;
      const found = kinds.map((k) => all[`dev.gatehouse.${version}.${k.kind}`]);
      return found.every((s) => s?.properties?.spec?.description) ? found : false;
    });
    const undescribed: string[] = [];
    let visited = 0;
    const visit = (node: OpenAPISchema, path: string): void => {
      visited += 1;
      if (!/\S/.test(node.description ?? '')) undescribed.push(path);
      if (node.type === undefined && node['x-kubernetes-preserve-unknown-fields'] === true) return;
      for (const [k, v] of Object.entries(node.properties ?? {})) visit(v, `${path}.${k}`);
      if (node.items) visit(node.items, `${path}[]`);
      if (typeof node.additionalProperties === 'object') visit(node.additionalProperties, `${path}{}`);
    };
    kinds.forEach((k, i) => {
      const { metadata: _metadata, ...properties } = schemas[i]!.properties!;
      visit({ ...schemas[i]!, properties }, k.kind);
    });
    expect(undescribed).toEqual([]);
    expect(visited).toBeGreaterThan(500); // the published schemas are whole, not stubs
    expect(
      schemas[kinds.findIndex((k) => k.kind === 'ApiPolicy')]!.properties!.spec!.properties!.spikeArrest!.properties!
        .rate!.description,
    ).toMatch(/ps|pm/);
  });
});
