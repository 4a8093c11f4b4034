// What each leaf certificate must say: its Secret, subject, SANs and usages. Pure; the planner
// compares live certificates with these and the issuer signs exactly these.
import { isIP } from 'node:net';
import type { Usage } from './pki.ts';
import { normaliseDns, normaliseIp } from './pki.ts';
import {
  componentIdentity,
  envoyServiceHost,
  extprocServiceHost,
  listenerTlsSecretName,
  operatorIdentity,
  tlsSecretName,
  webhookServiceHost,
  webhookTlsSecretName,
  workloadName,
  xdsServiceHost,
  xdsTlsSecretName,
} from '../api/names.ts';

export type LeafRole = 'envoy' | 'extproc' | 'listener' | 'xds' | 'webhook';

export interface LeafSpec {
  namespace: string;
  secretName: string;
  role: LeafRole;
  /** The listener's name, for role listener. */
  listener?: string;
  commonName: string;
  dns: string[];
  ips: string[];
  uris: string[];
  usages: Usage[];
}

export interface SanSet {
  dns: string[];
  ips: string[];
}

/** A listener certificate carries at most this many names (the rest are reported, not issued). */
export const maxListenerSans = 100;

const dnsPattern = /^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

export function isDnsName(name: string): boolean {
  return name.length <= 253 && dnsPattern.test(name) && name.split('.').every((label) => label.length <= 63);
}

const unique = (values: string[]) => [...new Set(values)];

/**
 * Envoy's client certificate: what it presents to the xDS server and to extproc. The identity is the
 * URI SAN spiffe://gatehouse/ns/<ns>/dataplane/<dp>/envoy (the xDS node.cluster as a URI); the DNS
 * SAN is the Envoy Service's name.
 */
export function envoyLeaf(namespace: string, dataPlane: string): LeafSpec {
  const service = envoyServiceHost(namespace, dataPlane);
  return {
    namespace,
    secretName: tlsSecretName(dataPlane, 'envoy'),
    role: 'envoy',
    commonName: service,
    dns: [service],
    ips: [],
    uris: [componentIdentity(namespace, dataPlane, 'envoy')],
    usages: ['clientAuth'],
  };
}

/**
 * extproc's certificate: it serves Envoy's ext_proc stream on the headless Service (Envoy connects to
 * each pod, checking the Service's name) and is the client of the xDS connection.
 */
export function extprocLeaf(namespace: string, dataPlane: string): LeafSpec {
  const host = extprocServiceHost(namespace, dataPlane);
  const service = workloadName(dataPlane, 'extproc');
  return {
    namespace,
    secretName: tlsSecretName(dataPlane, 'extproc'),
    role: 'extproc',
    commonName: host,
    dns: [host, `*.${host}`, `${host}.cluster.local`, `*.${host}.cluster.local`, `${service}.${namespace}`, service],
    ips: [],
    uris: [componentIdentity(namespace, dataPlane, 'extproc')],
    usages: ['serverAuth', 'clientAuth'],
  };
}

/**
 * An HTTPS listener's serving certificate (`tls.issue: true`): the Envoy Service's names, then the
 * names clients use (ApiProxy hosts, the Service's load-balancer addresses, the DataPlane's
 * gatehouse.dev/certificate-sans annotation). Sorted after the Service names, at most maxListenerSans.
 */
export function listenerLeaf(namespace: string, dataPlane: string, listener: string, sans: SanSet): LeafSpec {
  const service = envoyServiceHost(namespace, dataPlane);
  const dns = unique([
    service,
    `${service}.cluster.local`,
    ...[...new Set(sans.dns.map(normaliseDns))].filter(isDnsName).sort(),
  ]);
  const ips = unique(sans.ips.map(normaliseIp).filter((ip) => isIP(ip) !== 0)).sort();
  const room = Math.max(0, maxListenerSans - dns.length);
  return {
    namespace,
    secretName: listenerTlsSecretName(dataPlane, listener),
    role: 'listener',
    listener,
    commonName: service,
    dns: dns.slice(0, maxListenerSans),
    ips: ips.slice(0, room),
    uris: [],
    usages: ['serverAuth'],
  };
}

/** The names a pod or the apiserver may dial a Service of the operator by, in every form, plus `extra`. */
function serviceSans(
  host: string,
  serviceName: string,
  namespace: string,
  extra: SanSet,
): { dns: string[]; ips: string[] } {
  return {
    dns: unique([
      host,
      `${host}.cluster.local`,
      `${serviceName}.${namespace}`,
      serviceName,
      ...extra.dns.map(normaliseDns).filter(isDnsName),
    ]),
    ips: unique(extra.ips.map(normaliseIp).filter((ip) => isIP(ip) !== 0)),
  };
}

/**
 * The operator's one identity: the xDS server's certificate (its Service's names in every form a pod
 * may dial, plus any extra) and also its client certificate, which it presents to extproc for the
 * remediation deep check under mutual TLS (extproc trusts the operator CA through its bundle).
 */
export function xdsLeaf(
  operatorNamespace: string,
  serviceName: string,
  extra: SanSet = { dns: [], ips: [] },
): LeafSpec {
  const host = xdsServiceHost(operatorNamespace, serviceName);
  return {
    namespace: operatorNamespace,
    secretName: xdsTlsSecretName,
    role: 'xds',
    commonName: host,
    ...serviceSans(host, serviceName, operatorNamespace, extra),
    uris: [operatorIdentity(operatorNamespace)],
    usages: ['serverAuth', 'clientAuth'],
  };
}

/**
 * The admission webhook's serving certificate: the names the apiserver dials its Service by, plus any
 * extra (an address the apiserver reaches the operator at directly, e.g. 127.0.0.1 in tests). The
 * apiserver checks it against the ValidatingWebhookConfiguration's caBundle, which the leader keeps
 * equal to the operator CA's trust (operator/src/admission/ca-bundle.ts).
 */
export function webhookLeaf(
  operatorNamespace: string,
  serviceName: string,
  extra: SanSet = { dns: [], ips: [] },
): LeafSpec {
  const host = webhookServiceHost(operatorNamespace, serviceName);
  return {
    namespace: operatorNamespace,
    secretName: webhookTlsSecretName,
    role: 'webhook',
    commonName: host,
    ...serviceSans(host, serviceName, operatorNamespace, extra),
    uris: [],
    usages: ['serverAuth'],
  };
}

/** Host names of ApiProxy `hosts` entries: port removed; the catch-all `*` is no name. */
export function hostNames(hosts: readonly string[]): string[] {
  return hosts.map((h) => normaliseDns(h.replace(/:[0-9]+$/, ''))).filter((h) => h !== '*' && h !== '' && isDnsName(h));
}

/** The gatehouse.dev/certificate-sans annotation: names and addresses, comma or space separated; what is neither is returned as rejected. */
export function parseSanList(text: string | undefined): SanSet & { rejected: string[] } {
  const out = { dns: [] as string[], ips: [] as string[], rejected: [] as string[] };
  for (const item of (text ?? '').split(/[\s,]+/).filter(Boolean)) {
    const ip = normaliseIp(item);
    if (isIP(ip) !== 0) out.ips.push(ip);
    else if (isDnsName(normaliseDns(item))) out.dns.push(normaliseDns(item));
    else out.rejected.push(item);
  }
  return out;
}
