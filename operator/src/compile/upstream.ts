// The upstream cluster of one proxy, from its target: URL(s) become static (IP) or DNS endpoints,
// Services become an EDS cluster whose endpoints the kube source supplies.
import { isIP } from 'node:net';
import type { ApiProxy } from '../api/kinds.ts';
import { serviceHost } from '../api/names.ts';
import type { IrCluster, IrUpstreamTls } from './ir.ts';
import type { ObjectReporter } from './report.ts';
import { refusedTargetClass } from './target-address.ts';

export interface UpstreamOptions {
  /** Every DataPlane sets spec.upstream.allowLinkLocalTargets (target-address.ts). */
  allowLinkLocalTargets: boolean;
}

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
  /** A user name or password before the host (user:pass@host). */
  userinfo: boolean;
}

function parseUrl(text: string): ParsedUrl {
  const u = new URL(text);
  const https = u.protocol === 'https:';
  const host = u.hostname.replace(/^\[(.*)\]$/, '$1');
  const path = u.pathname === '/' ? '' : u.pathname.replace(/\/$/, '');
  const userinfo = u.username !== '' || u.password !== '';
  return { host, port: u.port === '' ? (https ? 443 : 80) : Number(u.port), https, path, userinfo };
}

/** The URL for a message: whatever stands before an "@" in the authority is never repeated. */
function redacted(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/?#]*@/i, '$1***@');
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

export function resolveUpstream(proxy: ApiProxy, r: ObjectReporter, options: UpstreamOptions): Upstream | undefined {
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
      ...(target.tls ? { tls: upstreamTls(proxy, serviceHost(ns, first.name)) } : {}),
    };
    return { cluster, targetUrl: name, pathPrefix: '' };
  }
  const urls = target.url
    ? [{ url: target.url, field: 'spec.target.url' }]
    : (target.targets ?? []).map((t, i) => ({ url: t.url!, field: `spec.target.targets[${i}].url` }));
  const parsed: ParsedUrl[] = [];
  for (const { url, field } of urls) {
    let p: ParsedUrl;
    try {
      p = parseUrl(url);
    } catch {
      r.invalid(field, `"${redacted(url)}" is not a valid URL`);
      return undefined;
    }
    if (p.userinfo) {
      // Envoy would not send them, and the URL is the target.url flow variable: never in the snapshot.
      r.invalid(
        field,
        'a target URL may not carry credentials (user:password@): set them with a policy, e.g. BasicAuthentication Encode with a secretRef',
        'CredentialsInUrl',
        'GH_ERR_COMPILE_TARGET_REFUSED',
      );
      return undefined;
    }
    const refused = options.allowLinkLocalTargets ? undefined : refusedTargetClass(p.host);
    if (refused) {
      r.invalid(
        field,
        `${p.host} is a ${refused} address: refused unless every DataPlane sets spec.upstream.allowLinkLocalTargets`,
        'TargetRefused',
        'GH_ERR_COMPILE_TARGET_REFUSED',
      );
      return undefined;
    }
    parsed.push(p);
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
