// DataPlane -> the Kubernetes objects that run it: per component (Envoy, extproc) a ServiceAccount,
// Deployment, Service, PodDisruptionBudget and, with autoscaling, a HorizontalPodAutoscaler; and the
// ConfigMap holding Envoy's bootstrap. Pure and deterministic: the same DataPlane and options give the
// same objects in the same order, so applying them again changes nothing.
import type { ObjectMeta } from '../../api/common.ts';
import { connectionAgeLimits } from '../../api/dataplane.ts';
import type { DataPlane } from '../../api/kinds.ts';
import { defaultListenerPort, messageTimeoutMs, redisUrlHasPassword } from '../../compile/resolve-dataplanes.ts';
import { canonicalJson, sha256Hex } from '../../compile/canonical-json.ts';
import { durationMs } from '../../compile/durations.ts';
import { bootstrapSdsFiles, renderBootstrap, type BootstrapInput } from './bootstrap.ts';
import {
  bootstrapConfigMapName,
  bootstrapHashAnnotation,
  bootstrapKey,
  caBundleSecretName,
  componentLabels,
  dataPlaneApiVersion,
  dataPlaneKind,
  nodeCluster,
  paths,
  ports,
  selectorLabels,
  tlsFiles,
  tlsSecretName,
  workloadName,
  xdsServiceHost,
  type Component,
} from '../../api/names.ts';
import { managedKinds } from '../../watches.ts';

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

/** A Kubernetes object as plain JSON (what server-side apply sends and the raw client reads). */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    uid?: string;
    generation?: number;
    resourceVersion?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    ownerReferences?: OwnerReference[];
    deletionTimestamp?: string;
  };
  [field: string]: unknown;
}

/** A DataPlane as read from the apiserver: it has a namespace and a uid to be owned by. */
export type DataPlaneObject = Omit<DataPlane, 'metadata'> & {
  metadata: ObjectMeta & { namespace?: string; uid: string; resourceVersion?: string; deletionTimestamp?: string };
  status?: unknown;
};

export interface RenderOptions {
  /** Envoy image when the DataPlane names none. */
  envoyImage: string;
  /** The gatehouse image (runs `gatehouse extproc`) when the DataPlane names none. */
  gatehouseImage: string;
  /** The operator's xDS Service; a bare Service name is qualified with operatorNamespace. */
  xds: { host: string; port: number };
  operatorNamespace: string;
  /**
   * Mutual TLS between the pods and to the operator (the operator serves xDS with issued
   * certificates): the pods mount their certificate and trust bundle Secrets, Envoy dials xDS and
   * extproc over mutual TLS, extproc serves and dials with its own. Default false: plain text, and
   * no Secret is mounted or referenced.
   */
  mtls?: boolean;
}

type Json = Record<string, unknown>;
type Spec = DataPlane['spec'];

const defaultReplicas = 2;
/** Requests when a DataPlane sets no resources: CPU autoscaling needs a CPU request to measure against. */
const defaultResources: Record<Component, Json> = {
  envoy: { requests: { cpu: '100m', memory: '128Mi' } },
  extproc: { requests: { cpu: '100m', memory: '128Mi' } },
};
/** distroless' nonroot user; both images run as it. */
const nonRootId = 65532;
/** Only the owner and the pod's group read the private keys. */
const secretFileMode = 0o440;

/** The xDS Service's DNS name: the server certificate's SAN and the SNI. */
export function xdsHost(options: RenderOptions): string {
  return options.xds.host.includes('.')
    ? options.xds.host
    : xdsServiceHost(options.operatorNamespace, options.xds.host);
}

interface Context {
  dp: DataPlaneObject;
  ns: string;
  name: string;
  spec: Spec;
  options: RenderOptions;
}

function meta(c: Context, name: string, component: Component): KubeObject['metadata'] {
  return {
    name,
    namespace: c.ns,
    labels: componentLabels(c.name, component),
    ownerReferences: [
      {
        apiVersion: dataPlaneApiVersion,
        kind: dataPlaneKind,
        name: c.name,
        uid: c.dp.metadata.uid,
        controller: true,
        blockOwnerDeletion: true,
      },
    ],
  };
}

function object(kind: (typeof managedKinds)[number]['kind'], metadata: KubeObject['metadata'], body: Json): KubeObject {
  const { apiVersion } = managedKinds.find((k) => k.kind === kind)!;
  return { apiVersion, kind, metadata, ...body };
}

const autoscalingOn = (spec: Spec) => spec.autoscaling?.enabled === true;
const minReplicas = (spec: Spec) => spec.autoscaling?.minReplicas ?? 2;
const maxReplicas = (spec: Spec) => spec.autoscaling?.maxReplicas ?? 10;

/** The fewest pods a component is meant to run: the PDB protects that many. */
function replicaFloor(spec: Spec, component: Component): number {
  return autoscalingOn(spec) ? minReplicas(spec) : (spec[component]?.replicas ?? defaultReplicas);
}

function listeners(spec: Spec) {
  return [...(spec.listeners ?? [{ name: 'http', port: defaultListenerPort, protocol: 'HTTP' as const }])].sort(
    (a, b) => a.port - b.port,
  );
}

/** Container port names are IANA service names: at most 15 characters, a letter, no "--". */
const ianaServiceName = (s: string) =>
  s.length <= 15 && /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/.test(s) && /[a-z]/.test(s) && !s.includes('--');

const podEnv = [
  { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
  { name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
];

const containerSecurityContext = {
  allowPrivilegeEscalation: false,
  readOnlyRootFilesystem: true,
  runAsNonRoot: true,
  capabilities: { drop: ['ALL'] },
};

function podSecurityContext(lowPorts: boolean): Json {
  return {
    runAsNonRoot: true,
    runAsUser: nonRootId,
    runAsGroup: nonRootId,
    fsGroup: nonRootId,
    seccompProfile: { type: 'RuntimeDefault' },
    // A safe sysctl (no node change): lets the non-root Envoy bind listener ports below 1024.
    ...(lowPorts ? { sysctls: [{ name: 'net.ipv4.ip_unprivileged_port_start', value: '0' }] } : {}),
  };
}

/** The component's certificate and the trust bundle, mounted only with mutual TLS. */
function tlsVolumes(c: Context, component: Component): { volumes: Json[]; mounts: Json[] } {
  if (!c.options.mtls) return { volumes: [], mounts: [] };
  return {
    volumes: [
      {
        name: 'tls',
        secret: { secretName: tlsSecretName(c.name, component), defaultMode: secretFileMode, optional: false },
      },
      { name: 'ca', secret: { secretName: caBundleSecretName(c.name), defaultMode: secretFileMode, optional: false } },
    ],
    mounts: [
      { name: 'tls', mountPath: paths.tlsDir, readOnly: true },
      { name: 'ca', mountPath: paths.caDir, readOnly: true },
    ],
  };
}

interface ContainerParts {
  image: string;
  args: string[];
  env?: Json[];
  ports: Json[];
  readinessProbe: Json;
  livenessProbe: Json;
  volumeMounts: Json[];
}

function deployment(
  c: Context,
  component: Component,
  container: ContainerParts,
  pod: { annotations?: Record<string, string>; volumes: Json[]; lowPorts?: boolean; sidecars?: Json[] },
): KubeObject {
  const name = workloadName(c.name, component);
  const selector = selectorLabels(c.name, component);
  return object('Deployment', meta(c, name, component), {
    spec: {
      // With autoscaling the HPA owns the replica count: we leave the field to it.
      ...(autoscalingOn(c.spec) ? {} : { replicas: c.spec[component]?.replicas ?? defaultReplicas }),
      revisionHistoryLimit: 5,
      selector: { matchLabels: selector },
      // Never below the running count during a rollout: a data plane serves live traffic.
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: 0 } },
      template: {
        metadata: {
          labels: componentLabels(c.name, component),
          ...(pod.annotations ? { annotations: pod.annotations } : {}),
        },
        spec: {
          serviceAccountName: name,
          // Neither component talks to the Kubernetes API.
          automountServiceAccountToken: false,
          securityContext: podSecurityContext(pod.lowPorts ?? false),
          topologySpreadConstraints: [
            {
              maxSkew: 1,
              topologyKey: 'kubernetes.io/hostname',
              whenUnsatisfiable: 'ScheduleAnyway',
              labelSelector: { matchLabels: selector },
            },
          ],
          containers: [
            {
              name: component,
              image: container.image,
              imagePullPolicy: 'IfNotPresent',
              args: container.args,
              env: container.env ?? podEnv,
              ports: container.ports,
              resources: c.spec[component]?.resources ?? defaultResources[component],
              readinessProbe: container.readinessProbe,
              livenessProbe: container.livenessProbe,
              securityContext: containerSecurityContext,
              volumeMounts: container.volumeMounts,
            },
            ...(pod.sidecars ?? []),
          ],
          volumes: pod.volumes,
        },
      },
    },
  });
}

function envoyDeployment(c: Context, bootstrapHash: string): KubeObject {
  const tls = tlsVolumes(c, 'envoy');
  const ls = listeners(c.spec);
  const listenerPorts = ls.map((l) => ({
    ...(ianaServiceName(l.name) ? { name: l.name } : {}),
    containerPort: l.port,
    protocol: 'TCP',
  }));
  const probe = (periodSeconds: number, failureThreshold: number) => ({
    httpGet: { path: '/ready', port: ports.envoyReady },
    periodSeconds,
    failureThreshold,
    timeoutSeconds: 2,
  });
  return deployment(
    c,
    'envoy',
    {
      image: c.spec.envoy?.image ?? c.options.envoyImage,
      args: [
        '-c',
        paths.envoyBootstrapFile,
        '--service-node',
        '$(POD_NAME)',
        '--service-cluster',
        nodeCluster(c.ns, c.name, 'envoy'),
        // Worker threads from the container's CPU set, not the node's core count.
        '--cpuset-threads',
      ],
      ports: [...listenerPorts, { name: 'ready', containerPort: ports.envoyReady, protocol: 'TCP' }],
      readinessProbe: probe(5, 3),
      // Generous: until the first xDS answer (or its 15 s initial fetch timeout) Envoy is not ready.
      livenessProbe: probe(10, 6),
      volumeMounts: [
        { name: 'bootstrap', mountPath: paths.envoyBootstrapDir, readOnly: true },
        ...tls.mounts,
        { name: 'tmp', mountPath: '/tmp' },
      ],
    },
    {
      annotations: { [bootstrapHashAnnotation]: bootstrapHash },
      lowPorts: ls.some((l) => l.port < 1024),
      volumes: [
        { name: 'bootstrap', configMap: { name: bootstrapConfigMapName(c.name) } },
        ...tls.volumes,
        { name: 'tmp', emptyDir: {} },
      ],
    },
  );
}

/**
 * Mutual TLS both ways with the pod's own certificate: ext_proc served to Envoys holding a certificate
 * from the trust bundle, and xDS dialled with it, verifying the operator against the same bundle.
 */
const extprocTlsArgs: readonly string[] = [
  '--tls-cert',
  tlsFiles.certificateChain,
  '--tls-key',
  tlsFiles.privateKey,
  '--tls-client-ca',
  tlsFiles.trustedCa,
  '--xds-tls-ca',
  tlsFiles.trustedCa,
  '--xds-tls-cert',
  tlsFiles.certificateChain,
  '--xds-tls-key',
  tlsFiles.privateKey,
];

/**
 * extproc's --work-budget-ms for a DataPlane: 90% of Envoy's message timeout, so policy work on the
 * worker pool that Envoy would time out is refused by extproc first (503 gatehouse.WorkBudgetExceeded,
 * in FailOpen too, where Envoy's timeout would let the request through unchecked), and a worker
 * never keeps working for a request Envoy has given up on (docs/failure-modes.md).
 */
export function workBudgetMs(spec: { messageTimeout?: string | undefined }): number {
  return Math.max(1, Math.floor(messageTimeoutMs(spec.messageTimeout) * 0.9));
}

function extprocArgs(c: Context): string[] {
  const xds = `${xdsHost(c.options)}:${c.options.xds.port}`;
  // LocalFallback counts limit/replicas per pod: under autoscaling the most pods there can be, so
  // a Redis outage never lets more than the limit through.
  const replicas = autoscalingOn(c.spec) ? maxReplicas(c.spec) : (c.spec.extproc?.replicas ?? defaultReplicas);
  const redis = usableRedis(c.spec);
  return [
    'extproc',
    '--xds',
    xds,
    '--node-id',
    '$(POD_NAME)',
    '--node-cluster',
    nodeCluster(c.ns, c.name, 'extproc'),
    '--cache-dir',
    paths.extprocCacheDir,
    '--port',
    String(ports.extprocGrpc),
    '--metrics-port',
    String(ports.extprocMetrics),
    '--replicas',
    String(Math.max(1, replicas)),
    '--work-budget-ms',
    String(workBudgetMs(c.spec)),
    ...(c.spec.region ? ['--region', c.spec.region] : []),
    ...(redis
      ? ['--redis-mode', redis.mode ?? 'Standalone', '--redis-on-unavailable', redis.onUnavailable ?? 'LocalFallback']
      : []),
    ...extprocWorkersArgs(c.spec, redis !== undefined),
    ...connectionAgeArgs(c.spec),
    ...(c.options.mtls ? extprocTlsArgs : []),
  ];
}

/**
 * spec.extproc.maxConnectionAge and maxConnectionAgeGrace as extproc's --max-connection-age and
 * --max-connection-age-grace (docs/operations.md#connection-age), passed as written (extproc reads the
 * same duration syntax). None when unset or 0s: extproc's default, never. Only values the schema's
 * rules accept (the apiserver refuses the others, the compiler reports them on the field): a value
 * extproc would refuse at start must never reach the pods and stall a rollout.
 */
export function connectionAgeArgs(spec: Pick<Spec, 'extproc'>): string[] {
  const { maxConnectionAge: age, maxConnectionAgeGrace: grace } = spec.extproc ?? {};
  const ms = (d: string | undefined) => (d === undefined ? 0 : durationMs(d));
  const ageMs = ms(age);
  if (ageMs < connectionAgeLimits.minMs || ageMs > connectionAgeLimits.maxMs) return [];
  const graceMs = ms(grace);
  return [
    '--max-connection-age',
    age!,
    ...(graceMs > 0 && graceMs <= connectionAgeLimits.maxMs ? ['--max-connection-age-grace', grace!] : []),
  ];
}

/** Whole CPUs of a Kubernetes CPU quantity ("500m", "2", "1.5", 2), rounded up; undefined when not one. */
export function cpuQuantityCeil(quantity: unknown): number | undefined {
  const text = typeof quantity === 'number' ? String(quantity) : quantity;
  if (typeof text !== 'string') return undefined;
  const m = /^(\d+(?:\.\d+)?)(m?)$/.exec(text.trim());
  if (!m) return undefined;
  const cpus = Number(m[1]) / (m[2] === 'm' ? 1000 : 1);
  return cpus > 0 ? Math.ceil(cpus) : undefined;
}

/**
 * extproc's processes (docs/operations.md#workers). With a CPU limit none is passed: Kubernetes writes
 * the limit to the container's cgroup cpu.max, which extproc's default reads. Without Redis none either:
 * in-memory stores run one process. With Redis and no limit, the CPU request rounded up, since extproc's
 * own fallback (every CPU of the node) would oversubscribe a pod that asked for a fraction of one.
 */
function extprocWorkersArgs(spec: Spec, redis: boolean): string[] {
  const resources = (spec.extproc?.resources ?? defaultResources.extproc) as {
    limits?: Record<string, unknown>;
    requests?: Record<string, unknown>;
  };
  if (!redis || cpuQuantityCeil(resources.limits?.cpu) !== undefined) return [];
  // At most extproc's own default cap (extproc/src/command.ts MAX_DEFAULT_WORKERS).
  return ['--workers', String(Math.min(16, cpuQuantityCeil(resources.requests?.cpu) ?? 1))];
}

/**
 * spec.redis, unless it is a literal URL with a password: the compiler refuses that DataPlane
 * (spec.redis.url, SecretInline), and its workloads never copy the password into a Deployment, which
 * more people may read than the DataPlane. Its extproc then runs with in-memory stores until the URL
 * moves to spec.redis.secretRef.
 */
function usableRedis(spec: Spec): Spec['redis'] {
  const redis = spec.redis;
  return redis?.url !== undefined && redisUrlHasPassword(redis.url) ? undefined : redis;
}

/** The Redis URL reaches the process as $GATEHOUSE_REDIS_URL, never as an argument (visible in /proc). */
function redisEnv(spec: Spec): Json[] {
  const redis = usableRedis(spec);
  if (redis?.secretRef) {
    return [
      {
        name: 'GATEHOUSE_REDIS_URL',
        valueFrom: { secretKeyRef: { name: redis.secretRef.name, key: redis.secretRef.key ?? 'url' } },
      },
    ];
  }
  if (redis?.url) return [{ name: 'GATEHOUSE_REDIS_URL', value: redis.url }];
  return [];
}

/**
 * spec.tracing: extproc sends its spans to the DataPlane's collector too, as
 * $OTEL_EXPORTER_OTLP_ENDPOINT (the collector the compiled Envoy cluster reaches, envoy/tracing.ts).
 */
function tracingEnv(c: Context): Json[] {
  const collector = c.spec.tracing?.collector;
  if (!collector) return [];
  const { address, service } = collector;
  const value = service ? `${service.name}.${service.namespace ?? c.ns}.svc:${service.port}` : address;
  if (!value) return [];
  const tls = c.spec.tracing?.tls;
  return [
    { name: 'OTEL_EXPORTER_OTLP_ENDPOINT', value },
    ...(tls
      ? [
          { name: 'OTEL_EXPORTER_OTLP_CERTIFICATE', value: `${otlpTlsDir}/ca/ca.crt` },
          ...(tls.clientCertificateSecretRef
            ? [
                { name: 'OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE', value: `${otlpTlsDir}/client/tls.crt` },
                { name: 'OTEL_EXPORTER_OTLP_CLIENT_KEY', value: `${otlpTlsDir}/client/tls.key` },
              ]
            : []),
        ]
      : []),
  ];
}

/** Where extproc finds spec.tracing.tls's Secrets (the OTEL_EXPORTER_OTLP_* variables name the files). */
const otlpTlsDir = '/etc/gatehouse/otlp';

/**
 * spec.tracing.tls: its CA Secret (and client certificate Secret) mounted in extproc, read through the
 * OTEL_EXPORTER_OTLP_* variables and reloaded when kubelet swaps them; extproc checks the collector's
 * certificate against spec.tracing.tls.serverName when set (--otlp-tls-server-name).
 */
function tracingTls(c: Context): { volumes: Json[]; mounts: Json[]; args: string[] } {
  const tls = c.spec.tracing?.tls;
  if (!tls) return { volumes: [], mounts: [], args: [] };
  const client = tls.clientCertificateSecretRef;
  return {
    volumes: [
      {
        name: 'otlp-ca',
        secret: {
          secretName: tls.caSecretRef.name,
          defaultMode: secretFileMode,
          items: [{ key: 'ca.crt', path: 'ca.crt' }],
        },
      },
      ...(client ? [{ name: 'otlp-client', secret: { secretName: client.name, defaultMode: secretFileMode } }] : []),
    ],
    mounts: [
      { name: 'otlp-ca', mountPath: `${otlpTlsDir}/ca`, readOnly: true },
      ...(client ? [{ name: 'otlp-client', mountPath: `${otlpTlsDir}/client`, readOnly: true }] : []),
    ],
    args: tls.serverName ? ['--otlp-tls-server-name', tls.serverName] : [],
  };
}

function extprocDeployment(c: Context): KubeObject {
  const tls = tlsVolumes(c, 'extproc');
  const otlpTls = tracingTls(c);
  const javaCalloutHost = javaCalloutSidecar(c);
  return deployment(
    c,
    'extproc',
    {
      image: c.spec.extproc?.image ?? c.options.gatehouseImage,
      args: [...extprocArgs(c), ...otlpTls.args],
      env: [...podEnv, ...redisEnv(c.spec), ...tracingEnv(c)],
      ports: [
        { name: 'grpc', containerPort: ports.extprocGrpc, protocol: 'TCP' },
        { name: 'metrics', containerPort: ports.extprocMetrics, protocol: 'TCP' },
      ],
      readinessProbe: {
        httpGet: { path: '/readyz', port: ports.extprocMetrics },
        periodSeconds: 5,
        failureThreshold: 3,
        timeoutSeconds: 2,
      },
      livenessProbe: {
        httpGet: { path: '/healthz', port: ports.extprocMetrics },
        periodSeconds: 10,
        failureThreshold: 3,
        timeoutSeconds: 2,
      },
      volumeMounts: [
        ...tls.mounts,
        ...otlpTls.mounts,
        { name: 'cache', mountPath: paths.extprocCacheDir },
        { name: 'tmp', mountPath: '/tmp' },
      ],
    },
    {
      volumes: [
        ...tls.volumes,
        ...otlpTls.volumes,
        { name: 'cache', emptyDir: {} },
        { name: 'tmp', emptyDir: {} },
        ...(javaCalloutHost ? [javaCalloutHost.volume] : []),
      ],
      ...(javaCalloutHost ? { sidecars: [javaCalloutHost.container] } : {}),
    },
  );
}

/** The Java callout host's loopback port in extproc pods: extproc's JavaCallout default (docs/operations.md#java-callout-host). */
export const javaCalloutHostPort = 9443;

/**
 * The Java callout host sidecar (docs/policies.md#javacallout) when the DataPlane asks for it: it
 * listens on the pod's loopback only (nothing outside the pod can call it, so it has no probes; it
 * exits on OutOfMemoryError and the kubelet restarts it), and reads the jars of a ConfigMap. Whenever
 * spec.javaCallouts is set, not only while a JavaCallout is served: following the policies would roll
 * every extproc pod on a tenant's policy change and leave a new step failing until the rollout ends
 * (docs/operations.md#java-callout-host).
 */
function javaCalloutSidecar(c: Context): { container: Json; volume: Json } | undefined {
  const jc = c.spec.javaCallouts;
  if (!jc) return undefined;
  return {
    container: {
      name: 'java-callout-host',
      image: jc.image,
      imagePullPolicy: 'IfNotPresent',
      args: [
        '--listen',
        `127.0.0.1:${javaCalloutHostPort}`,
        '--jars',
        '/callouts',
        '--max-concurrent',
        String(jc.maxConcurrent ?? 64),
        '--max-timeout-ms',
        String(jc.maxTimeoutMs ?? 10_000),
      ],
      env: [{ name: 'JAVA_TOOL_OPTIONS', value: '-XX:+ExitOnOutOfMemoryError -XX:MaxRAMPercentage=75' }],
      resources: jc.resources ?? { requests: { cpu: '100m', memory: '256Mi' } },
      securityContext: containerSecurityContext,
      volumeMounts: [
        { name: 'callouts', mountPath: '/callouts', readOnly: true },
        { name: 'tmp', mountPath: '/tmp' },
      ],
    },
    volume: { name: 'callouts', configMap: { name: jc.configMap } },
  };
}

function envoyService(c: Context): KubeObject {
  return object('Service', meta(c, workloadName(c.name, 'envoy'), 'envoy'), {
    spec: {
      type: 'LoadBalancer',
      // Keeps the client's address (the HTTP connection manager uses the remote address).
      externalTrafficPolicy: 'Local',
      selector: selectorLabels(c.name, 'envoy'),
      ports: listeners(c.spec).map((l) => ({
        name: l.name,
        port: l.port,
        targetPort: l.port,
        protocol: 'TCP',
        appProtocol: l.protocol === 'HTTPS' ? 'https' : 'http',
      })),
    },
  });
}

function extprocService(c: Context): KubeObject {
  return object('Service', meta(c, workloadName(c.name, 'extproc'), 'extproc'), {
    spec: {
      // Headless: Envoy's DNS cluster sees every pod and balances its HTTP/2 streams across them,
      // where a virtual IP would pin each Envoy to one pod.
      clusterIP: 'None',
      selector: selectorLabels(c.name, 'extproc'),
      ports: [
        // h2c (HTTP/2 in clear text) only without TLS; gRPC over TLS has no standard appProtocol.
        {
          name: 'grpc',
          port: ports.extprocGrpc,
          targetPort: ports.extprocGrpc,
          protocol: 'TCP',
          ...(c.options.mtls ? {} : { appProtocol: 'kubernetes.io/h2c' }),
        },
        {
          name: 'metrics',
          port: ports.extprocMetrics,
          targetPort: ports.extprocMetrics,
          protocol: 'TCP',
          appProtocol: 'http',
        },
      ],
    },
  });
}

function serviceAccount(c: Context, component: Component): KubeObject {
  return object('ServiceAccount', meta(c, workloadName(c.name, component), component), {
    automountServiceAccountToken: false,
  });
}

function podDisruptionBudget(c: Context, component: Component): KubeObject {
  return object('PodDisruptionBudget', meta(c, workloadName(c.name, component), component), {
    spec: {
      minAvailable: c.spec.remediation?.minAvailable ?? 1,
      selector: { matchLabels: selectorLabels(c.name, component) },
      // A pod that is not ready may always be evicted: a zombie must not hold the budget hostage.
      unhealthyPodEvictionPolicy: 'AlwaysAllow',
    },
  });
}

function horizontalPodAutoscaler(c: Context, component: Component): KubeObject {
  const name = workloadName(c.name, component);
  return object('HorizontalPodAutoscaler', meta(c, name, component), {
    spec: {
      scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name },
      minReplicas: minReplicas(c.spec),
      maxReplicas: maxReplicas(c.spec),
      metrics: [
        {
          type: 'Resource',
          resource: {
            name: 'cpu',
            target: {
              type: 'Utilization',
              averageUtilization: c.spec.autoscaling?.targetCPUUtilizationPercentage ?? 70,
            },
          },
        },
      ],
      // Scale down only on five minutes of lower load (the Kubernetes default, explicit): no flapping.
      behavior: { scaleDown: { stabilizationWindowSeconds: 300 } },
    },
  });
}

/**
 * The bootstrap ConfigMap's data (bootstrap.json, and with mutual TLS the SDS files next to it) and
 * the hash of bootstrap.json (the Envoy pod-template annotation). Only bootstrap.json is hashed: Envoy
 * reads it once at start, while it watches the SDS files and picks up a change without a restart.
 */
export function renderBootstrapConfig(
  dp: DataPlaneObject,
  options: RenderOptions,
): { data: Record<string, string>; hash: string } {
  const input: BootstrapInput = {
    namespace: dp.metadata.namespace ?? 'default',
    dataPlane: dp.metadata.name,
    region: dp.spec.region,
    xds: { host: xdsHost(options), port: options.xds.port },
    mtls: options.mtls ?? false,
  };
  const json = `${canonicalJson(renderBootstrap(input), 2)}\n`;
  return { data: { [bootstrapKey]: json, ...bootstrapSdsFiles(input) }, hash: sha256Hex(json) };
}

export function renderDataPlane(dp: DataPlaneObject, options: RenderOptions): KubeObject[] {
  const c: Context = {
    dp,
    ns: dp.metadata.namespace ?? 'default',
    name: dp.metadata.name,
    spec: dp.spec ?? {},
    options,
  };
  const bootstrap = renderBootstrapConfig(dp, options);
  const objects: KubeObject[] = [
    object('ConfigMap', meta(c, bootstrapConfigMapName(c.name), 'envoy'), { data: bootstrap.data }),
    envoyDeployment(c, bootstrap.hash),
    extprocDeployment(c),
    envoyService(c),
    extprocService(c),
  ];
  for (const component of ['envoy', 'extproc'] as const) {
    objects.push(serviceAccount(c, component));
    if (replicaFloor(c.spec, component) > 0) objects.push(podDisruptionBudget(c, component));
    if (autoscalingOn(c.spec)) objects.push(horizontalPodAutoscaler(c, component));
  }
  const kindOrder = (o: KubeObject) => managedKinds.findIndex((k) => k.kind === o.kind);
  return objects.sort(
    (a, b) =>
      kindOrder(a) - kindOrder(b) ||
      (a.metadata.name < b.metadata.name ? -1 : a.metadata.name > b.metadata.name ? 1 : 0),
  );
}
