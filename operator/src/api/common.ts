// Pieces every kind shares: names, secret references, TLS versions and the status block (DESIGN 3:
// Gateway-API-style conditions plus a summarising Ready, and observedGeneration for kstatus).
import { array, enumOf, integer, map, object, optional, string, type Infer } from './schema.ts';

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

export const secretRef = object({ name: objectName('name of a Secret in the same namespace') });
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

export const condition = object({
  type: string({ maxLength: 316 }),
  status: enumOf(['True', 'False', 'Unknown']),
  reason: string({ maxLength: 1024, pattern: '^([A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?)?$' }),
  message: string({ maxLength: 32768 }),
  observedGeneration: optional(integer({ minimum: 0, format: 'int64' })),
  lastTransitionTime: string({ format: 'date-time' }),
});
export type Condition = Infer<typeof condition>;

/** The status members every kind has. */
export const statusBase = {
  observedGeneration: optional(integer({ minimum: 0, format: 'int64' })),
  conditions: optional(
    array(condition, { maxItems: 16, 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['type'] }),
  ),
};

export const attributes = map(string({ maxLength: 1024 }), { description: 'free-form name/value pairs' });

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
