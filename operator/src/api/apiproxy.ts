// ApiProxy (docs/architecture.md#the-api): a base path on some hosts, a target, the flows of policy steps and the fault
// rules.
import { objectName, secretRef, compiledStatusBase, tlsVersion, tlsVersionOrderRule } from './common.ts';
import { debugMask } from './debugsession.ts';
import {
  array,
  boolean,
  described,
  duration,
  enumOf,
  integer,
  object,
  optional,
  string,
  type Infer,
} from './schema.ts';

const url = string({
  maxLength: 2048,
  pattern: '^https?://[^/?#\\s]+(/[^\\s]*)?$',
  description:
    'http:// or https:// URL of the upstream (at most 2048 characters). A host name is resolved by DNS, an IP address used as is; the port defaults to 80 or 443. Its path is put in front of the forwarded path. https:// always uses TLS (see tls). Apigee: <HTTPTargetConnection><URL>.',
});

export const serviceRef = object(
  {
    name: objectName('Name of a Service in the same namespace.'),
    port: integer({
      minimum: 1,
      maximum: 65535,
      description:
        "A port of the Service (its port, not the targetPort): requests go to the Service's ready endpoints on the matching target port (EndpointSlices).",
    }),
  },
  {
    description:
      'A Service in the same namespace; its ready endpoints are load balanced. Plain HTTP unless tls is set.',
  },
);

const oneTarget = object(
  {
    url: optional(url),
    service: optional(serviceRef),
  },
  {
    description: 'One upstream of a load-balanced set: exactly one of url or service. Apigee: <Server>.',
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
      string({
        maxLength: 253,
        description:
          "Server name sent in the TLS handshake (SNI) and required in the upstream certificate's subject alternative names. Default: the URL's host, or <service>.<namespace>.svc for a Service. An IP address is checked as an IP SAN and never sent as SNI.",
      }),
    ),
    caSecretRef: optional(
      described(
        secretRef,
        "Secret whose ca.crt holds the CA certificates (PEM) the upstream's certificate must chain to. Default: the system trust store. Apigee: <SSLInfo><TrustStore>.",
      ),
    ),
    clientCertSecretRef: optional(
      described(
        secretRef,
        'Secret (tls.crt, tls.key) with the client certificate presented to the upstream, for mutual TLS. Apigee: <SSLInfo><KeyStore>, <KeyAlias> and <ClientAuthEnabled>.',
      ),
    ),
    minVersion: optional(
      tlsVersion('Lowest TLS version offered to the upstream. Default TLSv1.2. Apigee: <SSLInfo><Protocols>.'),
    ),
    maxVersion: optional(tlsVersion('Highest TLS version offered to the upstream. Default TLSv1.3.')),
  },
  {
    rules: [tlsVersionOrderRule],
    description:
      'TLS to the upstream. https:// URLs always use TLS (these settings refine it); a Service target uses TLS only when tls is set. The certificate is verified against caSecretRef (or the system trust store) and sni. Apigee: <SSLInfo>.',
  },
);

const setOfOne = (a: boolean, b: boolean, c: boolean) => Number(a) + Number(b) + Number(c) === 1;

export const target = object(
  {
    url: optional(url),
    service: optional(serviceRef),
    targets: optional(
      array(oneTarget, {
        minItems: 1,
        maxItems: 16,
        description:
          'Several upstreams (1 to 16), load balanced by loadBalancer: all URLs (one scheme and one path) or all Services. Apigee: <HTTPTargetConnection><LoadBalancer> with <Server> entries.',
      }),
    ),
    loadBalancer: optional(
      object(
        {
          algorithm: enumOf(['RoundRobin', 'LeastRequest', 'Random'], {
            default: 'RoundRobin',
            description:
              'RoundRobin (default), LeastRequest (fewest active requests) or Random. Apigee: <Algorithm> (RoundRobin, LeastConnections; Weighted has no equivalent).',
          }),
        },
        { description: 'How requests are spread over targets; only with targets. Apigee: <LoadBalancer>.' },
      ),
    ),
    timeout: optional(
      duration({
        default: '30s',
        description:
          "How long to wait for the upstream's complete response, as a duration (200ms, 30s, 1m30s: digits with ms, s, m or h). Default 30s. Apigee: the io.timeout.millis property.",
      }),
    ),
    tls: optional(upstreamTls),
  },
  {
    description:
      "Where requests go: exactly one of url, service or targets. Apigee: the TargetEndpoint's <HTTPTargetConnection>.",
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

const conditionExpr = (what: string) =>
  string({
    maxLength: 1024,
    description: `${what} A condition in Apigee syntax (at most 1024 characters), for example request.verb = "POST" and proxy.pathsuffix MatchesPath "/orders/*"; absent: always. A condition that does not parse makes the ApiProxy Accepted=False (InvalidCondition). Apigee: <Condition>.`,
  });

export const step = object(
  {
    policy: objectName('Name of the ApiPolicy to run, in the same namespace. Apigee: <Step><Name>.'),
    condition: optional(conditionExpr('The step runs only when this holds.')),
  },
  { description: 'One policy to run, optionally under a condition. Apigee: <Step>.' },
);
export type Step = Infer<typeof step>;

const steps = (description: string) =>
  optional(array(step, { maxItems: 64, description: `${description} (at most 64), in order.` }));

const flowPair = (what: string, apigee: string) =>
  object(
    {
      request: steps(`Steps run on the request, ${what}`),
      response: steps(`Steps run on the response, ${what}`),
    },
    { description: `Steps run ${what}. Apigee: ${apigee}.` },
  );

const flowName = (description: string) =>
  string({ maxLength: 63, pattern: '^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$', description });

export const flows = object(
  {
    preFlow: optional(flowPair('first, on every request', '<PreFlow>')),
    conditionalFlows: optional(
      array(
        object(
          {
            name: flowName(
              'Unique name of the flow (letters, digits, -, _ and .; at most 63), set as the current.flow.name flow variable when it runs. Apigee: <Flow name>.',
            ),
            condition: optional(conditionExpr('The flow is chosen when this holds.')),
            request: steps('Steps run on the request when this flow is chosen'),
            response: steps('Steps run on the response when this flow was chosen'),
          },
          { description: 'A flow chosen by its condition. Apigee: <Flow>.' },
        ),
        {
          maxItems: 64,
          'x-kubernetes-list-type': 'map',
          'x-kubernetes-list-map-keys': ['name'],
          description:
            'Conditional flows, at most 64: the first whose condition holds on the request runs, after preFlow; its response steps run on the response. Apigee: <Flows>.',
        },
      ),
    ),
    postFlow: optional(flowPair('last, after preFlow and the conditional flow', '<PostFlow>')),
    postClientFlow: optional(
      object(
        {
          response: steps(
            'Steps run after the response has been sent to the client; their faults are logged and change nothing',
          ),
        },
        { description: 'Steps run after the response is sent (logging). Apigee: <PostClientFlow>.' },
      ),
    ),
  },
  {
    description:
      "The policy steps, in Apigee's order: on the request preFlow, the first conditional flow whose condition holds, postFlow; on the response the same; then postClientFlow. Gatehouse has one endpoint per proxy, so Apigee's ProxyEndpoint and TargetEndpoint flows go here together.",
  },
);

export const apiProxySpec = object(
  {
    basePath: string({
      maxLength: 256,
      pattern: "^/$|^(/[A-Za-z0-9._~%!$&'()*+,;=:@-]+)+$",
      description:
        'Path prefix the proxy serves: / alone, or segments starting with / and no trailing slash (at most 256 characters). Matched by whole segments: /orders serves /orders and /orders/x, never /ordersx; the longest matching base path wins. Two proxies may not serve one base path on one host: the first by namespace/name keeps it, the other is Accepted=False (Conflicted). Apigee: <HTTPProxyConnection><BasePath>.',
    }),
    hosts: optional(
      array(
        string({
          maxLength: 253,
          pattern: '^(\\*\\.)?[a-z0-9]([-a-z0-9.]*[a-z0-9])?(:[0-9]{1,5})?$',
          description:
            'A lowercase host name matched against the Host header, optionally with :port; *.example.com matches any subdomain.',
        }),
        {
          maxItems: 16,
          'x-kubernetes-list-type': 'set',
          description:
            "Host names the proxy serves, at most 16; empty or absent: every host. Apigee: the proxy endpoint's <VirtualHost> host aliases.",
        },
      ),
    ),
    target,
    stripBasePath: optional(
      boolean({
        default: true,
        description:
          "true (default): the base path is removed before forwarding (/orders/v1/items reaches the upstream as /items, after the target URL's path); false: the path is forwarded whole.",
      }),
    ),
    flows: optional(flows),
    faultRules: optional(
      array(
        object(
          {
            name: flowName(
              'Unique name of the fault rule (letters, digits, -, _ and .; at most 63). Apigee: <FaultRule name>.',
            ),
            condition: optional(
              conditionExpr(
                'The rule runs when this holds; it can test fault.name, error.status.code and the other fault variables.',
              ),
            ),
            steps: steps('Steps run when this rule is chosen; they see the fault response as response'),
          },
          { description: 'Steps that handle a fault. Apigee: <FaultRule>.' },
        ),
        {
          maxItems: 32,
          'x-kubernetes-list-type': 'map',
          'x-kubernetes-list-map-keys': ['name'],
          description:
            'Rules tried in order when a policy raises a fault: the first whose condition holds runs (at most 32). Apigee: <FaultRules>.',
        },
      ),
    ),
    debugMask: optional(debugMask),
    defaultFaultRule: optional(
      object(
        {
          steps: steps('Steps run when no fault rule matched (or always, with alwaysEnforce)'),
          alwaysEnforce: optional(
            boolean({
              default: false,
              description:
                'true: the default rule runs after a matching fault rule too; false (default): only when none matched. Apigee: <AlwaysEnforce>.',
            }),
          ),
        },
        { description: 'Steps run on a fault that no fault rule handled. Apigee: <DefaultFaultRule>.' },
      ),
    ),
  },
  {
    description:
      'An API proxy: the base path and hosts it serves, the upstream it forwards to, and the policy steps run on the way (flows) and on faults. Apigee: an API proxy with one ProxyEndpoint and one TargetEndpoint.',
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

export const apiProxyStatus = object(
  {
    ...compiledStatusBase,
    dataPlanes: optional(
      array(
        object(
          {
            name: string({
              maxLength: 253,
              description: "The node's xDS id (its pod name for Envoy and extproc pods).",
            }),
            version: optional(
              string({
                maxLength: 128,
                description:
                  "Revision of this proxy the node runs: a hash of the proxy's compiled route, cluster and endpoints.",
              }),
            ),
            synced: boolean({ description: 'Whether the node runs the revision this generation compiled to.' }),
            lastSyncTime: optional(
              string({ format: 'date-time', description: 'When the node acknowledged that revision (RFC 3339).' }),
            ),
            message: optional(
              string({
                maxLength: 4096,
                description:
                  'Why the node is not synced: its rejection (NACK) message, or that it runs an older snapshot.',
              }),
            ),
          },
          { description: 'What one data-plane node runs of this proxy.' },
        ),
        {
          maxItems: 64,
          'x-kubernetes-list-type': 'map',
          'x-kubernetes-list-map-keys': ['name'],
          description:
            'The data-plane nodes (Envoy and extproc pods of every DataPlane) that report on this proxy, at most 64, by name.',
        },
      ),
    ),
    dataPlanesSynced: optional(
      string({
        maxLength: 32,
        description: 'Synced nodes over all nodes, e.g. "2/3" (the Synced printer column).',
      }),
    ),
  },
  { description: 'What the operator made of this ApiProxy and where it runs, written by the operator.' },
);
