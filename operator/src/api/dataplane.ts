// DataPlane (DESIGN 3): one Envoy + extproc fleet (a region or cluster): its listeners, its Redis, how
// ext_proc fails, its certificates, remediation and autoscaling.
import { objectName, secretRef, statusBase, tlsVersion, tlsVersionOrderRule } from './common.ts';
import { array, boolean, duration, enumOf, integer, map, object, optional, string, type Infer } from './schema.ts';

const quantities = map(string({ maxLength: 64, pattern: '^[0-9.]+[a-zA-Z]*$' }));

const workload = object({
  replicas: optional(integer({ minimum: 0, maximum: 1000, default: 2 })),
  image: optional(string({ maxLength: 512 })),
  resources: optional(object({ requests: optional(quantities), limits: optional(quantities) })),
});

export const listenerTls = object(
  {
    secretRef: optional(secretRef),
    issue: optional(boolean({ description: 'have the operator issue and rotate the serving certificate' })),
    minVersion: optional(tlsVersion('lowest TLS version accepted (default TLSv1.2)')),
    maxVersion: optional(tlsVersion('highest TLS version accepted (default TLSv1.3)')),
    cipherSuites: optional(array(string({ maxLength: 128 }), { maxItems: 32 })),
    clientCertificate: optional(enumOf(['None', 'Optional', 'Required'], { default: 'None' })),
  },
  {
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

export const listener = object(
  {
    name: string({ maxLength: 63, pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$' }),
    port: integer({ minimum: 1, maximum: 65535 }),
    protocol: optional(enumOf(['HTTP', 'HTTPS'], { default: 'HTTP' })),
    tls: optional(listenerTls),
  },
  {
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
    region: optional(string({ maxLength: 63, description: 'the environment.name flow variable' })),
    envoy: optional(workload),
    extproc: optional(workload),
    listeners: optional(
      array(listener, {
        maxItems: 16,
        'x-kubernetes-list-type': 'map',
        'x-kubernetes-list-map-keys': ['name'],
        description: 'default: one HTTP listener on 8080',
      }),
    ),
    redis: optional(
      object(
        {
          url: optional(string({ maxLength: 1024, pattern: '^rediss?://' })),
          secretRef: optional(
            object({ name: objectName(), key: optional(string({ maxLength: 253, default: 'url' })) }),
          ),
          mode: optional(enumOf(['Standalone', 'Sentinel', 'Cluster'], { default: 'Standalone' })),
          onUnavailable: optional(enumOf(['LocalFallback', 'FailClosed'], { default: 'LocalFallback' })),
        },
        {
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
    failureMode: optional(
      enumOf(['FailClosed', 'FailOpen'], {
        default: 'FailClosed',
        description: 'what Envoy does when ext_proc is unreachable',
      }),
    ),
    messageTimeout: optional(duration({ default: '200ms', description: 'ext_proc per-message timeout' })),
    upstream: optional(
      object({
        allowLinkLocalTargets: optional(
          boolean({
            default: false,
            description:
              'let ApiProxy targets use link-local, unspecified and cloud metadata addresses (169.254.0.0/16, fe80::/10, 0.0.0.0, 169.254.169.254, metadata.google.internal, ...); every DataPlane must allow it',
          }),
        ),
      }),
    ),
    certificates: optional(
      object({
        duration: optional(duration({ default: '2160h' })),
        renewBefore: optional(duration({ description: 'default: one third of duration' })),
        caSecretName: optional(objectName()),
      }),
    ),
    remediation: optional(
      object({
        enabled: optional(boolean({ default: false })),
        dryRun: optional(boolean({ default: false })),
        notReadyFor: optional(duration({ default: '5m' })),
        maxEvictionsPerHour: optional(integer({ minimum: 0, default: 1 })),
        minAvailable: optional(integer({ minimum: 0, default: 1 })),
      }),
    ),
    autoscaling: optional(
      object(
        {
          enabled: optional(boolean({ default: false })),
          minReplicas: optional(integer({ minimum: 1, default: 2 })),
          maxReplicas: optional(integer({ minimum: 1, default: 10 })),
          targetCPUUtilizationPercentage: optional(integer({ minimum: 1, maximum: 100, default: 70 })),
        },
        {
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

export const dataPlaneStatus = object({
  ...statusBase,
  configVersion: optional(string({ maxLength: 128 })),
  components: optional(
    array(
      object({
        name: string({ maxLength: 63 }),
        syncedVersion: optional(string({ maxLength: 128 })),
        replicas: optional(integer({ minimum: 0 })),
        readyReplicas: optional(integer({ minimum: 0 })),
      }),
      { maxItems: 8, 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['name'] },
    ),
  ),
  certificates: optional(
    array(
      object({
        name: string({ maxLength: 253 }),
        notAfter: string({ format: 'date-time' }),
      }),
      { maxItems: 32 },
    ),
  ),
  remediations: optional(
    array(
      object({
        time: string({ format: 'date-time' }),
        pod: string({ maxLength: 253 }),
        reason: string({ maxLength: 1024 }),
        action: string({ maxLength: 64 }),
      }),
      { maxItems: 32, description: 'the most recent remediations, newest last' },
    ),
  ),
});
