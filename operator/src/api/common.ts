// Pieces every kind shares: names, secret references, TLS versions and the status block (docs/architecture.md#the-api:
// Gateway-API-style conditions plus a summarising Ready, and observedGeneration for kstatus).
import { array, enumOf, integer, map, object, optional, raw, string, type Infer } from './schema.ts';

export const group = 'gatehouse.dev';
export const version = 'v1alpha1';
export const apiVersion = `${group}/${version}`;

/** A Kubernetes object name (RFC 1123 subdomain). */
export function objectName(description?: string) {
  return string({
    pattern: '^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$',
    maxLength: 253,
    ...(description ? { description } : {}),
  });
}

export const secretRef = object(
  { name: objectName('Name of a Secret in the same namespace.') },
  { description: 'A Secret in the same namespace.' },
);
export type SecretRef = Infer<typeof secretRef>;

/** Ordered so that CEL (and the compiler) can compare them as strings. */
export const tlsVersions = ['TLSv1.0', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3'] as const;
export type TlsVersion = (typeof tlsVersions)[number];

export function tlsVersion(description: string) {
  return enumOf(tlsVersions, { description });
}

/** Both versions set: min must not exceed max. */
export const tlsVersionOrderRule = {
  rule: '!has(self.minVersion) || !has(self.maxVersion) || self.minVersion <= self.maxVersion',
  message: 'minVersion must not be greater than maxVersion',
  fieldPath: '.minVersion',
  check: (v: { minVersion?: TlsVersion; maxVersion?: TlsVersion }) =>
    v.minVersion === undefined || v.maxVersion === undefined || v.minVersion <= v.maxVersion,
};

export const timeUnits = ['second', 'minute', 'hour', 'day', 'week', 'month'] as const;

export const condition = object(
  {
    type: string({
      maxLength: 316,
      description:
        'Condition type in CamelCase: Accepted, ResolvedRefs, Programmed, Ready, ... (docs/operations.md, Status conditions, lists them per kind).',
    }),
    status: enumOf(['True', 'False', 'Unknown'], {
      description: 'Whether the condition holds: True, False or Unknown.',
    }),
    reason: string({
      maxLength: 1024,
      pattern: '^([A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?)?$',
      description: 'Why, in one CamelCase word a program can match on (Invalid, RefNotFound, Synced, ...).',
    }),
    message: string({
      maxLength: 32768,
      description: 'Why, for people: the offending field and what is wrong with it, or what is pending.',
    }),
    observedGeneration: optional(
      integer({
        minimum: 0,
        format: 'int64',
        description: 'metadata.generation of the object this condition was computed from.',
      }),
    ),
    lastTransitionTime: string({
      format: 'date-time',
      description: 'When status last changed (RFC 3339); a new reason or message alone does not move it.',
    }),
  },
  { description: "One aspect of the object's state, in the Kubernetes condition convention." },
);
export type Condition = Infer<typeof condition>;

/** The status members every kind has. */
/**
 * The last spec the operator accepted, kept in the cluster: every replica, and one that restarts or is
 * newly elected, serves it while a later generation is rejected (docs/architecture.md#the-operator).
 */
export const lastAcceptedStatus = object(
  {
    generation: integer({ minimum: 0, format: 'int64', description: 'The metadata.generation that spec had.' }),
    spec: raw({
      type: 'object',
      'x-kubernetes-preserve-unknown-fields': true,
      description: 'The accepted spec, as it was applied.',
    }),
  },
  {
    description:
      'The last generation the operator accepted and the spec it had; it keeps serving while a later generation is rejected, on every operator replica and across restarts.',
  },
);

export const statusBase = {
  observedGeneration: optional(
    integer({
      minimum: 0,
      format: 'int64',
      description:
        'metadata.generation the operator last wrote this status for; status is current when it equals metadata.generation (kstatus, Argo CD).',
    }),
  ),
  conditions: optional(
    array(condition, {
      maxItems: 16,
      'x-kubernetes-list-type': 'map',
      'x-kubernetes-list-map-keys': ['type'],
      description:
        'The current state, one entry per condition type; docs/operations.md (Status conditions) lists the types and reasons per kind.',
    }),
  ),
};

/** Status members of the kinds the compiler accepts revisions of (all but DataPlane). */
export const compiledStatusBase = { ...statusBase, lastAccepted: optional(lastAcceptedStatus) };

export const attributes = map(
  string({ maxLength: 1024, description: 'The attribute value (at most 1024 characters).' }),
  { description: 'Free-form name/value pairs.' },
);

/** The metadata the compiler reads; the apiserver owns the rest. */
export interface ObjectMeta {
  name: string;
  namespace?: string;
  generation?: number;
  /** Set by the apiserver; absent in folder mode. The older of two contested claims wins (docs/tenancy.md). */
  creationTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
