// DataPlanes: listeners (default one HTTP listener on 8080), ext_proc failure mode and timeout, Redis
// settings. Without any DataPlane the built-in default one serves (gatehouse dev, folder mode).
import { networkList } from '../../../protos/policies/target-address.ts';
import { accessLogFieldNames, type DataPlaneSpec } from '../api/dataplane.ts';
import { listenerTlsSecretName } from '../api/names.ts';
import { idKey, type Inventory } from './intake.ts';
import { durationMs } from './durations.ts';
import type {
  IrAccessLog,
  IrAnalytics,
  IrDataPlane,
  IrFlowHooks,
  IrListener,
  IrRequestHandling,
  IrTracing,
} from './ir.ts';
import type { ObjectReporter } from './report.ts';
import { reportMissingRef, reporterFor, sortedValues, type Report } from './report.ts';

export const defaultListenerPort = 8080;
const defaultMessageTimeoutMs = 200;

/** Envoy's ext_proc message_timeout for a DataPlane's spec.messageTimeout (default 200 ms). */
export const messageTimeoutMs = (messageTimeout: string | undefined): number =>
  messageTimeout === undefined ? defaultMessageTimeoutMs : durationMs(messageTimeout);

/** What serves when no DataPlane object exists. */
/** The edge's request handling unless a DataPlane says otherwise (the schema's defaults). */
export const defaultRequestHandling: IrRequestHandling = {
  escapedSlashes: 'Reject',
  headersWithUnderscores: 'DropHeader',
  headersTimeoutMs: 10_000,
};

/** The access log unless a DataPlane says otherwise: on, every field of the catalogue. */
export const defaultAccessLog: IrAccessLog = { enabled: true, fields: [...accessLogFieldNames] };

export const defaultDataPlane: IrDataPlane = {
  namespace: 'default',
  name: 'default',
  region: '',
  failureMode: 'FailClosed',
  messageTimeoutMs: defaultMessageTimeoutMs,
  // Folder mode and `gatehouse dev` without a DataPlane: every proxy on every host.
  listeners: [{ name: 'default/default/http', port: defaultListenerPort, hostnames: [], allowedNamespaces: 'All' }],
  requests: defaultRequestHandling,
  accessLog: defaultAccessLog,
  allowLinkLocalTargets: false,
  calloutPrivateNetworks: [],
};

/** A literal Redis URL with a password (refused: the password would stand in the DataPlane and its Deployment). */
export function redisUrlHasPassword(url: string): boolean {
  try {
    return new URL(url).password !== '';
  } catch {
    // Not a URL at all: whatever stands between "//" and an "@" may be a password.
    return /^[a-z]+:\/\/[^/@]*:[^/@]*@/i.test(url);
  }
}

/**
 * A hook names a SharedFlow of the DataPlane's own namespace only (docs/tenancy.md#flow-hooks): a tenant
 * namespace cannot attach a hook to a DataPlane, nor swap in its own flow under the same name.
 */
function flowHooksOf(namespace: string, hooks: DataPlaneSpec['flowHooks']): { flowHooks?: IrFlowHooks } {
  if (!hooks) return {};
  const out: IrFlowHooks = {};
  for (const point of ['preProxy', 'preTarget', 'postTarget', 'postProxy'] as const) {
    const hook = hooks[point];
    if (hook) out[point] = `${namespace}/${hook.name}`;
  }
  return Object.keys(out).length > 0 ? { flowHooks: out } : {};
}

export function resolveDataPlanes(inventory: Inventory, report: Report): IrDataPlane[] {
  const out: IrDataPlane[] = [];
  for (const entry of sortedValues(inventory.dataPlanes)) {
    const r = reporterFor(entry, report);
    const { spec, metadata } = entry.object;
    const ns = entry.id.namespace;
    const listeners = (spec.listeners ?? [{ name: 'http', port: defaultListenerPort }]).map((l, i): IrListener => {
      const name = `${ns}/${metadata.name}/${l.name}`;
      const attach = {
        hostnames: [...(l.hostnames ?? [])].sort(),
        allowedNamespaces: l.allowedRoutes?.namespaces?.from ?? 'Same',
      };
      if (!l.tls) return { name, port: l.port, ...attach };
      const ref = l.tls.secretRef;
      if (ref && !inventory.secrets.has(`${ns}/${ref.name}`)) {
        reportMissingRef(r, inventory, `spec.listeners[${i}].tls.secretRef.name`, 'Secret', ns, ref.name);
      }
      return {
        name,
        port: l.port,
        ...attach,
        tls: {
          // issue: true names the Secret the operator's certificate manager creates and rotates
          // (listenerTlsSecretName, which both sides import; operator/src/names.test.ts runs them
          // against each other).
          certificateSecret: { namespace: ns, name: ref ? ref.name : listenerTlsSecretName(metadata.name, l.name) },
          minVersion: l.tls.minVersion ?? 'TLSv1.2',
          maxVersion: l.tls.maxVersion ?? 'TLSv1.3',
          cipherSuites: [...(l.tls.cipherSuites ?? [])],
          clientCertificate: l.tls.clientCertificate ?? 'None',
        },
      };
    });
    if (spec.redis?.url !== undefined && redisUrlHasPassword(spec.redis.url)) {
      r.invalid(
        'spec.redis.url',
        'a password in a literal Redis URL would stand in clear in the DataPlane and its extproc Deployment: put the URL in a Secret and use spec.redis.secretRef',
        'SecretInline',
        'GH_ERR_COMPILE_SECRET_INLINE',
      );
    }
    (spec.upstream?.calloutPrivateNetworks ?? []).forEach((cidr, i) => {
      try {
        networkList([cidr]);
      } catch {
        r.invalid(`spec.upstream.calloutPrivateNetworks[${i}]`, `not a CIDR block: "${cidr}"`);
      }
    });
    const tracing = spec.tracing ? resolveTracing(spec.tracing, ns, inventory, r) : undefined;
    const analytics =
      spec.analytics && spec.analytics.enabled !== false
        ? resolveAnalytics(spec.analytics, ns, inventory, r)
        : undefined;
    if (r.failed) {
      inventory.rejected.add(idKey(entry.id));
      continue;
    }
    out.push({
      namespace: ns,
      name: metadata.name,
      region: spec.region ?? '',
      failureMode: spec.failureMode ?? 'FailClosed',
      messageTimeoutMs: messageTimeoutMs(spec.messageTimeout),
      ...(spec.redis
        ? {
            redis: {
              mode: spec.redis.mode ?? 'Standalone',
              onUnavailable: spec.redis.onUnavailable ?? 'LocalFallback',
            },
          }
        : {}),
      listeners: [...listeners].sort((a, b) => a.port - b.port),
      requests: {
        escapedSlashes: spec.requests?.escapedSlashes ?? defaultRequestHandling.escapedSlashes,
        headersWithUnderscores: spec.requests?.headersWithUnderscores ?? defaultRequestHandling.headersWithUnderscores,
        headersTimeoutMs:
          spec.requests?.headersTimeout === undefined
            ? defaultRequestHandling.headersTimeoutMs
            : durationMs(spec.requests.headersTimeout),
      },
      accessLog: {
        enabled: spec.accessLog?.enabled ?? true,
        fields: spec.accessLog?.fields ? [...spec.accessLog.fields] : [...accessLogFieldNames],
      },
      ...(tracing ? { tracing } : {}),
      ...(analytics ? { analytics } : {}),
      allowLinkLocalTargets: spec.upstream?.allowLinkLocalTargets ?? false,
      calloutPrivateNetworks: [...(spec.upstream?.calloutPrivateNetworks ?? [])],
      ...flowHooksOf(ns, spec.flowHooks),
      javaCalloutHost: spec.javaCallouts !== undefined,
      ...(spec.debugMask ? { debugMask: spec.debugMask } : {}),
      ...extProcConnectionAge(spec.extproc?.maxConnectionAge),
    });
  }
  return out;
}

/** spec.tracing: the collector as host and port (a Service by its DNS name), Envoy's defaults filled in. */
function resolveTracing(
  tracing: NonNullable<DataPlaneSpec['tracing']>,
  namespace: string,
  inventory: Inventory,
  r: ObjectReporter,
): IrTracing {
  const { address, service } = tracing.collector;
  let collector: IrTracing['collector'];
  if (service) {
    collector = { host: `${service.name}.${service.namespace ?? namespace}.svc`, port: service.port };
  } else {
    // The schema's pattern holds address to host:port.
    const at = address!.lastIndexOf(':');
    collector = { host: address!.slice(0, at), port: Number(address!.slice(at + 1)) };
  }
  const tls = tracing.tls;
  if (tls) {
    secretKey(inventory, r, namespace, 'spec.tracing.tls.caSecretRef', tls.caSecretRef.name, 'ca.crt');
    if (tls.clientCertificateSecretRef)
      secretKey(
        inventory,
        r,
        namespace,
        'spec.tracing.tls.clientCertificateSecretRef',
        tls.clientCertificateSecretRef.name,
        'tls.crt',
      );
  }
  return {
    collector,
    ...(tls
      ? {
          tls: {
            sni: tls.serverName ?? collector.host,
            minVersion: 'TLSv1.2',
            maxVersion: 'TLSv1.3',
            caSecret: { namespace, name: tls.caSecretRef.name },
            ...(tls.clientCertificateSecretRef
              ? { clientCertSecret: { namespace, name: tls.clientCertificateSecretRef.name } }
              : {}),
          },
        }
      : {}),
    samplingPercent: tracing.samplingPercent ?? 100,
    serviceName: tracing.serviceName ?? 'gatehouse-envoy',
  };
}

/**
 * The value of key `key` of the Secret `name` of the namespace, reported on `field` when the Secret or
 * the key is missing (ResolvedRefs=False).
 */
function secretKey(
  inventory: Inventory,
  r: ObjectReporter,
  namespace: string,
  field: string,
  name: string,
  key: string,
): string | undefined {
  const secret = inventory.secrets.get(`${namespace}/${name}`);
  if (!secret) {
    reportMissingRef(r, inventory, `${field}.name`, 'Secret', namespace, name);
    return undefined;
  }
  if (!Object.hasOwn(secret.object.values, key)) {
    r.unresolved(field, `Secret "${name}" has no key "${key}"`, 'RefNotAccepted');
    return undefined;
  }
  return secret.object.values[key]!;
}

/** spec.analytics: defaults filled in, Secret values looked up and named by policy_secrets id. */
function resolveAnalytics(
  analytics: NonNullable<DataPlaneSpec['analytics']>,
  namespace: string,
  inventory: Inventory,
  r: ObjectReporter,
): IrAnalytics {
  const secrets: Record<string, string> = {};
  const fromSecret = (field: string, name: string, key: string): string | undefined => {
    const value = secretKey(inventory, r, namespace, field, name, key);
    if (value === undefined) return undefined;
    const id = `${namespace}/${name}/${key}`;
    secrets[id] = value;
    return id;
  };
  const { otlp, file, http } = analytics.sinks;
  const out: IrAnalytics = {
    queueSize: analytics.queueSize ?? 10_000,
    batchSize: analytics.batchSize ?? 500,
    flushIntervalMs: analytics.flushInterval === undefined ? 5000 : durationMs(analytics.flushInterval),
    secrets,
  };
  if (otlp) {
    const tls = otlp.tls;
    const field = 'spec.analytics.sinks.otlp.tls';
    const ca = tls ? fromSecret(`${field}.caSecretRef`, tls.caSecretRef.name, 'ca.crt') : undefined;
    const client = tls?.clientCertificateSecretRef;
    const cert = client ? fromSecret(`${field}.clientCertificateSecretRef`, client.name, 'tls.crt') : undefined;
    const key = client ? fromSecret(`${field}.clientCertificateSecretRef`, client.name, 'tls.key') : undefined;
    out.otlp = {
      endpoint: otlp.endpoint,
      insecure: !tls,
      ...(ca ? { caSecret: ca } : {}),
      ...(cert ? { certSecret: cert } : {}),
      ...(key ? { keySecret: key } : {}),
      ...(tls?.serverName ? { serverName: tls.serverName } : {}),
    };
  }
  if (file) out.file = { path: file.path };
  if (http) {
    const headerSecrets: Record<string, string> = {};
    (http.headers ?? []).forEach((h, i) => {
      const id = fromSecret(
        `spec.analytics.sinks.http.headers[${i}].secretKeyRef`,
        h.secretKeyRef.name,
        h.secretKeyRef.key,
      );
      if (id) headerSecrets[h.name.toLowerCase()] = id;
    });
    out.http = { url: http.url, headerSecrets };
  }
  return out;
}

/** spec.extproc.maxConnectionAge, when set above 0s (the schema's rules keep it within 1s..24h). */
function extProcConnectionAge(age: string | undefined): Pick<IrDataPlane, 'extProcMaxConnectionAgeMs'> {
  const ms = age === undefined ? 0 : durationMs(age);
  return ms > 0 ? { extProcMaxConnectionAgeMs: ms } : {};
}
