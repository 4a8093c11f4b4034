// The upstream cluster of one proxy, from its target: URL(s) become static (IP) or DNS endpoints,
// Services become an EDS cluster whose endpoints the kube source supplies.
import { isIP } from 'node:net';
import type { ApiProxy } from '../api/kinds.ts';
import type { IrCluster, IrUpstreamTls } from './ir.ts';
import type { ObjectReporter } from './report.ts';

export interface Upstream {
  cluster: IrCluster;
  /** The target.url flow variable. */
  targetUrl: string;
  /** Path of the target URL, prepended to the forwarded path ("" for none). */
  pathPrefix: string;
}

interface ParsedUrl {
  host: string;
  port: number;
  https: boolean;
  path: string;
}

function parseUrl(text: string): ParsedUrl {
  const u = new URL(text);
  const https = u.protocol === 'https:';
  const host = u.hostname.replace(/^\[(.*)\]$/, '$1');
  const path = u.pathname === '/' ? '' : u.pathname.replace(/\/$/, '');
  return { host, port: u.port === '' ? (https ? 443 : 80) : Number(u.port), https, path };
}

function upstreamTls(proxy: ApiProxy, defaultSni: string): IrUpstreamTls {
  const tls = proxy.spec.target.tls ?? {};
  const ns = proxy.metadata.namespace!;
  return {
    sni: tls.sni ?? defaultSni,
    minVersion: tls.minVersion ?? 'TLSv1.2',
    maxVersion: tls.maxVersion ?? 'TLSv1.3',
    ...(tls.caSecretRef ? { caSecret: { namespace: ns, name: tls.caSecretRef.name } } : {}),
    ...(tls.clientCertSecretRef ? { clientCertSecret: { namespace: ns, name: tls.clientCertSecretRef.name } } : {}),
  };
}

export function resolveUpstream(proxy: ApiProxy, r: ObjectReporter): Upstream | undefined {
  const { target } = proxy.spec;
  const ns = proxy.metadata.namespace!;
  const name = `${ns}/${proxy.metadata.name}`;
  const loadBalancer = target.loadBalancer?.algorithm ?? 'RoundRobin';
  const services = target.service
    ? [target.service]
    : (target.targets ?? []).flatMap((t) => (t.service ? [t.service] : []));
  if (services.length > 0) {
    const first = services[0]!;
    const cluster: IrCluster = {
      name,
      discovery: 'eds',
      endpoints: [],
      loadBalancer,
      services: services.map((s) => ({ namespace: ns, name: s.name, port: s.port })),
      ...(target.tls ? { tls: upstreamTls(proxy, `${first.name}.${ns}.svc`) } : {}),
    };
    return { cluster, targetUrl: name, pathPrefix: '' };
  }
  const urls = target.url
    ? [{ url: target.url, field: 'spec.target.url' }]
    : (target.targets ?? []).map((t, i) => ({ url: t.url!, field: `spec.target.targets[${i}].url` }));
  const parsed: ParsedUrl[] = [];
  for (const { url, field } of urls) {
    try {
      parsed.push(parseUrl(url));
    } catch {
      r.invalid(field, `"${url}" is not a valid URL`);
      return undefined;
    }
  }
  const [first] = parsed;
  if (first === undefined) {
    // The schema already requires one of url, service or targets, and targets to be non-empty.
    r.invalid('spec.target', 'set exactly one of url, service or targets');
    return undefined;
  }
  const otherPath = parsed.findIndex((p) => p.path !== first.path);
  if (otherPath >= 0) {
    r.invalid(urls[otherPath]!.field, 'all target URLs must have the same path');
    return undefined;
  }
  const cluster: IrCluster = {
    name,
    discovery: parsed.every((p) => isIP(p.host) !== 0) ? 'static' : 'dns',
    endpoints: parsed.map(({ host, port }) => ({ host, port })),
    services: [],
    loadBalancer,
    ...(first.https ? { tls: upstreamTls(proxy, first.host) } : {}),
  };
  return { cluster, targetUrl: urls[0]!.url, pathPrefix: first.path };
}
