// A large, realistic input for the compile benchmark: N proxies with 5 policies each (a conditional
// flow among them), products of 10 proxies, and apps with one credential Secret each.
import type { SourceObject } from '../operator/src/compile/compile.ts';

const apiVersion = 'gatehouse.dev/v1alpha1';

export interface FixtureSize {
  proxies: number;
  apps: number;
}

function policies(ns: string, p: string): object[] {
  const policy = (name: string, spec: object) => ({
    apiVersion,
    kind: 'ApiPolicy',
    metadata: { name: `${p}-${name}`, namespace: ns },
    spec,
  });
  return [
    policy('check-ip', {
      type: 'AccessControl',
      accessControl: { rules: [{ action: 'Deny', sourceAddresses: ['203.0.113.0/24'] }] },
    }),
    policy('verify-key', { type: 'VerifyAPIKey', verifyAPIKey: { apiKey: { ref: 'request.header.x-api-key' } } }),
    policy('json-guard', {
      type: 'JSONThreatProtection',
      jsonThreatProtection: { containerDepth: 10, stringValueLength: 1024 },
    }),
    policy('add-headers', {
      type: 'AssignMessage',
      assignMessage: { assignTo: 'response', set: { headers: { 'x-served-by': 'gatehouse' } } },
    }),
    policy('not-found', {
      type: 'RaiseFault',
      raiseFault: {
        statusCode: 404,
        payload: { contentType: 'application/json', content: '{"error":"no such resource"}' },
      },
    }),
  ];
}

export function buildFixture({ proxies, apps }: FixtureSize): SourceObject[] {
  const objects: object[] = [];
  const ns = (i: number) => `team-${i % 20}`;
  for (let i = 0; i < proxies; i++) {
    const name = `api-${i}`;
    objects.push(
      {
        apiVersion,
        kind: 'ApiProxy',
        metadata: { name, namespace: ns(i) },
        spec: {
          basePath: `/api-${i}/v1`,
          target: { url: `http://10.0.${Math.floor(i / 250)}.${i % 250}:8080` },
          flows: {
            preFlow: { request: [{ policy: `${name}-check-ip` }, { policy: `${name}-verify-key` }] },
            conditionalFlows: [
              {
                name: 'create',
                condition: 'request.verb = "POST" and proxy.pathsuffix MatchesPath "/items"',
                request: [{ policy: `${name}-json-guard` }],
              },
              {
                name: 'unknown',
                condition: 'not (proxy.pathsuffix ~/ "/items/**" or proxy.pathsuffix = "/")',
                request: [{ policy: `${name}-not-found` }],
              },
            ],
            postFlow: { response: [{ policy: `${name}-add-headers` }] },
          },
        },
      },
      ...policies(ns(i), name),
    );
  }
  // A product per 10 proxies of one namespace; 20 namespaces hold proxies i with i % 20 equal.
  const products: { ns: string; name: string }[] = [];
  for (let i = 0; i < proxies; i += 200) {
    for (let k = 0; k < 20 && i + k < proxies; k++) {
      const members = Array.from({ length: 10 }, (_, j) => i + k + 20 * j).filter((x) => x < proxies);
      const name = `product-${i + k}`;
      products.push({ ns: ns(i + k), name });
      objects.push({
        apiVersion,
        kind: 'ApiProduct',
        metadata: { name, namespace: ns(i + k) },
        spec: { proxies: members.map((m) => `api-${m}`), quota: { limit: 1000, timeUnit: 'hour' } },
      });
    }
  }
  for (let i = 0; i < apps; i++) {
    const product = products[i % products.length];
    if (product === undefined) throw new Error('a fixture with apps needs at least one proxy for their product');
    objects.push(
      {
        apiVersion,
        kind: 'DeveloperApp',
        metadata: { name: `app-${i}`, namespace: product.ns },
        spec: {
          developer: { email: `dev${i}@example.com` },
          products: [{ name: product.name }],
          credentials: [{ secretRef: { name: `app-${i}-key` } }],
        },
      },
      {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: `app-${i}-key`, namespace: product.ns },
        stringData: { consumerKey: `key-${i}-${(i * 2654435761) % 4294967296}`, consumerSecret: `secret-${i}` },
      },
    );
  }
  return objects.map((object) => ({ object }));
}
