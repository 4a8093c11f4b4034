// Secrets as the planner sees them (data decoded, the metadata it reads) and as the controller applies
// them (labels, annotations, owner reference, data encoded). Pure.
import type * as k8s from '@kubernetes/client-node';
import {
  certificateLabel,
  credentialSecretLabel,
  dataPlaneApiVersion,
  dataPlaneKind,
  labelKeys,
  managedByValue,
  partOfValue,
  roleLabel,
  type SecretRole,
} from '../api/names.ts';

export interface SecretView {
  namespace: string;
  name: string;
  uid?: string;
  resourceVersion?: string;
  type?: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  /** Values decoded from base64 as UTF-8 (PEM is ASCII). */
  data: Record<string, string>;
}

export type SecretObject = k8s.KubernetesObject & { type?: string; data?: Record<string, string> };

const decoded = new WeakMap<object, SecretView>();

/** The planner's view of a Secret; memoised per object (informer objects are immutable). */
export function secretView(obj: SecretObject): SecretView {
  const memo = decoded.get(obj);
  if (memo) return memo;
  const data: Record<string, string> = {};
  for (const [key, value] of Object.entries(obj.data ?? {})) data[key] = Buffer.from(value, 'base64').toString('utf8');
  const view: SecretView = {
    namespace: obj.metadata?.namespace ?? '',
    name: obj.metadata?.name ?? '',
    uid: obj.metadata?.uid,
    resourceVersion: obj.metadata?.resourceVersion,
    type: obj.type,
    labels: { ...(obj.metadata?.labels ?? {}) },
    annotations: { ...(obj.metadata?.annotations ?? {}) },
    data,
  };
  decoded.set(obj, view);
  return view;
}

export interface DesiredSecret {
  namespace: string;
  name: string;
  role: SecretRole;
  type: 'Opaque' | 'kubernetes.io/tls';
  /** Owner (and the gatehouse.dev/dataplane label); none for the operator's own Secrets. */
  dataPlane?: { name: string; uid: string };
  /** Served to Envoy over SDS (a listener's certificate): carries the label the kube source selects. */
  sds?: boolean;
  annotations: Record<string, string>;
  data: Record<string, string>;
}

/** The body of a server-side apply: every field we own, so a field we stop sending is removed. */
export function renderSecret(d: DesiredSecret): SecretObject {
  const labels: Record<string, string> = {
    [labelKeys.managedBy]: managedByValue,
    [labelKeys.partOf]: partOfValue,
    [certificateLabel]: 'true',
    [roleLabel]: d.role,
    ...(d.dataPlane ? { [labelKeys.dataPlane]: d.dataPlane.name } : {}),
    ...(d.sds ? { [credentialSecretLabel]: 'true' } : {}),
  };
  const data: Record<string, string> = {};
  for (const key of Object.keys(d.data).sort()) data[key] = Buffer.from(d.data[key]!, 'utf8').toString('base64');
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      name: d.name,
      namespace: d.namespace,
      labels,
      annotations: d.annotations,
      ...(d.dataPlane
        ? {
            ownerReferences: [
              {
                apiVersion: dataPlaneApiVersion,
                kind: dataPlaneKind,
                name: d.dataPlane.name,
                uid: d.dataPlane.uid,
                controller: true,
                blockOwnerDeletion: true,
              },
            ],
          }
        : {}),
    },
    type: d.type,
    data,
  };
}

/** RFC 3339 without milliseconds, as annotations and status carry times. */
export function timestamp(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** A time from an annotation, or undefined when absent or not a time. */
export function annotationTime(view: SecretView | undefined, key: string): Date | undefined {
  const text = view?.annotations[key];
  if (!text) return undefined;
  const date = new Date(text);
  return Number.isNaN(date.getTime()) ? undefined : date;
}
