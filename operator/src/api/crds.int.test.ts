// The CRDs on a real kube-apiserver (crds/ is applied by the integration global setup): one good
// object of each kind is accepted, and bad ones are rejected with a message naming the field, by the
// schema or by a CEL rule, as `kubectl apply` would show it.
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { group, version } from './common.ts';
import { kindsByName } from './kinds.ts';

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
});
