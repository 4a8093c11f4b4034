// DataPlane (docs/architecture.md#the-api): one Envoy + extproc fleet (a region or cluster): its listeners, its Redis, how
// ext_proc fails, its certificates, remediation and autoscaling.
import { debugMask, durationMs } from './debugsession.ts';
import { compiledStatusBase, objectName, secretRef, tlsVersion, tlsVersionOrderRule } from './common.ts';
import {
  array,
  boolean,
  described,
  duration,
  enumOf,
  integer,
  map,
  number,
  object,
  optional,
  string,
  type Infer,
} from './schema.ts';

const flowHook = (when: string, apigee: string) =>
  object(
    { name: objectName("Name of a SharedFlow in the DataPlane's namespace.") },
    { description: `The SharedFlow run ${when}. Apigee: ${apigee}.` },
  );

/** The access log's field catalogue (operator/src/compile/envoy/access-log.ts maps each to an Envoy command operator). */
export const accessLogFieldNames = [
  'startTime',
  'requestId',
  'traceId',
  'traceparent',
  'method',
  'path',
  'authority',
  'protocol',
  'status',
  'responseFlags',
  'responseCodeDetails',
  'duration',
  'upstreamDuration',
  'bytesReceived',
  'bytesSent',
  'upstreamHost',
  'route',
  'proxy',
  'app',
  'faultCode',
] as const;
export type AccessLogField = (typeof accessLogFieldNames)[number];

const quantities = (what: string) =>
  map(
    string({
      maxLength: 64,
      pattern: '^[0-9.]+[a-zA-Z]*$',
      description: 'A Kubernetes quantity: 500m, 2 (CPU), 128Mi, 1Gi (memory).',
    }),
    { description: `${what} per container, by resource name (cpu, memory).` },
  );

const workloadFields = (component: string, image: string) => ({
  replicas: optional(
    integer({
      minimum: 0,
      maximum: 1000,
      default: 2,
      description: `Number of ${component} pods (0 to 1000, default 2); ignored while autoscaling is enabled.`,
    }),
  ),
  image: optional(string({ maxLength: 512, description: `Container image; default the operator's ${image} flag.` })),
  resources: optional(
    object(
      {
        requests: optional(quantities('Resource requests')),
        limits: optional(quantities('Resource limits')),
      },
      {
        description:
          'Container resources; default requests of 100m CPU and 128Mi memory (CPU autoscaling needs a request) and no limits.',
      },
    ),
  ),
});

const workload = (component: string, image: string) =>
  object(workloadFields(component, image), {
    description: `The ${component} Deployment (<dataplane>-${component}) the operator runs.`,
  });

/**
 * extproc's --max-connection-age bounds (extproc/src/command.ts): at least 1s; at most 24h here, a
 * day being far past the useful range (minutes) and well inside the timers extproc sets from it.
 */
export const connectionAgeLimits = { minMs: 1000, maxMs: 24 * 3_600_000 } as const;

const ageInRange = (ms: number) => ms === 0 || (ms >= connectionAgeLimits.minMs && ms <= connectionAgeLimits.maxMs);

const extprocWorkload = object(
  {
    ...workloadFields('extproc', '--gatehouse-image'),
    maxConnectionAge: optional(
      duration({
        description:
          "How old an ext_proc connection from Envoy may get (plus or minus 10%) before extproc sends it GOAWAY: its open streams finish and Envoy opens a new connection, which the Service may send to another replica, so replicas added by the autoscaler or a rollout get a share. 0s or absent: never. 1s to 24h; minutes are the useful range (30m is common with grpc-go's MaxConnectionAge). extproc's --max-connection-age; the DataPlane's Envoys also retire their ext_proc connections themselves at 80% of it (the ext_proc cluster's max_connection_duration), so that extproc's GOAWAY, which would fail the streams Envoy opens while it is on its way, rarely reaches them (docs/operations.md#connection-age).",
      }),
    ),
    maxConnectionAgeGrace: optional(
      duration({
        description:
          "How long after that GOAWAY streams still open may run before the connection is closed under them (Envoy then applies failureMode to their requests). 0s or absent: never, they finish. Only with maxConnectionAge; at most 24h. Set it above the longest request served, upstream included. extproc's --max-connection-age-grace.",
      }),
    ),
  },
  {
    description: 'The extproc Deployment (<dataplane>-extproc) the operator runs.',
    rules: [
      {
        rule: "!has(self.maxConnectionAge) || duration(self.maxConnectionAge) == duration('0s') || (duration(self.maxConnectionAge) >= duration('1s') && duration(self.maxConnectionAge) <= duration('24h'))",
        message: 'maxConnectionAge must be 0s (never) or between 1s and 24h',
        fieldPath: '.maxConnectionAge',
        check: (v) => v.maxConnectionAge === undefined || ageInRange(durationMs(v.maxConnectionAge)),
      },
      {
        rule: "!has(self.maxConnectionAgeGrace) || duration(self.maxConnectionAgeGrace) <= duration('24h')",
        message: 'maxConnectionAgeGrace must be at most 24h',
        fieldPath: '.maxConnectionAgeGrace',
        check: (v) =>
          v.maxConnectionAgeGrace === undefined || durationMs(v.maxConnectionAgeGrace) <= connectionAgeLimits.maxMs,
      },
      {
        rule: "!has(self.maxConnectionAgeGrace) || duration(self.maxConnectionAgeGrace) == duration('0s') || (has(self.maxConnectionAge) && duration(self.maxConnectionAge) > duration('0s'))",
        message: 'maxConnectionAgeGrace needs maxConnectionAge',
        fieldPath: '.maxConnectionAgeGrace',
        check: (v) =>
          v.maxConnectionAgeGrace === undefined ||
          durationMs(v.maxConnectionAgeGrace) === 0 ||
          (v.maxConnectionAge !== undefined && durationMs(v.maxConnectionAge) > 0),
      },
    ],
  },
);

export const listenerTls = object(
  {
    secretRef: optional(
      described(
        secretRef,
        'Secret (kubernetes.io/tls: tls.crt, tls.key) with the serving certificate; its ca.crt verifies client certificates. Exclusive with issue.',
      ),
    ),
    issue: optional(
      boolean({
        description:
          'true: the operator issues the serving certificate into the Secret <dataplane>-listener-<listener>-tls and renews it (see certificates). Exclusive with secretRef.',
      }),
    ),
    minVersion: optional(tlsVersion('Lowest TLS version accepted from clients. Default TLSv1.2.')),
    maxVersion: optional(tlsVersion('Highest TLS version accepted from clients. Default TLSv1.3.')),
    cipherSuites: optional(
      array(
        string({
          maxLength: 128,
          description: 'A cipher suite in OpenSSL/BoringSSL naming, e.g. ECDHE-ECDSA-AES128-GCM-SHA256.',
        }),
        {
          maxItems: 32,
          description:
            "Cipher suites offered for TLS 1.2 and below (at most 32), in preference order; default Envoy's.",
        },
      ),
    ),
    clientCertificate: optional(
      enumOf(['None', 'Optional', 'Required'], {
        default: 'None',
        description:
          "Client certificates (mutual TLS): None (default) does not ask for one; Optional verifies one when sent; Required refuses clients without one. Verified against the ca.crt of the listener's certificate Secret.",
      }),
    ),
  },
  {
    description: 'TLS of an HTTPS listener: exactly one of secretRef or issue: true.',
    rules: [
      {
        rule: 'has(self.secretRef) != (has(self.issue) && self.issue)',
        message: 'set exactly one of secretRef or issue: true',
        check: (v) => (v.secretRef !== undefined) !== (v.issue === true),
      },
      tlsVersionOrderRule,
    ],
  },
);

/** TLS to an OTLP collector (tracing, analytics): its CA, optionally a client certificate, the name checked. */
const collectorTls = (what: string) =>
  object(
    {
      caSecretRef: described(
        secretRef,
        "Secret in the DataPlane's namespace whose ca.crt (PEM CA bundle) the collector's certificate must chain to.",
      ),
      clientCertificateSecretRef: optional(
        described(
          secretRef,
          "Secret (kubernetes.io/tls: tls.crt, tls.key) in the DataPlane's namespace with the client certificate presented to the collector (mutual TLS).",
        ),
      ),
      serverName: optional(
        string({
          maxLength: 253,
          pattern: '^[A-Za-z0-9]([-A-Za-z0-9.]*[A-Za-z0-9])?$',
          description:
            "The name sent as SNI and that the collector's certificate must carry (a DNS or IP address SAN); default the collector's host.",
        }),
      ),
    },
    { description: `TLS to the collector ${what}; absent: plain text.` },
  );

export const listener = object(
  {
    name: string({
      maxLength: 63,
      pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$',
      description: 'Unique name of the listener (a lowercase DNS label); names its Envoy listener and Service port.',
    }),
    port: integer({
      minimum: 1,
      maximum: 65535,
      description: 'Port Envoy listens on, and the port of the <dataplane>-envoy Service; unique per DataPlane.',
    }),
    protocol: optional(
      enumOf(['HTTP', 'HTTPS'], {
        default: 'HTTP',
        description: 'HTTP (default) or HTTPS; HTTPS needs tls, HTTP must not have it.',
      }),
    ),
    tls: optional(listenerTls),
    hostnames: optional(
      array(
        string({
          maxLength: 253,
          pattern: '^(\\*\\.)?[a-z0-9]([-a-z0-9.]*[a-z0-9])?$',
          description: 'A lowercase host name without a port; *.example.com matches any subdomain.',
        }),
        {
          maxItems: 16,
          'x-kubernetes-list-type': 'set',
          description:
            "Host names this listener serves, at most 16; empty or absent: every host. An ApiProxy attaches with the hosts it shares with the listener (a proxy for every host gets the listener's), and one that shares none is not attached. Gateway API: a listener's hostname. Apigee: the virtual host's host aliases.",
        },
      ),
    ),
    allowedRoutes: optional(
      object(
        {
          namespaces: optional(
            object(
              {
                from: optional(
                  enumOf(['Same', 'All'], {
                    default: 'Same',
                    description:
                      "Same (default): only ApiProxies in the DataPlane's namespace; All: ApiProxies in every namespace the operator watches.",
                  }),
                ),
              },
              { description: 'Which namespaces ApiProxies may attach from.' },
            ),
          ),
        },
        {
          description:
            "Which ApiProxies may attach to this listener. An ApiProxy that no listener of any DataPlane admits is Accepted=False with reason NotAllowedByListeners. Gateway API: a listener's allowedRoutes.",
        },
      ),
    ),
  },
  {
    description: "A port where Envoy accepts client traffic. Apigee: a virtual host's port and SSLInfo.",
    rules: [
      {
        rule: "(has(self.protocol) && self.protocol == 'HTTPS') == has(self.tls)",
        message: 'HTTPS listeners need tls, HTTP listeners must not have it',
        fieldPath: '.tls',
        check: (v) => (v.protocol === 'HTTPS') === (v.tls !== undefined),
      },
    ],
  },
);
export type Listener = Infer<typeof listener>;

export const dataPlaneSpec = object(
  {
    region: optional(
      string({
        maxLength: 63,
        pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$',
        description:
          'Name of the region or cluster this data plane serves, a lowercase DNS label (at most 63 characters; no ":" that would blur the gh:<region>: Redis key prefix, no characters a header could not carry): the environment.name flow variable, and part of the Redis keys. Apigee: the environment.',
      }),
    ),
    envoy: optional(workload('Envoy', '--envoy-image')),
    extproc: optional(extprocWorkload),
    javaCallouts: optional(
      object(
        {
          image: string({
            maxLength: 512,
            description:
              'The Java callout host image (built from java/Dockerfile): runs as a sidecar of every extproc pod, listening on the pod loopback port 9443.',
          }),
          configMap: objectName(
            'ConfigMap in the DataPlane namespace whose binaryData keys are the callout jars (NAME.jar), mounted read-only at /callouts: a JavaCallout ResourceURL java://NAME.jar names one.',
          ),
          maxConcurrent: optional(
            integer({
              minimum: 1,
              maximum: 4096,
              description:
                'Callouts running at once per pod (default 64); beyond it a call is refused at once with steps.javacallout.ExecutionError.',
            }),
          ),
          maxTimeoutMs: optional(
            integer({
              minimum: 1,
              maximum: 60000,
              description: "Longest any callout may run, milliseconds (default 10000); caps each policy's timeoutMs.",
            }),
          ),
          resources: optional(
            object(
              {
                requests: optional(quantities('Resource requests')),
                limits: optional(quantities('Resource limits')),
              },
              { description: 'The sidecar container resources; default requests of 100m CPU and 256Mi memory.' },
            ),
          ),
        },
        {
          description:
            'Runs the Java callout host (docs/policies.md#javacallout) beside extproc in its pods, for the JavaCallout policies of the proxies on this data plane. Absent: no host runs and a JavaCallout step raises steps.javacallout.ExecutionError.',
        },
      ),
    ),
    listeners: optional(
      array(listener, {
        maxItems: 16,
        'x-kubernetes-list-type': 'map',
        'x-kubernetes-list-map-keys': ['name'],
        description: 'Where Envoy accepts traffic (at most 16, by name); absent: one HTTP listener on 8080.',
      }),
    ),
    redis: optional(
      object(
        {
          url: optional(
            string({
              maxLength: 1024,
              pattern: '^rediss?://',
              description:
                'redis:// or rediss:// (TLS) URL without a password (a URL with one is refused: the password would stand in the object and its Deployment; use secretRef); exclusive with secretRef.',
            }),
          ),
          secretRef: optional(
            object(
              {
                name: objectName('Name of a Secret in the same namespace.'),
                key: optional(
                  string({
                    maxLength: 253,
                    default: 'url',
                    description: 'Key of the Secret holding the URL; default url.',
                  }),
                ),
              },
              { description: 'Secret holding the Redis URL; exclusive with url.' },
            ),
          ),
          mode: optional(
            enumOf(['Standalone', 'Sentinel', 'Cluster'], {
              default: 'Standalone',
              description: 'Standalone (default), Sentinel or Cluster.',
            }),
          ),
          onUnavailable: optional(
            enumOf(['LocalFallback', 'FailClosed'], {
              default: 'LocalFallback',
              description:
                'When Redis cannot answer: LocalFallback (default) counts per extproc replica at limit/replicas; FailClosed refuses rate-limited requests with 503 gatehouse.StoreUnavailable. See docs/operations.md#redis.',
            }),
          ),
        },
        {
          description:
            'The shared store for quotas, spike arrests and caches; exactly one of url or secretRef. Absent: each extproc counts and caches in its own memory.',
          rules: [
            {
              rule: 'has(self.url) != has(self.secretRef)',
              message: 'set exactly one of url or secretRef',
              check: (v) => (v.url !== undefined) !== (v.secretRef !== undefined),
            },
          ],
        },
      ),
    ),
    requests: optional(
      object(
        {
          escapedSlashes: optional(
            enumOf(['Reject', 'KeepUnchanged', 'UnescapeAndRedirect', 'UnescapeAndForward'], {
              default: 'Reject',
              description:
                'A path with an escaped slash or backslash (%2F, %5C): Reject (default) answers 400, so /a%2F..%2Fadmin cannot reach a route or a resource path the normalised path would not; KeepUnchanged forwards it as is; UnescapeAndRedirect redirects to the unescaped path; UnescapeAndForward unescapes it. Envoy path_with_escaped_slashes_action.',
            }),
          ),
          headersWithUnderscores: optional(
            enumOf(['DropHeader', 'Reject', 'Allow'], {
              default: 'DropHeader',
              description:
                'A request header whose name has an underscore (x_api_key): DropHeader (default) removes it, so an upstream that reads it as x-api-key never sees a header the policies did not; Reject answers 400; Allow keeps it. Envoy headers_with_underscores_action.',
            }),
          ),
          headersTimeout: optional(
            duration({
              default: '10s',
              description:
                'How long a client may take to send the request headers (slow-headers attacks); 0s: no limit. Envoy request_headers_timeout.',
            }),
          ),
        },
        {
          description:
            'How the edge treats client requests before any policy runs (docs/architecture.md#the-envoy-and-extproc-contract).',
        },
      ),
    ),
    accessLog: optional(
      object(
        {
          enabled: optional(
            boolean({ default: true, description: 'false: Envoy writes no access log. Default true.' }),
          ),
          fields: optional(
            array(enumOf(accessLogFieldNames, { description: 'A field of the access log catalogue.' }), {
              maxItems: accessLogFieldNames.length,
              'x-kubernetes-list-type': 'set',
              description:
                'The fields of each JSON line, from the catalogue in docs/operations.md#access-logs (each one Envoy command operator); absent: all of them. The path is always logged without its query, so API keys in query strings never reach the log.',
            }),
          ),
        },
        {
          description:
            "Envoy's access log: one JSON line per request on its stdout (docs/operations.md#access-logs). Absent: on, with every field.",
        },
      ),
    ),
    tracing: optional(
      object(
        {
          collector: object(
            {
              address: optional(
                string({
                  maxLength: 261,
                  pattern: '^[A-Za-z0-9]([-A-Za-z0-9.]*[A-Za-z0-9])?:[0-9]{1,5}$',
                  description: 'host:port of the OTLP gRPC collector; exclusive with service.',
                }),
              ),
              service: optional(
                object(
                  {
                    name: objectName('Name of the collector Service.'),
                    namespace: optional(objectName("The Service's namespace; default the DataPlane's.")),
                    port: integer({ minimum: 1, maximum: 65535, description: "The Service's OTLP gRPC port (4317)." }),
                  },
                  {
                    description:
                      'A collector Service, reached by its DNS name NAME.NAMESPACE.svc; exclusive with address.',
                  },
                ),
              ),
            },
            {
              description: 'Where Envoy and extproc send spans (OTLP over gRPC).',
              rules: [
                {
                  rule: 'has(self.address) != has(self.service)',
                  message: 'set exactly one of address or service',
                  check: (v) => (v.address !== undefined) !== (v.service !== undefined),
                },
              ],
            },
          ),
          tls: optional(collectorTls('(Envoy and extproc)')),
          samplingPercent: optional(
            number({
              minimum: 0,
              maximum: 100,
              default: 100,
              description:
                "Share of requests without a sampled traceparent that Envoy traces, in percent (HttpConnectionManager tracing.random_sampling; default 100, Envoy's). A request whose traceparent says sampled is traced, as Envoy does.",
            }),
          ),
          serviceName: optional(
            string({
              maxLength: 253,
              description: "service.name of Envoy's spans; default gatehouse-envoy.",
            }),
          ),
        },
        {
          description:
            'OpenTelemetry tracing (docs/operations.md#tracing): Envoy traces each request (envoy.tracers.opentelemetry) and extproc adds a span per stream and policy step. Absent: no tracing.',
        },
      ),
    ),
    analytics: optional(
      object(
        {
          enabled: optional(
            boolean({
              default: true,
              description: 'false: no records are made (the sinks stay configured). Default true.',
            }),
          ),
          sinks: object(
            {
              otlp: optional(
                object(
                  {
                    endpoint: string({
                      maxLength: 261,
                      pattern: '^[A-Za-z0-9]([-A-Za-z0-9.]*[A-Za-z0-9])?:[0-9]{1,5}$',
                      description: 'host:port of the OTLP gRPC collector (logs service).',
                    }),
                    tls: optional(collectorTls('(analytics)')),
                  },
                  { description: 'Each record one OTLP log record (attributes: the record fields), over gRPC.' },
                ),
              ),
              file: optional(
                object(
                  {
                    path: string({
                      maxLength: 1024,
                      pattern: '^/',
                      description:
                        "Absolute path of the file in extproc's container the records are appended to, one JSON object a line.",
                    }),
                  },
                  { description: 'JSON lines appended to a file (a volume a log shipper reads).' },
                ),
              ),
              http: optional(
                object(
                  {
                    url: string({
                      maxLength: 2048,
                      pattern: '^https?://',
                      description:
                        'http:// or https:// URL the batches are POSTed to as a JSON array. Operator-configured, hence trusted: it may be a cluster-internal address (callout address rules do not apply).',
                    }),
                    headers: optional(
                      array(
                        object(
                          {
                            name: string({
                              maxLength: 128,
                              pattern: "^[!#$%&'*+.^_`|~0-9A-Za-z-]+$",
                              description: 'The header name.',
                            }),
                            secretKeyRef: object(
                              {
                                name: objectName("Name of a Secret in the DataPlane's namespace."),
                                key: string({
                                  maxLength: 253,
                                  description: 'The key of the Secret holding the value.',
                                }),
                              },
                              { description: 'The Secret key whose value is sent.' },
                            ),
                          },
                          { description: 'A header whose value comes from a Secret (an API key, a bearer token).' },
                        ),
                        {
                          maxItems: 16,
                          description: 'Headers sent with every batch, values from Secrets (at most 16).',
                        },
                      ),
                    ),
                  },
                  { description: 'Batches POSTed as JSON arrays to an HTTP endpoint.' },
                ),
              ),
            },
            {
              description: 'Where records go: at least one of otlp, file, http.',
              rules: [
                {
                  rule: 'has(self.otlp) || has(self.file) || has(self.http)',
                  message: 'set at least one sink: otlp, file or http',
                  check: (v) => v.otlp !== undefined || v.file !== undefined || v.http !== undefined,
                },
              ],
            },
          ),
          queueSize: optional(
            integer({
              minimum: 1,
              maximum: 1000000,
              default: 10000,
              description:
                'Records held per sink waiting for export (default 10000); past it a record is dropped and counted (gatehouse_analytics_dropped_total{reason="queue_full"}).',
            }),
          ),
          batchSize: optional(
            integer({ minimum: 1, maximum: 10000, default: 500, description: 'Records per export (default 500).' }),
          ),
          flushInterval: optional(
            duration({ default: '5s', description: 'How long a record waits for a batch to fill (default 5s).' }),
          ),
        },
        {
          description:
            "Analytics (docs/operations.md#analytics): extproc makes one record per transaction (proxy, revision, app, product, developer, status, fault, latencies, StatisticsCollector's dimensions; never the query string, API keys or Authorization) and exports it in the background. Absent: no records.",
        },
      ),
    ),
    failureMode: optional(
      enumOf(['FailClosed', 'FailOpen'], {
        default: 'FailClosed',
        description:
          'What Envoy does when extproc cannot be reached or does not answer in time: FailClosed (default) refuses the request; FailOpen forwards it without policies.',
      }),
    ),
    flowHooks: optional(
      object(
        {
          preProxy: optional(flowHook('before the proxy request flows (preFlow)', 'PreProxyFlowHook')),
          preTarget: optional(
            flowHook('after the proxy request flows, before the request goes to the target', 'PreTargetFlowHook'),
          ),
          postTarget: optional(
            flowHook('on the target response, before the proxy response flows', 'PostTargetFlowHook'),
          ),
          postProxy: optional(
            flowHook('after the proxy response flows, before the response goes to the client', 'PostProxyFlowHook'),
          ),
        },
        {
          description:
            "SharedFlows run on every ApiProxy this DataPlane serves, and on no other: the platform's policies, which a proxy cannot leave out. Each names a SharedFlow of this DataPlane's namespace (a tenant cannot attach one from its own namespace); one that is missing or not accepted answers every request with flow.SharedFlowNotFound (fail closed). Apigee: an environment's flow hooks.",
        },
      ),
    ),
    debugMask: optional(
      described(
        debugMask,
        "The environment's debug mask: what every DebugSession of the proxies this DataPlane serves masks, merged with the session's own mask (credentials are always masked). Apigee: the environment's debug mask (<Mask>).",
      ),
    ),
    messageTimeout: optional(
      duration({
        default: '200ms',
        description:
          'How long Envoy waits for extproc to answer one message (headers or body), as a duration (200ms, 1s). Default 200ms; then failureMode applies.',
      }),
    ),
    upstream: optional(
      object(
        {
          allowLinkLocalTargets: optional(
            boolean({
              default: false,
              description:
                "true: ApiProxy targets may use link-local, unspecified and cloud metadata addresses (169.254.0.0/16, fe80::/10, 0.0.0.0, 169.254.169.254, fd00:ec2::254, metadata.google.internal, ...); refused by default. Every DataPlane must allow it (a target is judged once, for every DataPlane that may serve it). It also lets this DataPlane's callouts (ServiceCallout) reach them.",
            }),
          ),
          calloutPrivateNetworks: optional(
            array(
              string({
                maxLength: 64,
                pattern: '^[0-9a-fA-F:.]+/[0-9]{1,3}$',
                description: 'A CIDR block: 10.20.0.0/16, fd00:1::/64.',
              }),
              {
                maxItems: 64,
                description:
                  'The private networks (CIDR blocks within 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16, 100.64.0.0/10, 127.0.0.0/8, ::1, fc00::/7) that callouts (ServiceCallout) may reach, checked on the address a name resolves to; absent: none (docs/policies.md#servicecallout). ApiProxy targets are not limited by it.',
              },
            ),
          ),
        },
        {
          description:
            'What ApiProxy targets and callouts may be (docs/operations.md, upstream targets that are refused; docs/policies.md#servicecallout).',
        },
      ),
    ),
    certificates: optional(
      object(
        {
          duration: optional(
            duration({
              default: '2160h',
              description: 'Lifetime of the certificates issued for this data plane (default 2160h, 90 days).',
            }),
          ),
          renewBefore: optional(
            duration({ description: 'How long before expiry a certificate is renewed; default a third of duration.' }),
          ),
          caSecretName: optional(
            objectName(
              "Secret in the same namespace with the CA that signs this data plane's certificates (tls.crt and tls.key, or ca.crt and ca.key; e.g. from cert-manager). Default: the operator's CA, gatehouse-ca.",
            ),
          ),
        },
        {
          description:
            'Certificates the operator issues for this data plane: Envoy, extproc and HTTPS listeners with tls.issue (operator/src/certs/README.md).',
        },
      ),
    ),
    remediation: optional(
      object(
        {
          enabled: optional(
            boolean({
              default: false,
              description:
                'true: evict (or force-delete) zombie pods and run deep checks on extproc; false (default): zombies are only reported in PodsHealthy.',
            }),
          ),
          dryRun: optional(
            boolean({
              default: false,
              description: 'true: decide as usual but only report what would be done (Events, status.remediations).',
            }),
          ),
          notReadyFor: optional(
            duration({
              default: '5m',
              description: 'A Running pod not Ready for this long is a zombie (default 5m).',
            }),
          ),
          stuckCreatingFor: optional(
            duration({
              default: '10m',
              description:
                'A pod whose volumes fail to attach or mount (FailedMount, FailedAttachVolume Events) and that has not started this long after it was scheduled is a zombie (default 10m).',
            }),
          ),
          maxEvictionsPerHour: optional(
            integer({
              minimum: 0,
              default: 1,
              description: 'At most this many evictions and force deletes in any hour (default 1).',
            }),
          ),
          minAvailable: optional(
            integer({
              minimum: 0,
              default: 1,
              description:
                "Ready pods each component keeps: no action takes it below this, and it is the PodDisruptionBudgets' minAvailable (default 1).",
            }),
          ),
        },
        { description: 'Zombie-pod remediation (operator/src/remediation/README.md).' },
      ),
    ),
    autoscaling: optional(
      object(
        {
          enabled: optional(
            boolean({
              default: false,
              description:
                'true: a HorizontalPodAutoscaler scales each component on CPU and replicas is ignored; false (default): replicas is fixed.',
            }),
          ),
          minReplicas: optional(
            integer({ minimum: 1, default: 2, description: 'Fewest pods per component (default 2).' }),
          ),
          maxReplicas: optional(
            integer({
              minimum: 1,
              default: 10,
              description:
                'Most pods per component (default 10); with LocalFallback each extproc pod counts limit/maxReplicas while Redis is down.',
            }),
          ),
          targetCPUUtilizationPercentage: optional(
            integer({
              minimum: 1,
              maximum: 100,
              default: 70,
              description: 'Average CPU use, in percent of the request, the autoscaler aims at (1 to 100, default 70).',
            }),
          ),
        },
        {
          description: 'CPU autoscaling of the Envoy and extproc Deployments.',
          rules: [
            {
              rule: '!has(self.minReplicas) || !has(self.maxReplicas) || self.minReplicas <= self.maxReplicas',
              message: 'minReplicas must not be greater than maxReplicas',
              fieldPath: '.minReplicas',
              // The apiserver runs CEL on the defaulted object; the compiler sees it as written.
              check: (v) => (v.minReplicas ?? 2) <= (v.maxReplicas ?? 10),
            },
          ],
        },
      ),
    ),
  },
  {
    description:
      'A data plane: one Envoy fleet and one extproc fleet (a region or a cluster) that the operator runs and configures over xDS, with its listeners, shared store, failure behaviour, certificates, remediation and autoscaling.',
    rules: [
      {
        rule: '!has(self.listeners) || self.listeners.all(a, self.listeners.exists_one(b, b.port == a.port))',
        message: 'listener ports must be unique',
        fieldPath: '.listeners',
        check: (v) => new Set((v.listeners ?? []).map((l) => l.port)).size === (v.listeners ?? []).length,
      },
    ],
  },
);
export type DataPlaneSpec = Infer<typeof dataPlaneSpec>;

export const dataPlaneStatus = object(
  {
    ...compiledStatusBase,
    configVersion: optional(
      string({ maxLength: 128, description: 'Version (a SHA-256) of the configuration snapshot the operator serves.' }),
    ),
    components: optional(
      array(
        object(
          {
            name: string({ maxLength: 63, description: 'The component: envoy or extproc.' }),
            syncedVersion: optional(
              string({
                maxLength: 128,
                description:
                  'Snapshot version every connected pod of the component runs; when they differ, the one synced longest ago; absent while a pod has synced nothing.',
              }),
            ),
            replicas: optional(integer({ minimum: 0, description: 'Pods the Deployment wants.' })),
            readyReplicas: optional(integer({ minimum: 0, description: 'Pods that are Ready.' })),
          },
          { description: "The state of one component's Deployment." },
        ),
        {
          maxItems: 8,
          'x-kubernetes-list-type': 'map',
          'x-kubernetes-list-map-keys': ['name'],
          description: 'Envoy and extproc, by name.',
        },
      ),
    ),
    certificates: optional(
      array(
        object(
          {
            name: string({
              maxLength: 253,
              description:
                "The Secret: a name in this namespace, or namespace/name for the operator's CA and xDS certificate.",
            }),
            notAfter: string({ format: 'date-time', description: 'When its certificate expires (RFC 3339).' }),
          },
          { description: 'A certificate the data plane relies on.' },
        ),
        {
          maxItems: 32,
          description:
            "The certificates this data plane uses (its leaves, its CA, the xDS server's), at most 32; see the CertificatesReady condition.",
        },
      ),
    ),
    remediations: optional(
      array(
        object(
          {
            time: string({ format: 'date-time', description: 'When it was done (RFC 3339).' }),
            pod: string({ maxLength: 253, description: 'The pod acted on.' }),
            reason: string({ maxLength: 1024, description: 'Why: the zombie kind and what was observed.' }),
            action: string({
              maxLength: 64,
              description: 'Evict, ForceDelete, or in a dry run DryRunEvict, DryRunForceDelete.',
            }),
          },
          { description: 'One remediation action.' },
        ),
        {
          maxItems: 32,
          description:
            'The most recent remediation actions, newest last (at most 32); they also count the hourly budget.',
        },
      ),
    ),
    autoscalerChanges: optional(
      array(
        object(
          {
            autoscaler: string({ maxLength: 253, description: 'The HorizontalPodAutoscaler.' }),
            time: string({ format: 'date-time', description: 'When the operator saw the change (RFC 3339).' }),
            from: integer({ minimum: 0, description: 'Desired replicas before.' }),
            to: integer({ minimum: 0, description: 'Desired replicas after.' }),
          },
          { description: "One change of an autoscaler's desired replicas." },
        ),
        {
          maxItems: 64,
          description:
            "Changes of the data plane's autoscalers' desired replicas within the flapping window, oldest first (at most 64): the history behind CapacityOK=False/AutoscalerFlapping, kept here so it survives an operator restart.",
        },
      ),
    ),
  },
  { description: 'What the operator observes of this data plane, written by the operator.' },
);
