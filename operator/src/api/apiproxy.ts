// ApiProxy (DESIGN 3): a base path on some hosts, a target, the flows of policy steps and the fault
// rules.
import { objectName, secretRef, statusBase, tlsVersion, tlsVersionOrderRule } from './common.ts';
import { array, boolean, duration, enumOf, integer, object, optional, string, type Infer } from './schema.ts';

const url = string({
  maxLength: 2048,
  pattern: '^https?://[^/?#\\s]+(/[^\\s]*)?$',
  description: 'http:// or https:// URL of the upstream',
});

export const serviceRef = object({
  name: objectName('name of a Service in the same namespace'),
  port: integer({ minimum: 1, maximum: 65535 }),
});

const oneTarget = object(
  {
    url: optional(url),
    service: optional(serviceRef),
  },
  {
    rules: [
      {
        rule: 'has(self.url) != has(self.service)',
        message: 'set exactly one of url or service',
        check: (v) => (v.url === undefined) !== (v.service === undefined),
      },
    ],
  },
);

export const upstreamTls = object(
  {
    sni: optional(
      string({ maxLength: 253, description: 'server name sent in the TLS handshake (default: the URL host)' }),
    ),
    caSecretRef: optional(secretRef),
    clientCertSecretRef: optional(secretRef),
    minVersion: optional(tlsVersion('lowest TLS version offered (default TLSv1.2)')),
    maxVersion: optional(tlsVersion('highest TLS version offered (default TLSv1.3)')),
  },
  { rules: [tlsVersionOrderRule] },
);

const setOfOne = (a: boolean, b: boolean, c: boolean) => Number(a) + Number(b) + Number(c) === 1;

export const target = object(
  {
    url: optional(url),
    service: optional(serviceRef),
    targets: optional(array(oneTarget, { minItems: 1, maxItems: 16, description: 'several upstreams, load balanced' })),
    loadBalancer: optional(
      object({ algorithm: enumOf(['RoundRobin', 'LeastRequest', 'Random'], { default: 'RoundRobin' }) }),
    ),
    timeout: optional(duration({ default: '30s', description: 'upstream request timeout' })),
    tls: optional(upstreamTls),
  },
  {
    rules: [
      {
        rule: '[has(self.url), has(self.service), has(self.targets)].exists_one(x, x)',
        message: 'set exactly one of url, service or targets',
        check: (v) => setOfOne(v.url !== undefined, v.service !== undefined, v.targets !== undefined),
      },
      {
        rule: '!has(self.loadBalancer) || has(self.targets)',
        message: 'loadBalancer needs targets',
        fieldPath: '.loadBalancer',
        check: (v) => v.loadBalancer === undefined || v.targets !== undefined,
      },
      {
        rule: '!has(self.targets) || self.targets.all(t, has(t.url)) || self.targets.all(t, has(t.service))',
        message: 'targets must be all URLs or all services',
        fieldPath: '.targets',
        check: (v) =>
          v.targets === undefined ||
          v.targets.every((t) => t.url !== undefined) ||
          v.targets.every((t) => t.service !== undefined),
      },
      {
        rule: "!has(self.targets) || self.targets.all(t, !has(t.url) || t.url.startsWith('https://')) || self.targets.all(t, !has(t.url) || t.url.startsWith('http://'))",
        message: 'target URLs must all use the same scheme',
        fieldPath: '.targets',
        check: (v) =>
          v.targets === undefined ||
          v.targets.every((t) => t.url?.startsWith('https://') ?? true) ||
          v.targets.every((t) => t.url?.startsWith('http://') ?? true),
      },
      {
        rule: "!has(self.tls) || has(self.service) || (has(self.url) ? self.url.startsWith('https://') : !has(self.targets) || self.targets.all(t, has(t.service) || (has(t.url) && t.url.startsWith('https://'))))",
        message: 'tls needs https:// target URLs',
        fieldPath: '.tls',
        check: (v) =>
          v.tls === undefined ||
          v.service !== undefined ||
          (v.url !== undefined
            ? v.url.startsWith('https://')
            : (v.targets ?? []).every((t) => t.service !== undefined || (t.url ?? '').startsWith('https://'))),
      },
    ],
  },
);

const conditionExpr = string({ maxLength: 1024, description: 'a condition in Apigee syntax (DESIGN 5)' });

export const step = object({
  policy: objectName('name of an ApiPolicy in the same namespace'),
  condition: optional(conditionExpr),
});
export type Step = Infer<typeof step>;

const steps = (description: string) => optional(array(step, { maxItems: 64, description }));

const flowPair = object({
  request: steps('steps run on the request'),
  response: steps('steps run on the response'),
});

const flowName = string({ maxLength: 63, pattern: '^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$' });

export const flows = object({
  preFlow: optional(flowPair),
  conditionalFlows: optional(
    array(
      object({
        name: flowName,
        condition: optional(conditionExpr),
        request: steps('steps run on the request'),
        response: steps('steps run on the response'),
      }),
      {
        maxItems: 64,
        'x-kubernetes-list-type': 'map',
        'x-kubernetes-list-map-keys': ['name'],
        description: 'the first whose condition matches runs',
      },
    ),
  ),
  postFlow: optional(flowPair),
  postClientFlow: optional(object({ response: steps('steps run after the response is sent') })),
});

export const apiProxySpec = object(
  {
    basePath: string({
      maxLength: 256,
      pattern: "^/$|^(/[A-Za-z0-9._~%!$&'()*+,;=:@-]+)+$",
      description: 'path prefix the proxy serves, without a trailing slash',
    }),
    hosts: optional(
      array(string({ maxLength: 253, pattern: '^(\\*\\.)?[a-z0-9]([-a-z0-9.]*[a-z0-9])?(:[0-9]{1,5})?$' }), {
        maxItems: 16,
        'x-kubernetes-list-type': 'set',
        description: 'host names (empty: any host)',
      }),
    ),
    target,
    stripBasePath: optional(boolean({ default: true, description: 'remove the base path before forwarding' })),
    flows: optional(flows),
    faultRules: optional(
      array(
        object({
          name: flowName,
          condition: optional(conditionExpr),
          steps: steps('steps run when this rule matches'),
        }),
        {
          maxItems: 32,
          'x-kubernetes-list-type': 'map',
          'x-kubernetes-list-map-keys': ['name'],
          description: 'evaluated in order; the first match runs',
        },
      ),
    ),
    defaultFaultRule: optional(
      object({
        steps: steps('steps run when no fault rule matched (or always, with alwaysEnforce)'),
        alwaysEnforce: optional(boolean({ default: false })),
      }),
    ),
  },
  {
    rules: [
      {
        rule: "self.basePath.startsWith('/')",
        message: 'basePath must start with /',
        fieldPath: '.basePath',
        check: (v) => v.basePath.startsWith('/'),
      },
    ],
  },
);
export type ApiProxySpec = Infer<typeof apiProxySpec>;

export const apiProxyStatus = object({
  ...statusBase,
  dataPlanes: optional(
    array(
      object({
        name: string({ maxLength: 253 }),
        version: optional(string({ maxLength: 128 })),
        synced: boolean(),
        lastSyncTime: optional(string({ format: 'date-time' })),
        message: optional(string({ maxLength: 4096 })),
      }),
      { maxItems: 64, 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['name'] },
    ),
  ),
  dataPlanesSynced: optional(string({ maxLength: 32, description: 'synced/total data planes, e.g. "2/3"' })),
});
